// Accounts: registration, pre-login, sign-in, recovery, sessions, password change, login
// history and public keys. The specification is docs/api.md; the reasoning behind backoff and
// pre-login is in docs/threat-model.md.
#include "server/api/handlers.h"
#include "server/api/json.h"
#include "server/services.h"
#include "strongroom/crypto/identity.h"
#include "strongroom/crypto/password.h"
#include "strongroom/crypto/verifier.h"

#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>

namespace strongroom::server::api {
namespace {

using storage::TimeMs;

constexpr std::size_t kMaxTokenText = 128;
constexpr std::size_t kMaxSealedBundle = 4096;  // Private and recovery bundles are ~150 bytes.
constexpr TimeMs kTouchEveryMs = 60'000;

std::span<const std::uint8_t, 32> Key32(const std::vector<std::uint8_t>& v) {
  return std::span<const std::uint8_t, 32>(v.data(), 32);
}

[[noreturn]] void ThrowInvalidCredentials() {
  throw ApiError(http::status::unauthorized, "invalid_credentials", "wrong email or password");
}


// --- login history and backoff ------------------------------------------------------------

// Milliseconds the lock still holds for these failures, or 0.
TimeMs LockRemaining(const AuthSettings& policy, const storage::FailureCount& failures,
                     std::int64_t threshold, TimeMs now) {
  if (failures.count < threshold) return 0;
  const std::int64_t doublings = std::min<std::int64_t>(failures.count - threshold, 30);
  const TimeMs lock =
      std::min<TimeMs>((policy.lockout_base_s * 1000) << doublings, policy.lockout_max_s * 1000);
  return std::max<TimeMs>(0, failures.last_failure + lock - now);
}

}  // namespace

void RecordAttempt(HandlerContext& context, const std::string& email,
                   std::optional<std::string> user_id, std::string result, std::string reason) {
  Services& s = Svc(context);
  storage::LoginAttempt a;
  a.time = s.now();
  a.email = email;
  a.user_id = std::move(user_id);
  a.ip = context.info.remote_ip;
  a.user_agent = context.info.user_agent;
  a.result = std::move(result);
  a.reason = std::move(reason);
  Must(s.store->RecordLoginAttempt(a));
}

// Called before any key is checked, for known and unknown emails alike.
void EnforceBackoff(HandlerContext& context, const std::string& email,
                    const std::optional<std::string>& user_id, std::string_view action) {
  Services& s = Svc(context);
  const AuthSettings& policy = s.config.auth;
  const TimeMs now = s.now();
  const TimeMs since = now - policy.lockout_window_s * 1000;
  const auto account = Must(s.store->AccountFailures(email, since));
  const auto ip = Must(s.store->IpFailures(context.info.remote_ip, since));
  const TimeMs wait = std::max(LockRemaining(policy, account, policy.account_lockout_threshold, now),
                               LockRemaining(policy, ip, policy.ip_lockout_threshold, now));
  if (wait == 0) return;
  RecordAttempt(context, email, user_id, "refused", "locked");
  Audit(context, "anonymous", std::string(action), user_id.value_or(email), "denied",
        DetailJson({{"reason", "locked"}}));
  ApiError error(http::status::too_many_requests, "locked_out",
                 "too many failed sign-in attempts; try again later");
  error.retry_after_s = (wait + 999) / 1000;
  throw error;
}

namespace {

// --- sessions -------------------------------------------------------------------------------

struct NewSession {
  std::string token;
  storage::SessionRecord record;
};

NewSession IssueSession(HandlerContext& context, const std::string& user_id) {
  Services& s = Svc(context);
  NewSession out;
  out.token = crypto::NewToken();
  out.record.id = crypto::RandomHex(16);
  out.record.token_digest = crypto::TokenDigest(out.token);
  out.record.user_id = user_id;
  out.record.created_at = s.now();
  out.record.last_seen_at = out.record.created_at;
  out.record.expires_at = out.record.created_at + CurrentSettings(s)->session_lifetime_s * 1000;
  out.record.ip = context.info.remote_ip;
  out.record.user_agent = context.info.user_agent;
  Must(s.store->CreateSession(out.record));
  return out;
}

boost::json::object NewSessionJson(const NewSession& session) {
  boost::json::object o;
  o["token"] = session.token;
  o["id"] = session.record.id;
  o["expires_at"] = FormatTime(session.record.expires_at);
  return o;
}

boost::json::object SessionJson(const storage::SessionRecord& s, const std::string& current_id) {
  boost::json::object o;
  o["id"] = s.id;
  o["created_at"] = FormatTime(s.created_at);
  o["last_seen_at"] = FormatTime(s.last_seen_at);
  o["expires_at"] = FormatTime(s.expires_at);
  o["ip"] = s.ip;
  o["user_agent"] = s.user_agent;
  o["current"] = s.id == current_id;
  return o;
}

// Whether a new session of `user` can do nothing but enrol in two-factor authentication yet
// (told to the client at sign-in, so it can say what to do).
bool EnrolmentRequired(Services& s, const storage::UserRecord& user) {
  return !user.totp_enabled && TwoFactorRequired(s);
}

// The body every successful sign-in returns (login, recovery/complete).
Response SignedIn(const Request& request, HandlerContext& context, const storage::UserRecord& user,
                  http::status status) {
  const NewSession session = IssueSession(context, user.id);
  boost::json::object body;
  body["user"] = UserJson(user);
  body["session"] = NewSessionJson(session);
  body["totp_enrolment_required"] = EnrolmentRequired(Svc(context), user);
  body["kdf"] = KdfJson(user.kdf);
  body["public_bundle"] = B64(user.public_bundle);
  body["private_bundle"] = B64(user.private_bundle);
  return Json(request, status, body);
}

storage::UserRecord FindUserOrNull(Services& s, const std::string& email, bool* found) {
  auto user = s.store->FindUserByEmail(email);
  if (!user && user.error() != errc::not_found) Must(std::move(user));
  *found = user.has_value();
  return user ? std::move(*user) : storage::UserRecord{};
}

// Checks a secret against a user's verifier. Unknown users cost the same time.
bool CheckSecret(bool found, const std::string& verifier, const std::vector<std::uint8_t>& key) {
  if (!found) {
    crypto::CheckDummyVerifier(Key32(key));
    return false;
  }
  return crypto::CheckVerifier(verifier, Key32(key));
}

std::string MakeVerifier(const std::vector<std::uint8_t>& key) {
  auto v = crypto::MakeVerifier(Key32(key));
  if (!v) throw std::runtime_error("verifier: out of memory");
  return std::move(*v);
}

std::optional<std::string> UserIdIf(bool found, const storage::UserRecord& user) {
  return found ? std::optional<std::string>(user.id) : std::nullopt;
}

// The sign-in step shared by login and the recovery endpoints: backoff, the key check
// (against `verifier_of(user)`), recording. Returns the user on success; throws otherwise.
template <class VerifierOf>
storage::UserRecord SignInStep(HandlerContext& context, const std::string& email,
                               const std::vector<std::uint8_t>& key, VerifierOf verifier_of,
                               std::string_view action, std::string_view failure_reason) {
  Services& s = Svc(context);
  bool found = false;
  storage::UserRecord user = FindUserOrNull(s, email, &found);
  EnforceBackoff(context, email, UserIdIf(found, user), action);
  // Before the key is checked: from an address the allow-list refuses, nobody may even try.
  // (An unknown email is judged as a user's.)
  EnforceIpAllowList(context, email, UserIdIf(found, user), found ? user.role : storage::Role::user,
                     action);
  if (!CheckSecret(found, found ? verifier_of(user) : std::string(), key)) {
    const std::string reason = found ? std::string(failure_reason) : "unknown_email";
    RecordAttempt(context, email, UserIdIf(found, user), "failure", reason);
    Audit(context, "anonymous", std::string(action), found ? user.id : email, "failure",
          DetailJson({{"reason", boost::json::string(reason)}}));
    ThrowInvalidCredentials();
  }
  // Checked only after the key, so a guesser learns nothing about the account's state.
  if (!user.active) {
    RecordAttempt(context, email, user.id, "refused", "account_disabled");
    Audit(context, user.id, std::string(action), user.id, "denied",
          DetailJson({{"reason", "account_disabled"}}));
    throw ApiError(http::status::forbidden, "account_disabled", "this account is deactivated");
  }
  return user;
}

}  // namespace

// --- shared helpers (handlers.h) -----------------------------------------------------------

void EnforceIpAllowList(HandlerContext& context, const std::string& email,
                        const std::optional<std::string>& user_id, storage::Role role,
                        std::string_view action) {
  Services& s = Svc(context);
  if (CurrentSettings(s)->ip_allowlist.Admits(context.info.remote_ip, role)) return;
  spdlog::warn("refused {} from {}: the address is not on the portal's allow-list", action,
               context.info.remote_ip);
  RecordAttempt(context, email, user_id, "refused", "ip_not_allowed");
  Audit(context, user_id.value_or("anonymous"), std::string(action), user_id.value_or(email),
        "denied", DetailJson({{"reason", "ip_not_allowed"}}));
  throw IpNotAllowed(context);
}

ApiError IpNotAllowed(const HandlerContext& context) {
  return ApiError(http::status::forbidden, "ip_not_allowed",
                  "this portal does not admit your address (" + context.info.remote_ip +
                      "); ask an administrator");
}

Services& Svc(HandlerContext& context) {
  if (context.services == nullptr || !context.services->store) ThrowUnavailable();
  return *context.services;
}

void StoreFailed(const boost::system::error_code& ec) {
  spdlog::error("metadata store failed: {}", ec.message());
  ThrowUnavailable();
}

void Audit(HandlerContext& context, std::string actor, std::string action, std::string target,
           std::string result, std::string detail) {
  storage::AuditEvent e = RequestAudit(context, std::move(actor), std::move(action),
                                       std::move(target), std::move(detail));
  e.result = std::move(result);
  Must(Svc(context).store->AppendAudit(e));
}

boost::json::object UserJson(const storage::UserRecord& user) {
  boost::json::object o;
  o["id"] = user.id;
  o["email"] = user.email;
  o["display_name"] = user.display_name;
  o["role"] = storage::RoleName(user.role);
  o["created_at"] = FormatTime(user.created_at);
  return o;
}

Caller AuthenticateForEnrolment(const Request& request, HandlerContext& context) {
  Services& s = Svc(context);
  const auto unauthenticated = [] {
    return ApiError(http::status::unauthorized, "unauthenticated",
                    "sign in first: no valid session token");
  };
  const auto header = request[http::field::authorization];
  constexpr std::string_view kBearer = "Bearer ";
  if (!header.starts_with(kBearer) || header.size() > kBearer.size() + kMaxTokenText) {
    throw unauthenticated();
  }
  const std::string_view token = header.substr(kBearer.size());
  const TimeMs now = s.now();
  auto found = s.store->FindSessionWithUser(crypto::TokenDigest(token), now);
  if (!found) {
    if (found.error() == errc::not_found) throw unauthenticated();
    Must(std::move(found));
  }
  storage::SessionRecord& session = found->session;
  storage::UserRecord& user = found->user;
  if (!user.active) {
    throw ApiError(http::status::forbidden, "account_disabled", "this account is deactivated");
  }
  const auto settings = CurrentSettings(s);
  if (!settings->ip_allowlist.Admits(context.info.remote_ip, user.role)) {
    // Logged (with the address) and audited, but not in the login history: this is API use.
    spdlog::warn("refused a request of {} from {}: the address is not on the allow-list",
                 user.id, context.info.remote_ip);
    Audit(context, user.id, "access.denied", context.info.remote_ip, "denied",
          DetailJson({{"reason", "ip_not_allowed"}}));
    throw IpNotAllowed(context);
  }
  if (settings->session_idle_timeout_s > 0 &&
      now - session.last_seen_at > settings->session_idle_timeout_s * 1000 + kTouchEveryMs) {
    // (last_seen_at moves at most once a minute, hence the extra minute of grace.)
    (void)Must(s.store->RevokeSession(user.id, session.id));
    throw ApiError(http::status::unauthorized, "unauthenticated",
                   "the session ended after a time without use; sign in again");
  }
  std::chrono::milliseconds retry{0};
  if (s.account_limiter &&
      !s.account_limiter->Allow(user.id, RateLimiter::Clock::now(), &retry)) {
    if (s.metrics) s.metrics->RateLimited("account");
    ApiError error(http::status::too_many_requests, "rate_limited",
                   "too many requests for this account; slow down");
    error.retry_after_s = std::max<std::int64_t>(1, (retry.count() + 999) / 1000);
    throw error;
  }
  if (now - session.last_seen_at >= kTouchEveryMs) {
    Must(s.store->TouchSession(session.id, now));
    session.last_seen_at = now;
  }
  context.user_id = user.id;
  return Caller{std::move(session), std::move(user)};
}

Caller Authenticate(const Request& request, HandlerContext& context) {
  Caller caller = AuthenticateForEnrolment(request, context);
  // Users with 2FA never pay for the settings read; the rest pay one, cheap, per request.
  if (!caller.user.totp_enabled && TwoFactorRequired(Svc(context))) {
    throw ApiError(http::status::forbidden, "2fa_enrolment_required",
                   "this portal requires two-factor authentication: enrol before anything else "
                   "(strongroom 2fa enable)");
  }
  return caller;
}

Caller AuthenticateAdmin(const Request& request, HandlerContext& context) {
  Caller caller = Authenticate(request, context);
  if (caller.user.role != storage::Role::owner && caller.user.role != storage::Role::admin) {
    throw ApiError(http::status::forbidden, "forbidden", "this needs an administrator");
  }
  return caller;
}

// --- endpoints ------------------------------------------------------------------------------

Response Register(const Request& request, HandlerContext& context) {
  Services& s = Svc(context);
  const auto body = ParseObject(request);
  // Absent or "": no invitation (a trusted mail domain may admit the email).
  const auto* given = body.if_contains("invitation");
  const bool empty_given = given != nullptr && given->is_string() && given->as_string().empty();
  const std::string invitation =
      empty_given ? std::string() : GetOptionalString(body, "invitation", kMaxTokenText).value_or("");
  const std::string email = NormalizeEmail(GetString(body, "email", 254));
  std::string display_name =
      GetOptionalString(body, "display_name", 100).value_or(email.substr(0, email.find('@')));
  if (!IsValidDisplayName(display_name)) {
    ThrowInvalid("field 'display_name' must be 1 to 100 bytes of text without control characters");
  }
  const std::string user_id = GetString(body, "user_id", 64);
  if (!IsValidUserIdText(user_id)) {
    ThrowInvalid("field 'user_id' must be 1 to 64 characters of a-z, 0-9, '-' and '_'");
  }
  const auto auth_key = GetBytes(body, "auth_key", crypto::kAuthKeySize, crypto::kAuthKeySize);
  const auto kdf = GetKdf(body, "kdf");
  const auto public_bundle = GetBytes(body, "public_bundle", crypto::kMaxPublicBundleSize);
  const auto private_bundle = GetBytes(body, "private_bundle", kMaxSealedBundle);
  const auto recovery_bundle = GetBytes(body, "recovery_bundle", kMaxSealedBundle);
  const auto recovery_auth_key =
      GetBytes(body, "recovery_auth_key", crypto::kAuthKeySize, crypto::kAuthKeySize);

  auto bundle = crypto::PublicBundle::Parse(public_bundle);
  if (!bundle) ThrowInvalid("field 'public_bundle' is not a valid self-signed public bundle");
  if (bundle->user_id() != user_id) {
    ThrowInvalid("field 'public_bundle' belongs to another user id");
  }

  const TimeMs now = s.now();
  const auto invalid_invitation = [] {
    return ApiError(http::status::forbidden, "invalid_invitation",
                    "the invitation is unknown, already used, expired, or for another email");
  };
  const auto settings = CurrentSettings(s);
  // Without an invitation: only an email in a trusted domain, when the portal allows it.
  std::string digest;
  storage::Role role = storage::Role::user;
  if (invitation.empty()) {
    const std::string domain = email.substr(email.rfind('@') + 1);
    const auto& trusted = settings->trusted_domains;
    if (!settings->trusted_domains_enabled ||
        std::find(trusted.begin(), trusted.end(), domain) == trusted.end()) {
      throw ApiError(http::status::forbidden, "invitation_required",
                     "this portal admits new accounts by invitation only (or from its trusted "
                     "mail domains, which do not include this email's)");
    }
  } else {
    digest = crypto::TokenDigest(invitation);
    auto found = s.store->FindInvitation(digest);
    if (!found) {
      if (found.error() == errc::not_found) throw invalid_invitation();
      Must(std::move(found));
    }
    if (found->used_at || found->expires_at <= now ||
        (!found->email.empty() && found->email != email)) {
      throw invalid_invitation();
    }
    role = found->role;
  }
  EnforceIpAllowList(context, email, std::nullopt, role, "user.register");

  storage::Registration registration;
  storage::UserRecord& user = registration.user;
  user.id = user_id;
  user.email = email;
  user.display_name = display_name;
  user.role = role;
  user.active = true;
  user.auth_verifier = MakeVerifier(auth_key);
  user.kdf = kdf;
  user.public_bundle = public_bundle;
  user.private_bundle = private_bundle;
  user.recovery_bundle = recovery_bundle;
  user.recovery_verifier = MakeVerifier(recovery_auth_key);
  user.created_at = now;
  user.updated_at = now;
  registration.invitation_digest = digest;
  registration.without_invitation = invitation.empty();
  registration.audit = storage::AuditEvent{0,
                                           now,
                                           user_id,
                                           "user.register",
                                           user_id,
                                           context.info.remote_ip,
                                           "success",
                                           DetailJson({{"role", boost::json::string(storage::RoleName(user.role))}})};
  if (auto r = s.store->RegisterUser(registration); !r) {
    if (r.error() == errc::not_found) throw invalid_invitation();
    if (r.error() == errc::already_exists) {
      throw ApiError(http::status::conflict, "already_registered",
                     "an account with this email or user id already exists");
    }
    Must(std::move(r));
  }
  RecordAttempt(context, email, user_id, "success", "registration");
  const NewSession session = IssueSession(context, user_id);
  boost::json::object out;
  out["user"] = UserJson(user);
  out["session"] = NewSessionJson(session);
  out["totp_enrolment_required"] = EnrolmentRequired(s, user);
  return Json(request, http::status::created, out);
}

Response Prelogin(const Request& request, HandlerContext& context) {
  Services& s = Svc(context);
  const auto body = ParseObject(request);
  const std::string email = NormalizeEmail(GetString(body, "email", 254));
  bool found = false;
  const storage::UserRecord user = FindUserOrNull(s, email, &found);
  storage::KdfRecord kdf;
  if (found) {
    kdf = user.kdf;
  } else {
    // What a client with default settings would have registered with (KdfParams defaults),
    // under a salt that is stable per email and unpredictable without the portal's key.
    const crypto::KdfParams defaults;
    kdf.algorithm = "argon2id13";
    kdf.opslimit = defaults.opslimit;
    kdf.memlimit = static_cast<std::int64_t>(defaults.memlimit);
    const auto salt = crypto::FakeSalt(s.prelogin_key, email);
    kdf.salt.assign(salt.begin(), salt.end());
  }
  boost::json::object out;
  out["kdf"] = KdfJson(kdf);
  return Json(request, http::status::ok, out);
}

Response Login(const Request& request, HandlerContext& context) {
  const auto body = ParseObject(request);
  const std::string email = NormalizeEmail(GetString(body, "email", 254));
  const auto key = GetBytes(body, "auth_key", crypto::kAuthKeySize, crypto::kAuthKeySize);
  // Read (and rejected when malformed) before any key is checked.
  const SecondFactor factor = GetSecondFactor(body);
  const storage::UserRecord user = SignInStep(
      context, email, key, [](const storage::UserRecord& u) { return u.auth_verifier; },
      "session.login", "wrong_credentials");
  std::string detail;
  if (user.totp_enabled) {
    // The password was right; no session without the second factor. Asking for it is not a
    // failure (the client sends the code next), but it is recorded: someone knew the password.
    if (factor.empty()) {
      RecordAttempt(context, email, user.id, "refused", "totp_required");
      Audit(context, user.id, "session.login", user.id, "denied",
            DetailJson({{"reason", "totp_required"}}));
      throw ApiError(http::status::unauthorized, "totp_required",
                     "this account has two-factor authentication: send the code from the "
                     "authenticator app as 'totp', or a recovery code as 'recovery_code'");
    }
    const std::string used = VerifySecondFactor(context, user, factor, "session.login");
    detail = DetailJson({{"second_factor", boost::json::string(used)}});
  }
  RecordAttempt(context, email, user.id, "success", "ok");
  Audit(context, user.id, "session.login", user.id, "success", detail);
  context.user_id = user.id;
  return SignedIn(request, context, user, http::status::ok);
}

Response RecoveryStart(const Request& request, HandlerContext& context) {
  const auto body = ParseObject(request);
  const std::string email = NormalizeEmail(GetString(body, "email", 254));
  const auto key = GetBytes(body, "recovery_auth_key", crypto::kAuthKeySize, crypto::kAuthKeySize);
  const storage::UserRecord user = SignInStep(
      context, email, key, [](const storage::UserRecord& u) { return u.recovery_verifier; },
      "user.recovery_start", "wrong_recovery_key");
  RecordAttempt(context, email, user.id, "success", "recovery_code");
  Audit(context, user.id, "user.recovery_start", user.id, "success");
  boost::json::object out;
  out["user_id"] = user.id;
  out["recovery_bundle"] = B64(user.recovery_bundle);
  out["public_bundle"] = B64(user.public_bundle);
  return Json(request, http::status::ok, out);
}

Response RecoveryComplete(const Request& request, HandlerContext& context) {
  Services& s = Svc(context);
  const auto body = ParseObject(request);
  const std::string email = NormalizeEmail(GetString(body, "email", 254));
  const auto old_key =
      GetBytes(body, "recovery_auth_key", crypto::kAuthKeySize, crypto::kAuthKeySize);
  const auto auth_key = GetBytes(body, "auth_key", crypto::kAuthKeySize, crypto::kAuthKeySize);
  const auto kdf = GetKdf(body, "kdf");
  const auto private_bundle = GetBytes(body, "private_bundle", kMaxSealedBundle);
  const auto recovery_bundle = GetBytes(body, "recovery_bundle", kMaxSealedBundle);
  const auto new_recovery_key =
      GetBytes(body, "new_recovery_auth_key", crypto::kAuthKeySize, crypto::kAuthKeySize);
  storage::UserRecord user = SignInStep(
      context, email, old_key, [](const storage::UserRecord& u) { return u.recovery_verifier; },
      "user.recover", "wrong_recovery_key");

  storage::CredentialChange change;
  change.user_id = user.id;
  change.auth_verifier = MakeVerifier(auth_key);
  change.kdf = kdf;
  change.private_bundle = private_bundle;
  change.recovery_bundle = recovery_bundle;
  change.recovery_verifier = MakeVerifier(new_recovery_key);
  change.keep_session_id = "";  // Recovery signs out everywhere.
  change.now = s.now();
  change.audit = storage::AuditEvent{
      0, change.now, user.id, "user.recover", user.id, context.info.remote_ip, "success", ""};
  auto changed = s.store->ChangeCredentials(change);
  if (!changed) {
    if (changed.error() == errc::not_found) ThrowInvalidCredentials();
    Must(std::move(changed));
  }
  RecordAttempt(context, email, user.id, "success", "recovery");
  user.auth_verifier = change.auth_verifier;
  user.kdf = change.kdf;
  user.private_bundle = change.private_bundle;
  context.user_id = user.id;
  return SignedIn(request, context, user, http::status::ok);
}

Response Logout(const Request& request, HandlerContext& context) {
  Services& s = Svc(context);
  const Caller caller = AuthenticateForEnrolment(request, context);
  (void)Must(s.store->RevokeSession(caller.user.id, caller.session.id));
  Audit(context, caller.user.id, "session.logout", caller.session.id, "success");
  boost::json::object out;
  out["status"] = "ok";
  return Json(request, http::status::ok, out);
}

Response Me(const Request& request, HandlerContext& context) {
  const Caller caller = AuthenticateForEnrolment(request, context);
  boost::json::object out;
  out["user"] = UserJson(caller.user);
  out["session"] = SessionJson(caller.session, caller.session.id);
  return Json(request, http::status::ok, out);
}

Response MyKeys(const Request& request, HandlerContext& context) {
  const Caller caller = Authenticate(request, context);
  boost::json::object out;
  out["kdf"] = KdfJson(caller.user.kdf);
  out["public_bundle"] = B64(caller.user.public_bundle);
  out["private_bundle"] = B64(caller.user.private_bundle);
  return Json(request, http::status::ok, out);
}

Response ChangePassword(const Request& request, HandlerContext& context) {
  Services& s = Svc(context);
  const Caller caller = Authenticate(request, context);
  const auto body = ParseObject(request);
  const auto current =
      GetBytes(body, "current_auth_key", crypto::kAuthKeySize, crypto::kAuthKeySize);
  const auto auth_key = GetBytes(body, "auth_key", crypto::kAuthKeySize, crypto::kAuthKeySize);
  const auto kdf = GetKdf(body, "kdf");
  const auto private_bundle = GetBytes(body, "private_bundle", kMaxSealedBundle);

  // A stolen session must not be enough to take the account over: the current password is
  // proved again, under the same backoff as sign-in.
  const std::string& email = caller.user.email;
  EnforceBackoff(context, email, caller.user.id, "user.password_change");
  if (!crypto::CheckVerifier(caller.user.auth_verifier, Key32(current))) {
    RecordAttempt(context, email, caller.user.id, "failure", "wrong_credentials");
    Audit(context, caller.user.id, "user.password_change", caller.user.id, "failure",
          DetailJson({{"reason", "wrong_credentials"}}));
    throw ApiError(http::status::unauthorized, "invalid_credentials", "wrong current password");
  }
  const TimeMs now = s.now();
  const auto sessions = Must(s.store->ListSessions(caller.user.id, now));
  const std::int64_t others = static_cast<std::int64_t>(sessions.size()) - 1;

  storage::CredentialChange change;
  change.user_id = caller.user.id;
  change.auth_verifier = MakeVerifier(auth_key);
  change.kdf = kdf;
  change.private_bundle = private_bundle;
  change.keep_session_id = caller.session.id;
  change.now = now;
  change.audit = storage::AuditEvent{0,
                                     now,
                                     caller.user.id,
                                     "user.password_change",
                                     caller.user.id,
                                     context.info.remote_ip,
                                     "success",
                                     DetailJson({{"revoked_sessions", std::max<std::int64_t>(0, others)}})};
  Must(s.store->ChangeCredentials(change));
  boost::json::object out;
  out["revoked_sessions"] = std::max<std::int64_t>(0, others);
  return Json(request, http::status::ok, out);
}

Response MySessions(const Request& request, HandlerContext& context) {
  Services& s = Svc(context);
  const Caller caller = Authenticate(request, context);
  boost::json::array list;
  for (const auto& session : Must(s.store->ListSessions(caller.user.id, s.now()))) {
    list.push_back(SessionJson(session, caller.session.id));
  }
  boost::json::object out;
  out["sessions"] = std::move(list);
  return Json(request, http::status::ok, out);
}

Response RevokeSession(const Request& request, HandlerContext& context) {
  Services& s = Svc(context);
  const Caller caller = Authenticate(request, context);
  const std::string& id = context.params.at(0);
  if (!Must(s.store->RevokeSession(caller.user.id, id))) {
    throw ApiError(http::status::not_found, "not_found", "you have no session with this id");
  }
  Audit(context, caller.user.id, "session.revoke", id, "success");
  boost::json::object out;
  out["status"] = "ok";
  return Json(request, http::status::ok, out);
}

Response RevokeOtherSessions(const Request& request, HandlerContext& context) {
  Services& s = Svc(context);
  const Caller caller = Authenticate(request, context);
  const std::int64_t n = Must(s.store->RevokeOtherSessions(caller.user.id, caller.session.id));
  Audit(context, caller.user.id, "session.revoke_others", caller.user.id, "success",
        DetailJson({{"revoked_sessions", n}}));
  boost::json::object out;
  out["revoked_sessions"] = n;
  return Json(request, http::status::ok, out);
}

Response PublicKeyById(const Request& request, HandlerContext& context);
Response PublicKeyByEmail(const Request& request, HandlerContext& context);

namespace {

Response PublicKeyOf(const Request& request, result<storage::UserRecord> user) {
  if (!user) {
    if (user.error() == errc::not_found) {
      throw ApiError(http::status::not_found, "not_found", "no such user");
    }
    Must(std::move(user));
  }
  auto bundle = crypto::PublicBundle::Parse(user->public_bundle);
  if (!bundle) throw std::runtime_error("stored public bundle does not parse");
  boost::json::object out;
  out["user_id"] = user->id;
  out["email"] = user->email;
  out["display_name"] = user->display_name;
  out["public_bundle"] = B64(user->public_bundle);
  out["fingerprint"] = bundle->DisplayFingerprint();
  return Json(request, http::status::ok, out);
}

}  // namespace

Response PublicKeyById(const Request& request, HandlerContext& context) {
  Services& s = Svc(context);
  (void)Authenticate(request, context);
  return PublicKeyOf(request, s.store->FindUserById(context.params.at(0)));
}

Response PublicKeyByEmail(const Request& request, HandlerContext& context) {
  Services& s = Svc(context);
  (void)Authenticate(request, context);
  const auto params = QueryParams(request);
  const auto it = params.find("email");
  if (it == params.end()) ThrowInvalid("query parameter 'email' is required");
  return PublicKeyOf(request, s.store->FindUserByEmail(NormalizeEmail(it->second)));
}

}  // namespace strongroom::server::api
