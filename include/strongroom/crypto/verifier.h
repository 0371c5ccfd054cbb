// What the server keeps instead of secrets: slow verifiers for auth keys, digests of bearer
// tokens, and the randomness to make tokens. The server links this (and public bundle
// verification) from strongroom_crypto, never any private-key code.
//
//   auth key (32 bytes, from the client) ──Argon2id(random salt)──> verifier string (stored)
//   bearer token (32 random bytes, base64url) ──SHA-256──> digest (stored, looked up)
//
// The auth key is already the output of the client's Argon2id over the password, so it has
// full entropy; the server's slow hash is a second line: a stolen database does not yield
// anything that signs in, and checking a guess costs an Argon2id evaluation. Tokens are
// random 256-bit values, so a plain SHA-256 digest suffices to make a stolen table useless
// and lets the server look a session up by index.
#pragma once

#include "strongroom/error.h"

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace strongroom::crypto {

inline constexpr std::size_t kAuthKeySize = 32;
inline constexpr std::size_t kTokenBytes = 32;

// Server-side Argon2id cost for verifiers (libsodium crypto_pwhash_str): 2 passes, 19 MiB.
// Enough for a full-entropy input; small enough that sign-in stays cheap for the server.
inline constexpr std::uint32_t kVerifierOpsLimit = 2;
inline constexpr std::size_t kVerifierMemLimit = std::size_t{19} << 20;

// A self-describing verifier string ("$argon2id$v=19$m=...") for `key`, with a fresh salt.
[[nodiscard]] result<std::string> MakeVerifier(std::span<const std::uint8_t, kAuthKeySize> key);
// Whether `key` matches `verifier`. False (never an error) for a malformed verifier.
[[nodiscard]] bool CheckVerifier(std::string_view verifier,
                                 std::span<const std::uint8_t, kAuthKeySize> key) noexcept;
// Spends the same time as CheckVerifier on a real verifier, for unknown accounts, so the
// response time does not reveal whether an account exists.
void CheckDummyVerifier(std::span<const std::uint8_t, kAuthKeySize> key) noexcept;

// A new bearer token: 32 random bytes, base64url without padding (43 characters).
[[nodiscard]] std::string NewToken();
// SHA-256 of the token's text, lower-case hex (64 characters). What the server stores.
[[nodiscard]] std::string TokenDigest(std::string_view token);
// `bytes` random bytes as lower-case hex (ids for sessions and requests).
[[nodiscard]] std::string RandomHex(std::size_t bytes);
// `out` filled with random bytes (secrets the server itself keeps, e.g. the pre-login key).
void FillRandom(std::span<std::uint8_t> out) noexcept;

// HMAC-SHA256(key, message) truncated to 16 bytes: the stable fake salt pre-login returns
// for an email that has no account, so unknown and known emails look alike.
[[nodiscard]] std::array<std::uint8_t, 16> FakeSalt(std::span<const std::uint8_t, 32> key,
                                                    std::string_view email) noexcept;

// Constant-time equality of two strings of the same length (false if lengths differ; the
// length itself is not secret).
[[nodiscard]] bool ConstantTimeEquals(std::string_view a, std::string_view b) noexcept;

}  // namespace strongroom::crypto
