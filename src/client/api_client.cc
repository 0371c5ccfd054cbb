#include "strongroom/client/api_client.h"

#include "client/json_reader.h"

#include "strongroom/crypto/encoding.h"
#include "strongroom/crypto/secret.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <cctype>
#include <cstdint>

namespace strongroom::client {
namespace {

namespace json = boost::json;

using detail::Unexpected;
using Reader = detail::JsonReader;

std::string B64(std::span<const std::uint8_t> bytes) {
  return crypto::Base64UrlEncode(bytes);
}

json::object KdfJson(const crypto::KdfParams& kdf) {
  return {{"algorithm", "argon2id13"},
          {"opslimit", static_cast<std::int64_t>(kdf.opslimit)},
          {"memlimit", static_cast<std::int64_t>(kdf.memlimit)},
          {"salt", B64(kdf.salt)}};
}

crypto::KdfParams ReadKdf(Reader& outer, std::string_view name) {
  crypto::KdfParams kdf;
  Reader r(outer.Object(name));
  if (r.String("algorithm") != "argon2id13") {
    // Unknown algorithms are refused later by CheckKdfParams as unsupported.
    kdf.algorithm = 0;
  }
  const std::uint64_t ops = r.Uint("opslimit");
  kdf.opslimit = ops > UINT32_MAX ? UINT32_MAX : static_cast<std::uint32_t>(ops);
  kdf.memlimit = r.Uint("memlimit");
  const Bytes salt = r.Binary("salt");
  if (r.ok() && salt.size() != kdf.salt.size()) r.Fail("salt");
  if (r.ok()) std::ranges::copy(salt, kdf.salt.begin());
  outer.Merge(r);
  return kdf;
}

User ReadUser(Reader& outer) {
  Reader r(outer.Object("user"));
  User u{.id = r.String("id"),
         .email = r.String("email"),
         .display_name = r.OptionalString("display_name"),
         .role = r.String("role"),
         .created_at = r.OptionalString("created_at")};
  outer.Merge(r);
  return u;
}

Session ReadSession(const json::object& o, Reader& outer) {
  Reader r(o);
  Session s{.id = r.String("id"),
            .created_at = r.OptionalString("created_at"),
            .last_seen_at = r.OptionalString("last_seen_at"),
            .expires_at = r.OptionalString("expires_at"),
            .ip = r.OptionalString("ip"),
            .user_agent = r.OptionalString("user_agent"),
            .current = r.OptionalBool("current")};
  outer.Merge(r);
  return s;
}

Result<SignedIn> ReadSignedIn(const json::object& o, bool with_keys) {
  Reader r(o);
  SignedIn out;
  out.user = ReadUser(r);
  Reader s(r.Object("session"));
  std::string token = s.String("token");
  out.session.token = SecretString(std::move(token));
  out.session.id = s.String("id");
  out.session.expires_at = s.OptionalString("expires_at");
  r.Merge(s);
  out.totp_enrolment_required = r.OptionalBool("totp_enrolment_required");  // Absent: false.
  if (with_keys) {
    out.kdf = ReadKdf(r, "kdf");
    out.public_bundle = r.Binary("public_bundle");
    out.private_bundle = r.Binary("private_bundle");
  }
  if (!r.ok()) return r.error();
  if (out.session.token.empty()) return Unexpected("empty session token");
  return out;
}

// Serialises a request body; the caller wipes it after sending (it may hold keys).
std::string Serialize(const json::object& body) {
  return json::serialize(body);
}

void WipeJsonStrings(json::object& body) {
  for (auto& kv : body) {
    if (kv.value().is_string()) {
      auto& s = kv.value().get_string();
      crypto::Wipe(std::span(reinterpret_cast<std::uint8_t*>(s.data()), s.size()));
    }
  }
}

// Adds the second factor's field (at most one) to a request body.
void AddSecondFactor(json::object& body, const SecondFactor& factor) {
  if (!factor.totp.empty()) body["totp"] = factor.totp;
  if (!factor.recovery_code.empty()) body["recovery_code"] = factor.recovery_code.view();
}

// The "recovery_codes" list of an answer, as secrets.
Result<std::vector<SecretString>> ReadRecoveryCodes(json::object& o) {
  Reader r(o);
  std::vector<SecretString> codes;
  for (auto& v : r.Array("recovery_codes")) {
    if (!v.is_string()) return Unexpected("field 'recovery_codes'");
    codes.emplace_back(std::string(v.get_string()));
  }
  if (!r.ok()) return r.error();
  if (codes.empty()) return Unexpected("no recovery codes");
  WipeJsonStrings(o);
  return codes;
}

}  // namespace

std::string UrlEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

namespace {

// The client::Error for a non-2xx answer, from its JSON error body when it has one.
Error ErrorFromResponse(const HttpResponse& response, const json::value& value, bool parsed) {
  {
    Error e;
    e.kind = Error::Kind::server;
    e.status = response.status;
    e.retry_after = response.retry_after;
    const json::object* err = nullptr;
    if (parsed && value.is_object()) {
      if (auto it = value.get_object().find("error");
          it != value.get_object().end() && it->value().is_object()) {
        err = &it->value().get_object();
      }
    }
    if (err) {
      Reader r(*err);
      e.code = Printable(r.OptionalString("code"), 64);
      e.message = Printable(r.OptionalString("message"));
    }
    if (e.message.empty()) {
      e.message = "the server answered HTTP " + std::to_string(response.status);
    }
    if (e.code == "locked_out" || e.code == "rate_limited") {
      if (e.retry_after >= 0) {
        e.message += "; try again in " + std::to_string(e.retry_after) + " s";
      }
    }
    return e;
  }
}

}  // namespace

Result<json::object> ApiClient::Call(Method method, std::string_view target,
                                     const json::object* body, bool signed_in) {
  std::string text = body ? Serialize(*body) : std::string();
  auto response = transport_.Send(method, target, text, signed_in ? token_.view() : "");
  WipeString(text);
  if (!response) return response.error();
  json::error_code ec;
  json::value value = json::parse(response->body, ec);
  WipeString(response->body);  // May hold a token or a bundle.
  const bool ok_status = response->status >= 200 && response->status < 300;
  if (!ok_status) return ErrorFromResponse(*response, value, !ec);
  if (response->status == 204) return json::object();
  if (ec || !value.is_object()) return Unexpected("not a JSON object");
  return std::move(value.get_object());
}

Result<json::object> ApiClient::CallJson(Method method, std::string_view target,
                                         const json::object* body) {
  return Call(method, target, body, true);
}

Result<HttpResponse> ApiClient::SendBytes(Method method, std::string_view target,
                                          std::string_view body, const SendOptions& options) {
  auto response = transport_.Send(method, target, body, token_.view(), options);
  if (!response) return response.error();
  if (response->status >= 200 && response->status < 300) return response;
  json::error_code ec;
  const json::value value = json::parse(response->body, ec);
  return ErrorFromResponse(*response, value, !ec);
}

Result<SignedIn> ApiClient::Register(const RegisterRequest& q) {
  json::object body{{"invitation", q.invitation},
                    {"email", q.email},
                    {"user_id", q.user_id},
                    {"auth_key", B64(q.auth_key)},
                    {"kdf", KdfJson(q.kdf)},
                    {"public_bundle", B64(q.public_bundle)},
                    {"private_bundle", B64(q.private_bundle)},
                    {"recovery_bundle", B64(q.recovery_bundle)},
                    {"recovery_auth_key", B64(q.recovery_auth_key)}};
  if (!q.display_name.empty()) body["display_name"] = q.display_name;
  auto o = Call(Method::post, "/api/v1/register", &body, false);
  WipeJsonStrings(body);
  if (!o) return o.error();
  return ReadSignedIn(*o, false);
}

Result<crypto::KdfParams> ApiClient::Prelogin(std::string_view email) {
  json::object body{{"email", email}};
  auto o = Call(Method::post, "/api/v1/prelogin", &body, false);
  if (!o) return o.error();
  Reader r(*o);
  auto kdf = ReadKdf(r, "kdf");
  if (!r.ok()) return r.error();
  return kdf;
}

Result<PasswordPolicy> ApiClient::GetPasswordPolicy() {
  auto o = Call(Method::get, "/api/v1/password-policy", nullptr, false);
  if (!o) {
    if (o.error().status == 404) return PasswordPolicy{kPasswordMinLengthFloor, {}, false};
    return o.error();
  }
  PasswordPolicy policy;
  const auto* min = o->if_contains("min_length");
  const auto* classes = o->if_contains("required_classes");
  const auto* not_email = o->if_contains("not_email");
  if (min == nullptr || !min->is_int64() || classes == nullptr || !classes->is_array() ||
      not_email == nullptr || !not_email->is_bool()) {
    return Error::Network("unexpected response from the server: a password policy");
  }
  // A policy below the floor is raised to it: the floor is the client's own rule.
  policy.min_length = static_cast<std::size_t>(std::clamp<std::int64_t>(
      min->as_int64(), kPasswordMinLengthFloor, kPasswordMinLengthCeiling));
  for (const auto& c : classes->as_array()) {
    CharacterClass parsed{};
    if (!c.is_string() || !ParseCharacterClass(c.as_string(), parsed)) {
      return Error::Network("unexpected response from the server: a character class");
    }
    policy.required_classes.push_back(parsed);
  }
  policy.not_email = not_email->as_bool();
  return policy;
}

Result<SignedIn> ApiClient::Login(std::string_view email, AuthKey auth_key,
                                  const SecondFactor& second_factor) {
  json::object body{{"email", email}, {"auth_key", B64(auth_key)}};
  AddSecondFactor(body, second_factor);
  auto o = Call(Method::post, "/api/v1/login", &body, false);
  WipeJsonStrings(body);
  if (!o) return o.error();
  return ReadSignedIn(*o, true);
}

Result<RecoveryStarted> ApiClient::StartRecovery(std::string_view email,
                                                 AuthKey recovery_auth_key) {
  json::object body{{"email", email}, {"recovery_auth_key", B64(recovery_auth_key)}};
  auto o = Call(Method::post, "/api/v1/recovery/start", &body, false);
  WipeJsonStrings(body);
  if (!o) return o.error();
  Reader r(*o);
  RecoveryStarted out{.user_id = r.String("user_id"),
                      .recovery_bundle = r.Binary("recovery_bundle"),
                      .public_bundle = r.Binary("public_bundle")};
  if (!r.ok()) return r.error();
  return out;
}

Result<SignedIn> ApiClient::CompleteRecovery(const RecoveryCompleteRequest& q) {
  json::object body{{"email", q.email},
                    {"recovery_auth_key", B64(q.old_recovery_auth_key)},
                    {"auth_key", B64(q.auth_key)},
                    {"kdf", KdfJson(q.kdf)},
                    {"private_bundle", B64(q.private_bundle)},
                    {"recovery_bundle", B64(q.recovery_bundle)},
                    {"new_recovery_auth_key", B64(q.new_recovery_auth_key)}};
  auto o = Call(Method::post, "/api/v1/recovery/complete", &body, false);
  WipeJsonStrings(body);
  if (!o) return o.error();
  return ReadSignedIn(*o, true);
}

Result<void> ApiClient::Logout() {
  json::object body;
  auto o = Call(Method::post, "/api/v1/logout", &body, true);
  if (!o) return o.error();
  return {};
}

Result<Me> ApiClient::GetMe() {
  auto o = Call(Method::get, "/api/v1/me", nullptr, true);
  if (!o) return o.error();
  Reader r(*o);
  Me me;
  me.user = ReadUser(r);
  me.session = ReadSession(r.Object("session"), r);
  if (!r.ok()) return r.error();
  me.raw = std::move(*o);
  return me;
}

Result<MyKeys> ApiClient::GetMyKeys() {
  auto o = Call(Method::get, "/api/v1/me/keys", nullptr, true);
  if (!o) return o.error();
  Reader r(*o);
  MyKeys keys;
  keys.kdf = ReadKdf(r, "kdf");
  keys.public_bundle = r.Binary("public_bundle");
  keys.private_bundle = r.Binary("private_bundle");
  if (!r.ok()) return r.error();
  return keys;
}

Result<std::int64_t> ApiClient::ChangePassword(const PasswordChangeRequest& q) {
  json::object body{{"current_auth_key", B64(q.current_auth_key)},
                    {"auth_key", B64(q.auth_key)},
                    {"kdf", KdfJson(q.kdf)},
                    {"private_bundle", B64(q.private_bundle)}};
  auto o = Call(Method::post, "/api/v1/me/password", &body, true);
  WipeJsonStrings(body);
  if (!o) return o.error();
  Reader r(*o);
  const auto n = r.Int("revoked_sessions");
  if (!r.ok()) return r.error();
  return n;
}

Result<SessionList> ApiClient::ListSessions() {
  auto o = Call(Method::get, "/api/v1/me/sessions", nullptr, true);
  if (!o) return o.error();
  Reader r(*o);
  SessionList list;
  for (const auto& v : r.Array("sessions")) {
    if (!v.is_object()) return Unexpected("field 'sessions'");
    list.sessions.push_back(ReadSession(v.get_object(), r));
  }
  if (!r.ok()) return r.error();
  list.raw = std::move(*o);
  return list;
}

Result<void> ApiClient::RevokeSession(std::string_view id) {
  auto o = Call(Method::del, "/api/v1/me/sessions/" + UrlEncode(id), nullptr, true);
  if (!o) return o.error();
  return {};
}

Result<std::int64_t> ApiClient::RevokeOtherSessions() {
  json::object body;
  auto o = Call(Method::post, "/api/v1/me/sessions/revoke-others", &body, true);
  if (!o) return o.error();
  Reader r(*o);
  const auto n = r.Int("revoked_sessions");
  if (!r.ok()) return r.error();
  return n;
}

Result<LoginList> ApiClient::ListLogins(int limit) {
  std::string target = "/api/v1/me/logins";
  if (limit > 0) target += "?limit=" + std::to_string(limit);
  auto o = Call(Method::get, target, nullptr, true);
  if (!o) return o.error();
  Reader r(*o);
  LoginList list;
  for (const auto& v : r.Array("logins")) {
    if (!v.is_object()) return Unexpected("field 'logins'");
    Reader e(v.get_object());
    list.logins.push_back({.id = e.Int("id"),
                           .time = e.String("time"),
                           .email = e.OptionalString("email"),
                           .user_id = e.OptionalString("user_id"),
                           .ip = e.OptionalString("ip"),
                           .user_agent = e.OptionalString("user_agent"),
                           .result = e.String("result"),
                           .reason = e.OptionalString("reason")});
    r.Merge(e);
  }
  if (!r.ok()) return r.error();
  list.raw = std::move(*o);
  return list;
}

Result<PublicKeyInfo> ApiClient::PublicKeyById(std::string_view user_id) {
  return ReadPublicKey(Call(Method::get, "/api/v1/users/" + UrlEncode(user_id) + "/public-key",
                            nullptr, true));
}

Result<PublicKeyInfo> ApiClient::PublicKeyByEmail(std::string_view email) {
  return ReadPublicKey(
      Call(Method::get, "/api/v1/public-keys?email=" + UrlEncode(email), nullptr, true));
}

Result<TwoFactorStatus> ApiClient::GetTwoFactorStatus() {
  auto o = Call(Method::get, "/api/v1/me/2fa", nullptr, true);
  if (!o) return o.error();
  Reader r(*o);
  TwoFactorStatus status;
  status.state = r.String("state");
  status.recovery_codes_left = r.Int("recovery_codes_left");
  status.required = r.OptionalBool("required");
  if (!r.ok()) return r.error();
  status.raw = std::move(*o);
  return status;
}

Result<TwoFactorEnrolment> ApiClient::BeginTwoFactor() {
  json::object body;
  auto o = Call(Method::post, "/api/v1/me/2fa/begin", &body, true);
  if (!o) return o.error();
  Reader r(*o);
  TwoFactorEnrolment out{.otpauth_uri = SecretString(r.String("otpauth_uri")),
                         .secret = SecretString(r.String("secret"))};
  WipeJsonStrings(*o);
  if (!r.ok()) return r.error();
  if (!out.otpauth_uri.view().starts_with("otpauth://totp/") || out.secret.empty()) {
    return Unexpected("not an otpauth://totp/ URI");
  }
  return out;
}

Result<std::vector<SecretString>> ApiClient::ConfirmTwoFactor(std::string_view totp) {
  json::object body{{"totp", totp}};
  auto o = Call(Method::post, "/api/v1/me/2fa/confirm", &body, true);
  if (!o) return o.error();
  return ReadRecoveryCodes(*o);
}

Result<void> ApiClient::DisableTwoFactor(const SecondFactor& proof) {
  json::object body;
  AddSecondFactor(body, proof);
  auto o = Call(Method::post, "/api/v1/me/2fa/disable", &body, true);
  WipeJsonStrings(body);
  if (!o) return o.error();
  return {};
}

Result<std::vector<SecretString>> ApiClient::NewRecoveryCodes(const SecondFactor& proof) {
  json::object body;
  AddSecondFactor(body, proof);
  auto o = Call(Method::post, "/api/v1/me/2fa/recovery-codes", &body, true);
  WipeJsonStrings(body);
  if (!o) return o.error();
  return ReadRecoveryCodes(*o);
}

Result<PublicKeyInfo> ApiClient::ReadPublicKey(Result<json::object> o) {
  if (!o) return o.error();
  Reader r(*o);
  PublicKeyInfo info{.user_id = r.String("user_id"),
                     .email = r.String("email"),
                     .display_name = r.OptionalString("display_name"),
                     .public_bundle = r.Binary("public_bundle"),
                     .fingerprint = r.OptionalString("fingerprint")};
  if (!r.ok()) return r.error();
  return info;
}

}  // namespace strongroom::client
