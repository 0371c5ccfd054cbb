#include "support/registration.h"

#include "support/bytes_util.h"
#include "support/json_util.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <mutex>

namespace strongroom::testing {

const SharedPasswordKeys& SharedPasswordKeysFor(const std::string& password) {
  static std::mutex mutex;
  static std::map<std::string, std::unique_ptr<SharedPasswordKeys>> derived;
  const std::lock_guard lock(mutex);
  auto& slot = derived[password];
  if (!slot) {
    slot = std::make_unique<SharedPasswordKeys>();
    slot->params = crypto::KdfParams::Generate();
    auto keys = crypto::DerivePasswordKeys(password, slot->params);
    EXPECT_TRUE(keys.has_value());
    if (keys) slot->keys.emplace(std::move(*keys));
  }
  return *slot;
}

boost::json::object KdfJson(const crypto::KdfParams& params) {
  return {{"algorithm", "argon2id13"},
          {"opslimit", params.opslimit},
          {"memlimit", params.memlimit},
          {"salt", B64(params.salt)}};
}

boost::json::object RegistrationBody(const std::string& invitation, const std::string& email,
                                     const crypto::Identity& identity,
                                     const crypto::PasswordKeys& keys,
                                     const crypto::KdfParams& params) {
  auto sealed = crypto::SealPrivateBundle(identity, keys, params);
  const auto recovery = crypto::RecoveryKey::Generate();
  auto recovery_bundle = crypto::SealRecoveryBundle(identity, recovery);
  EXPECT_TRUE(sealed && recovery_bundle);
  if (!sealed || !recovery_bundle) return {};
  return {{"invitation", invitation},
          {"email", email},
          {"user_id", identity.user_id()},
          {"auth_key", B64(keys.auth_key.bytes())},
          {"kdf", KdfJson(params)},
          {"public_bundle", B64(identity.public_bundle().Serialize())},
          {"private_bundle", B64(*sealed)},
          {"recovery_bundle", B64(*recovery_bundle)},
          {"recovery_auth_key", B64(crypto::RecoveryAuthKey(recovery).bytes())}};
}

HttpRegistration RegisterOverHttp(const Portal& portal, const std::string& invitation,
                                  const std::string& email, const SharedPasswordKeys& keys) {
  HttpRegistration u;
  u.email = email;
  u.user_id = "u-" + RandomHexId(16);
  auto identity = crypto::Identity::Generate(u.user_id);
  EXPECT_TRUE(identity.has_value() && keys.keys.has_value());
  if (!identity || !keys.keys) return u;
  const boost::json::object body =
      RegistrationBody(invitation, email, *identity, *keys.keys, keys.params);
  if (body.empty()) return u;
  const HttpReply r = portal.Post("/api/v1/register", body);
  EXPECT_EQ(r.status, 201) << r.body;
  if (r.status != 201) return u;
  u.response = ParseJson(r.body);
  u.token = JStr(u.response, "/session/token");
  u.identity.emplace(std::move(*identity));
  return u;
}

}  // namespace strongroom::testing
