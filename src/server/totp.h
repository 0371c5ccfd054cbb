// Time-based one-time passwords (TOTP, RFC 6238) and two-factor recovery codes, as the server
// checks them. Internal header of strongroom_server; docs/api.md, "Two-factor authentication",
// is the contract these serve.
//
// The parameters are the ones every authenticator app assumes when an otpauth:// URI leaves
// them out, and the ones `oathtool --totp` uses by default: HMAC-SHA-1, 6 digits, 30-second
// steps counted from the Unix epoch. The HMAC and the truncation are liboath's (the OATH
// Toolkit's reference implementation): nothing here computes a code by hand.
//
//   secret (20 random bytes, kept by the server) ──base32──> otpauth:// URI ──> the app
//   code = liboath TOTP(secret, floor(now / 30) + k), k in -1..+1 (clock drift)
//
// A code is accepted for the time step it matches, and the caller records that step
// (MetadataStore::AcceptTotpStep) so no code is accepted twice. Comparisons of codes are
// constant-time.
//
// Recovery codes: ten per enrolment, each 10 random base32 characters (50 bits) shown as
// "xxxxx-xxxxx", single use. The server keeps SHA-256(user id ":" code), looked up by that
// digest: typed codes are normalised first (case, dashes and spaces do not matter).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace strongroom::server::totp {

inline constexpr std::size_t kSecretBytes = 20;  // RFC 4226 recommends 160 bits.
inline constexpr unsigned kDigits = 6;
inline constexpr unsigned kPeriodSeconds = 30;
inline constexpr unsigned kWindowSteps = 1;  // Codes of the previous and next step also count.
inline constexpr std::size_t kRecoveryCodeCount = 10;
inline constexpr std::size_t kRecoveryCodeChars = 10;  // Without the dash: 50 bits.
inline constexpr std::string_view kIssuer = "Strongroom";

using Secret = std::array<std::uint8_t, kSecretBytes>;

// A new secret from the operating system's CSPRNG (libsodium randombytes_buf).
[[nodiscard]] Secret NewSecret() noexcept;

// RFC 4648 base32 (upper case, no padding), as authenticator apps take a key typed by hand.
[[nodiscard]] std::string Base32(std::span<const std::uint8_t> bytes);

// otpauth://totp/Strongroom:EMAIL?secret=...&issuer=Strongroom&algorithm=SHA1&digits=6&period=30
// (the email percent-encoded). Holds the secret: show it to its owner once, never log it.
[[nodiscard]] std::string OtpauthUri(std::string_view email, std::span<const std::uint8_t> secret);

// Whether `code` has the shape of a code: exactly kDigits ASCII digits.
[[nodiscard]] bool IsWellFormedCode(std::string_view code) noexcept;

// The time step (Unix time / 30 s) whose code `code` is, searching the steps around
// `unix_seconds` within kWindowSteps; nullopt when none matches (or the code is malformed).
[[nodiscard]] std::optional<std::int64_t> MatchCode(std::span<const std::uint8_t> secret,
                                                    std::string_view code,
                                                    std::int64_t unix_seconds);

// kRecoveryCodeCount new codes in display form ("xxxxx-xxxxx"), distinct.
[[nodiscard]] std::vector<std::string> NewRecoveryCodes();

// A typed recovery code in canonical form (lower case, no dashes or spaces), or nullopt
// when it cannot be one (wrong length or a character outside the base32 alphabet).
[[nodiscard]] std::optional<std::string> NormalizeRecoveryCode(std::string_view typed);

// What the database keeps of a recovery code: SHA-256 (hex) of user_id ":" canonical code.
// The user id makes equal codes of two users different rows, and a table of digests useless
// for guessing across accounts.
[[nodiscard]] std::string RecoveryCodeDigest(std::string_view user_id,
                                             std::string_view canonical_code);

// Overwrites `text` with zeros (sodium_memzero), for copies of a secret the caller is done with.
void Wipe(std::string& text) noexcept;

}  // namespace strongroom::server::totp
