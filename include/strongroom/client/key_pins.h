// Trusting public keys: verification and trust on first use.
//
// The server is not trusted with keys (docs/threat-model.md): it could hand out its own key
// for someone else's account and read what is shared with it. So the client checks every
// bundle it receives itself (well-formed, self-signed, for the user id asked about), and
// remembers the first key it saw for each user id in the profile's pins. A later, different
// key is reported loudly and never replaces the pin automatically; the user compares
// fingerprints out of band (in person, by phone) to detect a substitution on first use.
#pragma once

#include "strongroom/client/client_error.h"
#include "strongroom/client/profile.h"
#include "strongroom/crypto/identity.h"

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace strongroom::client {

// Parses `bytes` as a public bundle, checks its self-signature, and that it belongs to
// `user_id`. Kind::refused (the server sent a bad key) otherwise.
[[nodiscard]] Result<crypto::PublicBundle> VerifyPublicBundle(std::span<const std::uint8_t> bytes,
                                                              std::string_view user_id);

enum class PinStatus {
  new_pin,   // First key seen for this user id: now pinned.
  match,     // Same key as pinned.
  mismatch,  // A different key than pinned: the pin was kept, the new key is NOT trusted.
};

struct PinResult {
  PinStatus status = PinStatus::new_pin;
  std::string pinned_fingerprint;  // The fingerprint of the pin now stored.
};

// Compares `bundle` (already verified) with the pin for its user id and pins it if there is
// none. On a match the pinned email is refreshed; on a mismatch nothing is written.
[[nodiscard]] Result<PinResult> TrustOnFirstUse(ProfileStore& store,
                                                const crypto::PublicBundle& bundle,
                                                std::string_view email);

}  // namespace strongroom::client
