#include "strongroom/client/account.h"

#include "strongroom/client/key_pins.h"
#include "strongroom/crypto/verifier.h"

namespace strongroom::client {
namespace {

// Explains a refused KDF parameter set. The server chose these, so say so.
Error BadKdf(const crypto::KdfParams& p, const boost::system::error_code& ec) {
  const std::string params = "opslimit " + std::to_string(p.opslimit) + ", memlimit " +
                             std::to_string(p.memlimit) + " bytes";
  if (ec == errc::weak_parameters) {
    return Error::Refused("the server sent password hashing parameters below the safe minimum (" +
                          params + "); refusing to derive keys with them");
  }
  if (ec == errc::too_large) {
    return Error::Refused("the server sent password hashing parameters above the maximum (" +
                          params + "); refusing to derive keys with them");
  }
  return Error::Refused("the server sent password hashing parameters this client does not know");
}

Result<crypto::PasswordKeys> Derive(std::string_view password, const crypto::KdfParams& params) {
  if (auto ok = crypto::CheckKdfParams(params); !ok) return BadKdf(params, ok.error());
  auto keys = crypto::DerivePasswordKeys(password, params);
  if (!keys) return Error::Local("deriving keys from the password failed", keys.error());
  return std::move(*keys);
}

Error Mismatch() {
  return Error::Refused("the server returned keys that do not match");
}

// Checks that `identity` holds the private keys of `bundle`.
Result<void> CheckSameKeys(const crypto::Identity& identity, const crypto::PublicBundle& bundle) {
  if (!(identity.public_bundle() == bundle) || identity.user_id() != bundle.user_id()) {
    return Mismatch();
  }
  return {};
}

SecretString CodeOf(const crypto::RecoveryKey& key) {
  return SecretString(key.ToCode());
}

}  // namespace

Result<CreatedAccount> CreateAccount(ApiClient& api, const Registration& request,
                                     std::string_view password) {
  const std::string user_id = "u-" + crypto::RandomHex(16);
  auto identity = crypto::Identity::Generate(user_id);
  if (!identity) return Error::Local("making keys failed", identity.error());
  const crypto::KdfParams kdf = crypto::KdfParams::Generate();
  auto keys = Derive(password, kdf);
  if (!keys) return keys.error();
  auto private_bundle = crypto::SealPrivateBundle(*identity, *keys, kdf);
  if (!private_bundle) return Error::Local("sealing the keys failed", private_bundle.error());
  const auto recovery_key = crypto::RecoveryKey::Generate();
  auto recovery_bundle = crypto::SealRecoveryBundle(*identity, recovery_key);
  if (!recovery_bundle) return Error::Local("sealing the keys failed", recovery_bundle.error());
  const auto recovery_auth_key = crypto::RecoveryAuthKey(recovery_key);

  RegisterRequest q{.invitation = request.invitation,
                    .email = request.email,
                    .display_name = request.display_name,
                    .user_id = user_id,
                    .auth_key = keys->auth_key.bytes(),
                    .kdf = kdf,
                    .public_bundle = identity->public_bundle().Serialize(),
                    .private_bundle = std::move(*private_bundle),
                    .recovery_bundle = std::move(*recovery_bundle),
                    .recovery_auth_key = recovery_auth_key.bytes()};
  auto signed_in = api.Register(q);
  if (!signed_in) return signed_in.error();
  if (signed_in->user.id != user_id) {
    return Error::Refused("the server registered another user id than the client chose");
  }
  return CreatedAccount{.signed_in = std::move(*signed_in),
                        .public_bundle = identity->public_bundle(),
                        .recovery_code = CodeOf(recovery_key)};
}

Result<OpenedAccount> SignIn(ApiClient& api, std::string_view email, std::string_view password,
                             const SecondFactor& second_factor, const SecondFactorPrompt& prompt) {
  auto kdf = api.Prelogin(email);
  if (!kdf) return kdf.error();
  auto keys = Derive(password, *kdf);
  if (!keys) return keys.error();
  auto signed_in = api.Login(email, keys->auth_key.bytes(), second_factor);
  if (!signed_in && second_factor.empty() && prompt && signed_in.error().code == "totp_required") {
    auto asked = prompt();
    if (!asked) return asked.error();
    signed_in = api.Login(email, keys->auth_key.bytes(), *asked);
  }
  if (!signed_in) return signed_in.error();

  auto bundle = VerifyPublicBundle(signed_in->public_bundle, signed_in->user.id);
  if (!bundle) return bundle.error();
  // The private bundle must open with the password just typed and hold the keys of the
  // public bundle: otherwise the server is handing out keys that are not this account's.
  auto identity = crypto::OpenPrivateBundle(signed_in->private_bundle, *keys);
  if (!identity) return Mismatch();
  if (auto same = CheckSameKeys(*identity, *bundle); !same) return same.error();
  return OpenedAccount{.signed_in = std::move(*signed_in), .public_bundle = std::move(*bundle)};
}

Result<std::int64_t> ChangePassword(ApiClient& api, std::string_view user_id,
                                    std::string_view current, std::string_view replacement) {
  auto stored = api.GetMyKeys();
  if (!stored) return stored.error();
  auto bundle = VerifyPublicBundle(stored->public_bundle, user_id);
  if (!bundle) return bundle.error();
  // The auth key the server checks was derived with the account's stored parameters.
  auto current_keys = Derive(current, stored->kdf);
  if (!current_keys) return current_keys.error();
  auto identity = crypto::OpenPrivateBundle(stored->private_bundle, *current_keys);
  if (!identity) {
    if (identity.error() == errc::wrong_password) {
      // Decided locally, but it is the server's condition too (the auth key derived from this
      // password would not verify), so callers and scripts see the same code as from a sign-in.
      Error e = Error::Refused("wrong password");
      e.code = "invalid_credentials";
      return e;
    }
    return Mismatch();
  }
  if (auto same = CheckSameKeys(*identity, *bundle); !same) return same.error();

  const crypto::KdfParams kdf = crypto::KdfParams::Generate();
  auto new_keys = Derive(replacement, kdf);
  if (!new_keys) return new_keys.error();
  auto sealed = crypto::SealPrivateBundle(*identity, *new_keys, kdf);
  if (!sealed) return Error::Local("sealing the keys failed", sealed.error());
  return api.ChangePassword({.current_auth_key = current_keys->auth_key.bytes(),
                             .auth_key = new_keys->auth_key.bytes(),
                             .kdf = kdf,
                             .private_bundle = std::move(*sealed)});
}

Result<RecoveredAccount> RecoverAccount(ApiClient& api, std::string_view email,
                                        const crypto::RecoveryKey& key,
                                        std::string_view new_password, const KeyCheck& check) {
  const auto old_auth_key = crypto::RecoveryAuthKey(key);
  auto started = api.StartRecovery(email, old_auth_key.bytes());
  if (!started) return started.error();
  auto bundle = VerifyPublicBundle(started->public_bundle, started->user_id);
  if (!bundle) return bundle.error();
  auto identity = crypto::OpenRecoveryBundle(started->recovery_bundle, key);
  if (!identity) return Mismatch();
  if (auto same = CheckSameKeys(*identity, *bundle); !same) return same.error();
  if (check) {
    if (auto accepted = check(*bundle); !accepted) return accepted.error();
  }

  const crypto::KdfParams kdf = crypto::KdfParams::Generate();
  auto keys = Derive(new_password, kdf);
  if (!keys) return keys.error();
  auto private_bundle = crypto::SealPrivateBundle(*identity, *keys, kdf);
  if (!private_bundle) return Error::Local("sealing the keys failed", private_bundle.error());
  const auto new_key = crypto::RecoveryKey::Generate();
  auto recovery_bundle = crypto::SealRecoveryBundle(*identity, new_key);
  if (!recovery_bundle) return Error::Local("sealing the keys failed", recovery_bundle.error());
  const auto new_auth_key = crypto::RecoveryAuthKey(new_key);

  auto signed_in = api.CompleteRecovery({.email = std::string(email),
                                         .old_recovery_auth_key = old_auth_key.bytes(),
                                         .auth_key = keys->auth_key.bytes(),
                                         .kdf = kdf,
                                         .private_bundle = std::move(*private_bundle),
                                         .recovery_bundle = std::move(*recovery_bundle),
                                         .new_recovery_auth_key = new_auth_key.bytes()});
  if (!signed_in) return signed_in.error();
  if (signed_in->user.id != identity->user_id()) return Mismatch();
  return RecoveredAccount{
      .account = {.signed_in = std::move(*signed_in), .public_bundle = std::move(*bundle)},
      .new_recovery_code = CodeOf(new_key)};
}

}  // namespace strongroom::client
