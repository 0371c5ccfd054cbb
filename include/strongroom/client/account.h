// Account operations that need keys: register, sign in, change password, recover.
//
// Each function runs the whole client side of one flow in docs/api.md, doing every check the
// client owes its user because the server is not trusted with keys:
//   - KDF parameters from the server are checked against the floor before any derivation
//     (a malicious server must not make the password cheap to guess from the auth key);
//   - a public bundle from the server must be self-signed and carry the expected user id;
//   - a private or recovery bundle must open and hold the keys of that public bundle.
// A failed check is Kind::refused with a message that says what was wrong.
//
// Passwords are checked for length by the caller (ValidateNewPassword, secret_input.h).
// Nothing here touches the profile: callers decide what to save and pin.
#pragma once

#include "strongroom/client/api_client.h"
#include "strongroom/client/client_error.h"
#include "strongroom/client/secret_string.h"
#include "strongroom/crypto/identity.h"
#include "strongroom/crypto/password.h"

#include <functional>
#include <string>
#include <string_view>

namespace strongroom::client {

struct Registration {
  std::string invitation;
  std::string email;
  std::string display_name;  // Empty: the server's default.
};

struct CreatedAccount {
  SignedIn signed_in;
  crypto::PublicBundle public_bundle;
  SecretString recovery_code;  // Show once, never store.
};

// Makes a new identity (user id "u-" + 32 random hex digits), seals it under the password and
// under a new recovery key, and registers. The server signs the new account in.
[[nodiscard]] Result<CreatedAccount> CreateAccount(ApiClient& api, const Registration& request,
                                                   std::string_view password);

struct OpenedAccount {
  SignedIn signed_in;
  crypto::PublicBundle public_bundle;  // Verified, and matching the opened private keys.
};

// Asked for the second factor when the server answers 401 totp_required (the account has
// two-factor authentication on and none was given). Returns it, or an error to give up with.
using SecondFactorPrompt = std::function<Result<SecondFactor>()>;

// Pre-login, derive, login, then check that the returned keys are sound and ours.
// `second_factor`, when not empty, is sent with the first attempt. Otherwise, if the server
// asks for one, `prompt` (when set) supplies it and the sign-in is sent again with the same
// auth key (the password is derived once); without a prompt the totp_required error returns.
[[nodiscard]] Result<OpenedAccount> SignIn(ApiClient& api, std::string_view email,
                                           std::string_view password,
                                           const SecondFactor& second_factor = {},
                                           const SecondFactorPrompt& prompt = {});

// Opens the private bundle with `current` (Kind::refused "wrong password" before anything is
// sent), re-seals it under `replacement`, and changes the password. `user_id` is the profile's.
// Returns how many other sessions the server signed out.
[[nodiscard]] Result<std::int64_t> ChangePassword(ApiClient& api, std::string_view user_id,
                                                  std::string_view current,
                                                  std::string_view replacement);

struct RecoveredAccount {
  OpenedAccount account;
  SecretString new_recovery_code;  // The old code no longer works.
};

// Decides whether a verified public bundle may be used (e.g. compares it with a pin).
using KeyCheck = std::function<Result<void>(const crypto::PublicBundle&)>;

// Proves the recovery key, opens the recovery bundle, and sets a new password and a new
// recovery key. The server signs every other session out. `check`, when set, runs on the
// account's verified public bundle before anything is changed on the server.
[[nodiscard]] Result<RecoveredAccount> RecoverAccount(ApiClient& api, std::string_view email,
                                                      const crypto::RecoveryKey& key,
                                                      std::string_view new_password,
                                                      const KeyCheck& check = {});

}  // namespace strongroom::client
