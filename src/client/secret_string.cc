#include "strongroom/client/secret_string.h"

#include "strongroom/crypto/secret.h"
#include "strongroom/crypto/verifier.h"

#include <cstdint>
#include <span>

namespace strongroom::client {
namespace {

// Room for any password a person types; tokens and recovery codes are far shorter.
constexpr std::size_t kInitialCapacity = 1024;

}  // namespace

void WipeString(std::string& s) noexcept {
  // Resizing to the capacity does not reallocate, and makes every owned byte addressable.
  s.resize(s.capacity());
  crypto::Wipe(std::span(reinterpret_cast<std::uint8_t*>(s.data()), s.size()));
  s.clear();
}

SecretString::SecretString() {
  value_.reserve(kInitialCapacity);
}

SecretString::SecretString(std::string&& text) : SecretString() {
  for (const char c : text) push_back(c);
  WipeString(text);
}

SecretString::~SecretString() {
  clear();
}

SecretString::SecretString(SecretString&& other) noexcept : value_(std::move(other.value_)) {
  // A short string may have been copied out of the other's inline buffer: wipe that too.
  other.clear();
}

SecretString& SecretString::operator=(SecretString&& other) noexcept {
  if (this != &other) {
    clear();
    value_ = std::move(other.value_);
    other.clear();
  }
  return *this;
}

void SecretString::push_back(char c) {
  if (value_.size() == value_.capacity()) {
    std::string bigger;
    bigger.reserve(value_.capacity() * 2 + 16);
    bigger = value_;
    WipeString(value_);
    value_.swap(bigger);
  }
  value_.push_back(c);
}

void SecretString::pop_back() {
  if (value_.empty()) return;
  value_.back() = '\0';
  value_.pop_back();
}

void SecretString::clear() noexcept {
  WipeString(value_);
}

bool operator==(const SecretString& a, const SecretString& b) noexcept {
  return crypto::ConstantTimeEquals(a.value_, b.value_);
}

}  // namespace strongroom::client
