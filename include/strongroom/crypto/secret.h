// Memory for secrets: keys, seeds, password-derived material.
//
// `Secret<N>` holds exactly N bytes in memory from sodium_malloc (guard pages, mlock where
// the system allows it) that is wiped when the object is destroyed. It cannot be copied by
// accident: copying is explicit (`Clone()`), moving transfers ownership.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace strongroom::crypto {

namespace detail {
void* SecureAlloc(std::size_t size);  // Aborts on allocation failure (like operator new).
void SecureFree(void* p) noexcept;    // Wipes, then frees. Accepts nullptr.
void Wipe(void* p, std::size_t size) noexcept;
}  // namespace detail

// Wipes the given bytes (sodium_memzero; never optimised away).
inline void Wipe(std::span<std::uint8_t> bytes) noexcept {
  detail::Wipe(bytes.data(), bytes.size());
}

template <std::size_t N>
class Secret {
 public:
  static constexpr std::size_t kSize = N;

  Secret() : data_(static_cast<std::uint8_t*>(detail::SecureAlloc(N))) {}
  ~Secret() { detail::SecureFree(data_); }
  Secret(Secret&& other) noexcept : data_(other.data_) { other.data_ = nullptr; }
  Secret& operator=(Secret&& other) noexcept {
    if (this != &other) {
      detail::SecureFree(data_);
      data_ = other.data_;
      other.data_ = nullptr;
    }
    return *this;
  }
  Secret(const Secret&) = delete;
  Secret& operator=(const Secret&) = delete;

  [[nodiscard]] Secret Clone() const {
    Secret copy;
    std::copy(data_, data_ + N, copy.data_);
    return copy;
  }

  [[nodiscard]] std::span<std::uint8_t, N> bytes() noexcept {
    return std::span<std::uint8_t, N>(data_, N);
  }
  [[nodiscard]] std::span<const std::uint8_t, N> bytes() const noexcept {
    return std::span<const std::uint8_t, N>(data_, N);
  }
  [[nodiscard]] std::uint8_t* data() noexcept { return data_; }
  [[nodiscard]] const std::uint8_t* data() const noexcept { return data_; }

 private:
  std::uint8_t* data_;
};

}  // namespace strongroom::crypto
