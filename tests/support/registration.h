// Registering users over HTTP the way the client does it, with keys made by the crypto core:
// for tests that need many users quickly and look at the API rather than at the CLI.
//
// Cost: the client side of Argon2id (64 MiB) runs once per password per process
// (SharedPasswordKeysFor): every user registered with the same password gets the same auth
// key and KDF salt, which the server cannot tell from separate derivations; each user still
// gets a new identity (signing and encryption keys), recovery key and server-side verifier.
#pragma once

#include "support/http_client.h"
#include "support/portal.h"

#include "strongroom/crypto/identity.h"
#include "strongroom/crypto/password.h"

#include <boost/json.hpp>

#include <optional>
#include <string>

namespace strongroom::testing {

// The password keys of one password under KDF parameters generated on first use.
struct SharedPasswordKeys {
  crypto::KdfParams params;
  std::optional<crypto::PasswordKeys> keys;  // Empty (and the test failed) if derivation did.
};

// The keys of `password`, derived on the first call for it and kept for the process: later
// calls with the same password return the same object.
const SharedPasswordKeys& SharedPasswordKeysFor(const std::string& password);

// KDF parameters as the API carries them ({"algorithm": "argon2id13", "opslimit", ...}).
boost::json::object KdfJson(const crypto::KdfParams& params);

// A well-formed body of POST /api/v1/register for `identity` (whose user id it carries): its
// private bundle sealed under `keys`, a recovery bundle under a new recovery key, the auth
// key. An empty object, and a test failure, if sealing fails.
boost::json::object RegistrationBody(const std::string& invitation, const std::string& email,
                                     const crypto::Identity& identity,
                                     const crypto::PasswordKeys& keys,
                                     const crypto::KdfParams& params);

// A user registered by RegisterOverHttp.
struct HttpRegistration {
  std::string email;
  std::string user_id;                       // "u-" and 32 hex digits; set even on failure.
  std::string token;                         // The session registration opened ("" on failure).
  boost::json::value response;               // The 201 answer's body (null on failure).
  std::optional<crypto::Identity> identity;  // The user's keys (only on success).
};

// Registers `email` with `invitation` (an invitation token or the owner setup token): a new
// identity for a random user id, sealed under `keys`, POSTed to /api/v1/register. Expects 201.
HttpRegistration RegisterOverHttp(const Portal& portal, const std::string& invitation,
                                  const std::string& email, const SharedPasswordKeys& keys);

}  // namespace strongroom::testing
