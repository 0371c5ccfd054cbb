// Text encodings used on the wire and in files. Strict on decode: a non-canonical encoding
// (padding, stray characters, non-zero trailing bits) is refused, so every value has exactly
// one text form.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace strongroom::crypto {

// base64url without padding (RFC 4648 section 5). Used for every binary field in JSON.
[[nodiscard]] std::string Base64UrlEncode(std::span<const std::uint8_t> in);
[[nodiscard]] std::optional<std::vector<std::uint8_t>> Base64UrlDecode(std::string_view in);

// RFC 4648 base32 alphabet, upper case, no padding. Decode ignores case, '-' and spaces.
[[nodiscard]] std::string Base32Encode(std::span<const std::uint8_t> in);
[[nodiscard]] std::optional<std::vector<std::uint8_t>> Base32Decode(std::string_view in);

// Lower-case hex.
[[nodiscard]] std::string HexEncode(std::span<const std::uint8_t> in);
[[nodiscard]] std::optional<std::vector<std::uint8_t>> HexDecode(std::string_view in);

}  // namespace strongroom::crypto
