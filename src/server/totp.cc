#include "server/totp.h"

#include "strongroom/crypto/secret.h"
#include "strongroom/crypto/verifier.h"

#include <liboath/oath.h>

#include <algorithm>
#include <cstdlib>
#include <mutex>
#include <set>
#include <stdexcept>

namespace strongroom::server::totp {
namespace {

constexpr std::string_view kRecoveryAlphabet = "abcdefghijklmnopqrstuvwxyz234567";  // RFC 4648.

// liboath wants oath_init() before use; it only sets up its (thread-safe) HMAC backend.
void InitOnce() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (oath_init() != OATH_OK) throw std::runtime_error("liboath failed to initialise");
  });
}

const char* AsChars(std::span<const std::uint8_t> bytes) {
  return reinterpret_cast<const char*>(bytes.data());
}

// The code a person sent, for liboath's comparison callback.
struct Candidate {
  std::string_view code;
};

// Called by liboath with each code of the window: 0 on a match, positive otherwise (its
// strcmp-like contract). Constant-time over the digits, so timing tells nothing of how close
// a guess came.
extern "C" int CompareCode(void* handle, const char* expected) {
  const auto* candidate = static_cast<const Candidate*>(handle);
  return crypto::ConstantTimeEquals(candidate->code, std::string_view(expected, kDigits)) ? 0 : 1;
}

// Unreserved characters (RFC 3986) and '@' pass; everything else is %XX.
std::string PercentEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~' || c == '@') {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

}  // namespace

Secret NewSecret() noexcept {
  Secret secret{};
  crypto::FillRandom(secret);
  return secret;
}

std::string Base32(std::span<const std::uint8_t> bytes) {
  char* encoded = nullptr;
  std::size_t length = 0;
  if (oath_base32_encode(AsChars(bytes), bytes.size(), &encoded, &length) != OATH_OK) {
    throw std::runtime_error("base32 encoding failed (out of memory)");
  }
  std::string out(encoded, length);
  crypto::Wipe(std::span(reinterpret_cast<std::uint8_t*>(encoded), length));
  std::free(encoded);
  while (!out.empty() && out.back() == '=') out.pop_back();  // None for 20 bytes; be sure.
  return out;
}

std::string OtpauthUri(std::string_view email, std::span<const std::uint8_t> secret) {
  std::string key = Base32(secret);
  std::string uri = "otpauth://totp/" + std::string(kIssuer) + ":" + PercentEncode(email) +
                    "?secret=" + key + "&issuer=" + std::string(kIssuer) +
                    "&algorithm=SHA1&digits=" + std::to_string(kDigits) +
                    "&period=" + std::to_string(kPeriodSeconds);
  Wipe(key);
  return uri;
}

bool IsWellFormedCode(std::string_view code) noexcept {
  return code.size() == kDigits &&
         std::all_of(code.begin(), code.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::optional<std::int64_t> MatchCode(std::span<const std::uint8_t> secret, std::string_view code,
                                      std::int64_t unix_seconds) {
  if (!IsWellFormedCode(code) || unix_seconds < 0) return std::nullopt;
  InitOnce();
  Candidate candidate{code};
  int position = 0;
  std::uint64_t step = 0;
  const int r = oath_totp_validate3_callback(AsChars(secret), secret.size(),
                                             static_cast<time_t>(unix_seconds), kPeriodSeconds,
                                             OATH_TOTP_DEFAULT_START_TIME, kDigits, kWindowSteps,
                                             &position, &step, &CompareCode, &candidate);
  if (r < 0) return std::nullopt;  // OATH_INVALID_OTP, or an error: either way, not accepted.
  return static_cast<std::int64_t>(step);
}

std::vector<std::string> NewRecoveryCodes() {
  std::set<std::string> seen;
  std::vector<std::string> codes;
  while (codes.size() < kRecoveryCodeCount) {
    std::array<std::uint8_t, kRecoveryCodeChars> random{};
    crypto::FillRandom(random);
    std::string code;
    for (std::size_t i = 0; i < random.size(); ++i) {
      if (i == kRecoveryCodeChars / 2) code += '-';
      code += kRecoveryAlphabet[random[i] & 31];  // 256 is a multiple of 32: uniform.
    }
    crypto::Wipe(random);
    // A repeat among ten 50-bit codes is a 1-in-10^13 event; still, ten means ten.
    if (seen.insert(code).second) codes.push_back(std::move(code));
  }
  return codes;
}

std::optional<std::string> NormalizeRecoveryCode(std::string_view typed) {
  std::string out;
  for (const char ch : typed) {
    if (ch == '-' || ch == ' ') continue;
    const char c = (ch >= 'A' && ch <= 'Z') ? static_cast<char>(ch - 'A' + 'a') : ch;
    if (kRecoveryAlphabet.find(c) == std::string_view::npos) return std::nullopt;
    if (out.size() == kRecoveryCodeChars) return std::nullopt;
    out += c;
  }
  if (out.size() != kRecoveryCodeChars) return std::nullopt;
  return out;
}

std::string RecoveryCodeDigest(std::string_view user_id, std::string_view canonical_code) {
  std::string text = std::string(user_id) + ":" + std::string(canonical_code);
  std::string digest = crypto::TokenDigest(text);
  Wipe(text);
  return digest;
}

void Wipe(std::string& text) noexcept {
  crypto::Wipe(std::span(reinterpret_cast<std::uint8_t*>(text.data()), text.size()));
}

}  // namespace strongroom::server::totp
