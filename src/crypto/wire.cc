#include "crypto/wire.h"

#include <sodium.h>

#include <cstring>

namespace strongroom::crypto {

bool ByteReader::Copy(std::span<std::uint8_t> out) {
  if (remaining() < out.size()) return false;
  if (!out.empty()) std::memcpy(out.data(), in_.data() + pos_, out.size());
  pos_ += out.size();
  return true;
}

bool ByteReader::View(std::size_t n, std::span<const std::uint8_t>& out) {
  if (remaining() < n) return false;
  out = in_.subspan(pos_, n);
  pos_ += n;
  return true;
}

boost::system::error_code ReadMagicAndVersion(ByteReader& r, std::string_view magic,
                                              std::uint8_t version) {
  std::span<const std::uint8_t> got;
  if (!r.View(magic.size(), got) || std::memcmp(got.data(), magic.data(), magic.size()) != 0) {
    return errc::malformed;
  }
  std::uint8_t v = 0;
  if (!r.U8(v)) return errc::malformed;
  if (v != version) return errc::unsupported_version;
  return {};
}

void StoreBigEndian32(std::uint32_t v, std::uint8_t* out) {
  out[0] = static_cast<std::uint8_t>(v >> 24);
  out[1] = static_cast<std::uint8_t>(v >> 16);
  out[2] = static_cast<std::uint8_t>(v >> 8);
  out[3] = static_cast<std::uint8_t>(v);
}

std::string Base64UrlEncode(std::span<const std::uint8_t> in) {
  constexpr int kVariant = sodium_base64_VARIANT_URLSAFE_NO_PADDING;
  std::string out(sodium_base64_encoded_len(in.size(), kVariant), '\0');
  sodium_bin2base64(out.data(), out.size(), in.data(), in.size(), kVariant);
  out.resize(std::strlen(out.c_str()));
  return out;
}

std::optional<std::vector<std::uint8_t>> Base64UrlDecode(std::string_view in) {
  if (in.empty()) return std::vector<std::uint8_t>{};
  std::vector<std::uint8_t> out(in.size() * 3 / 4 + 3);
  std::size_t len = 0;
  const char* end = nullptr;
  if (sodium_base642bin(out.data(), out.size(), in.data(), in.size(), nullptr, &len, &end,
                        sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
      end != in.data() + in.size()) {
    return std::nullopt;
  }
  out.resize(len);
  // Reject non-canonical encodings (unused bits set), so each value has one text form.
  if (Base64UrlEncode(out) != in) return std::nullopt;
  return out;
}

namespace {
constexpr char kBase32Alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
}

std::string Base32Encode(std::span<const std::uint8_t> in) {
  std::string out;
  std::uint32_t buffer = 0;
  int bits = 0;
  for (std::uint8_t b : in) {
    buffer = (buffer << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out.push_back(kBase32Alphabet[(buffer >> (bits - 5)) & 31]);
      bits -= 5;
    }
  }
  if (bits > 0) out.push_back(kBase32Alphabet[(buffer << (5 - bits)) & 31]);
  return out;
}

std::optional<std::vector<std::uint8_t>> Base32Decode(std::string_view in) {
  std::vector<std::uint8_t> out;
  std::uint32_t buffer = 0;
  int bits = 0;
  for (char c : in) {
    if (c == '-' || c == ' ' || c == '\t' || c == '\n' || c == '\r') continue;
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    const char* p = std::strchr(kBase32Alphabet, c);
    if (c == '\0' || p == nullptr) return std::nullopt;
    buffer = (buffer << 5) | static_cast<std::uint32_t>(p - kBase32Alphabet);
    bits += 5;
    if (bits >= 8) {
      out.push_back(static_cast<std::uint8_t>(buffer >> (bits - 8)));
      bits -= 8;
    }
  }
  // Leftover bits must be zero padding of fewer than 5 bits.
  if (bits >= 5 || (buffer & ((1u << bits) - 1)) != 0) return std::nullopt;
  return out;
}

std::string HexEncode(std::span<const std::uint8_t> in) {
  std::string out(in.size() * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), in.data(), in.size());
  out.pop_back();
  return out;
}

std::optional<std::vector<std::uint8_t>> HexDecode(std::string_view in) {
  if (in.size() % 2 != 0) return std::nullopt;
  if (in.empty()) return std::vector<std::uint8_t>{};
  std::vector<std::uint8_t> out(in.size() / 2);
  std::size_t len = 0;
  const char* end = nullptr;
  if (sodium_hex2bin(out.data(), out.size(), in.data(), in.size(), nullptr, &len, &end) != 0 ||
      end != in.data() + in.size() || len != out.size()) {
    return std::nullopt;
  }
  return out;
}

}  // namespace strongroom::crypto
