// Text that is a secret: a password, a recovery code, a bearer token.
//
// Like crypto::Secret for variable-length text: the bytes are wiped when the object is
// destroyed or cleared, it cannot be copied by accident, and appending never leaves a copy
// behind in freed memory (the buffer is reserved up front and grown by copy-then-wipe).
// It is not locked in memory; this limits, not prevents, what a core dump or swap can show.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace strongroom::client {

class SecretString {
 public:
  SecretString();
  // Takes `text` and wipes the caller's buffer (`text` is left empty).
  explicit SecretString(std::string&& text);
  ~SecretString();
  SecretString(SecretString&& other) noexcept;
  SecretString& operator=(SecretString&& other) noexcept;
  SecretString(const SecretString&) = delete;
  SecretString& operator=(const SecretString&) = delete;

  void push_back(char c);
  void pop_back();
  void clear() noexcept;  // Wipes.

  [[nodiscard]] std::string_view view() const noexcept { return value_; }
  [[nodiscard]] std::size_t size() const noexcept { return value_.size(); }
  [[nodiscard]] bool empty() const noexcept { return value_.empty(); }

  friend bool operator==(const SecretString& a, const SecretString& b) noexcept;

 private:
  std::string value_;
};

// Wipes every byte a std::string owns (up to its capacity), then empties it.
void WipeString(std::string& s) noexcept;

}  // namespace strongroom::client
