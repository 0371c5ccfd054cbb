// Two-factor authentication: enrolment, status, disabling, recovery codes, and the second-factor
// check that sign-in uses. docs/api.md, "Two-factor authentication", is the specification; the
// TOTP arithmetic is in server/totp.h (liboath).
//
// The order of a check is always: session, backoff (for codes that guard something), the code
// itself, then the change, with its audit event in the same transaction. A failed code is a
// failed sign-in attempt in the login history, so guessing codes runs into the same lockout as
// guessing passwords; the enrolment's own first code is the exception (its secret was made for
// the caller a moment ago, so a wrong code there guards nothing).
#include "server/api/handlers.h"
#include "server/api/json.h"
#include "server/services.h"
#include "server/totp.h"
#include "strongroom/crypto/secret.h"

#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>

namespace strongroom::server::api {
namespace {

std::int64_t UnixSeconds(Services& s) {
  return s.now() / 1000;
}

// Wipes the secret's copies this handler made, however it leaves.
struct WipeOnExit {
  std::vector<std::uint8_t>& bytes;
  ~WipeOnExit() { crypto::Wipe(bytes); }
};

[[noreturn]] void ThrowInvalidTotp() {
  throw ApiError(http::status::unauthorized, "invalid_totp",
                 "the two-factor code is wrong, expired or already used");
}

[[noreturn]] void ThrowNotEnabled() {
  throw ApiError(http::status::conflict, "2fa_not_enabled",
                 "two-factor authentication is not on for this account");
}

[[noreturn]] void ThrowAlreadyEnabled() {
  throw ApiError(http::status::conflict, "2fa_already_enabled",
                 "two-factor authentication is already on; disable it first to enrol again");
}

// Makes new recovery codes: their display form (for the answer) and digests (for the store).
struct NewCodes {
  std::vector<std::string> shown;
  std::vector<std::string> digests;
  ~NewCodes() {
    for (auto& c : shown) totp::Wipe(c);
  }
};

void MakeRecoveryCodes(const std::string& user_id, NewCodes& out) {
  out.shown = totp::NewRecoveryCodes();
  for (const auto& code : out.shown) {
    auto canonical = totp::NormalizeRecoveryCode(code);
    if (!canonical) throw std::logic_error("a new recovery code does not normalise");
    out.digests.push_back(totp::RecoveryCodeDigest(user_id, *canonical));
    totp::Wipe(*canonical);
  }
}

boost::json::array CodesJson(const NewCodes& codes) {
  boost::json::array list;
  for (const auto& c : codes.shown) list.emplace_back(c);
  return list;
}

storage::AuditEvent Event(HandlerContext& context, const storage::UserRecord& user,
                          std::string action, std::string detail = "") {
  return storage::AuditEvent{0,       Svc(context).now(),     user.id,   std::move(action),
                             user.id, context.info.remote_ip, "success", std::move(detail)};
}

// The enrolment of a user who has two-factor authentication on (409 2fa_not_enabled if not).
storage::TotpRecord ConfirmedEnrolment(Services& s, const storage::UserRecord& user) {
  auto found = s.store->FindTotp(user.id);
  if (!found) {
    if (found.error() == errc::not_found) ThrowNotEnabled();
    Must(std::move(found));
  }
  if (!found->confirmed) {
    crypto::Wipe(found->secret);
    ThrowNotEnabled();
  }
  return std::move(*found);
}

}  // namespace

bool TwoFactorRequired(Services& s) {
  // Unset: off, so a portal made before two-factor authentication existed keeps working as it
  // did. A new portal has it written at creation ([auth] require_2fa_default).
  return CurrentSettings(s)->require_2fa;
}

SecondFactor GetSecondFactor(const boost::json::object& body) {
  SecondFactor factor;
  factor.totp = GetOptionalString(body, "totp", 16);
  auto recovery = GetOptionalString(body, "recovery_code", 64);
  if (factor.totp && recovery) {
    ThrowInvalid("send either 'totp' or 'recovery_code', not both");
  }
  if (factor.totp && !totp::IsWellFormedCode(*factor.totp)) {
    ThrowInvalid("field 'totp' must be the 6 digits the authenticator app shows");
  }
  if (recovery) {
    factor.recovery_code = totp::NormalizeRecoveryCode(*recovery);
    totp::Wipe(*recovery);
    if (!factor.recovery_code) {
      ThrowInvalid(
          "field 'recovery_code' must be a recovery code (10 letters and digits, "
          "as xxxxx-xxxxx)");
    }
  }
  return factor;
}

std::string VerifySecondFactor(HandlerContext& context, const storage::UserRecord& user,
                               const SecondFactor& factor, std::string_view action) {
  Services& s = Svc(context);
  const auto fail = [&](std::string reason, std::string code, std::string message) {
    RecordAttempt(context, user.email, user.id, "failure", reason);
    Audit(context, user.id, std::string(action), user.id, "failure",
          DetailJson({{"reason", boost::json::string(reason)}}));
    throw ApiError(http::status::unauthorized, std::move(code), std::move(message));
  };
  if (factor.recovery_code) {
    const std::string digest = totp::RecoveryCodeDigest(user.id, *factor.recovery_code);
    if (!Must(s.store->UseTotpRecoveryCode(user.id, digest, s.now()))) {
      fail("invalid_recovery_code", "invalid_recovery_code",
           "the recovery code is wrong or was already used");
    }
    return "recovery_code";
  }
  storage::TotpRecord enrolment = ConfirmedEnrolment(s, user);
  WipeOnExit wipe{enrolment.secret};
  const auto step = totp::MatchCode(enrolment.secret, *factor.totp, UnixSeconds(s));
  if (!step) {
    fail("invalid_totp", "invalid_totp", "the two-factor code is wrong, expired or already used");
  }
  // Spent atomically: of two requests with one code, one gets in.
  auto accepted = s.store->AcceptTotpStep(user.id, *step);
  if (!accepted && accepted.error() == errc::not_found) ThrowNotEnabled();  // Disabled meanwhile.
  if (!Must(std::move(accepted))) {
    fail("totp_replayed", "invalid_totp", "the two-factor code is wrong, expired or already used");
  }
  return "totp";
}

namespace {

// For a change only the second factor may authorise (turning it off, new recovery codes): the
// body's code or recovery code, under the sign-in backoff. Returns what was used.
std::string ProveSecondFactor(const Request& request, HandlerContext& context,
                              const Caller& caller, std::string_view action) {
  const auto body = ParseObject(request);
  const SecondFactor factor = GetSecondFactor(body);
  if (factor.empty()) ThrowInvalid("send the current code as 'totp', or a 'recovery_code'");
  if (!caller.user.totp_enabled) ThrowNotEnabled();
  EnforceBackoff(context, caller.user.email, caller.user.id, action);
  return VerifySecondFactor(context, caller.user, factor, action);
}

}  // namespace

// --- endpoints ------------------------------------------------------------------------------

Response TwoFactorStatus(const Request& request, HandlerContext& context) {
  Services& s = Svc(context);
  const Caller caller = AuthenticateForEnrolment(request, context);
  std::string state = "disabled";
  std::int64_t left = 0;
  auto found = s.store->FindTotp(caller.user.id);
  if (found) {
    state = found->confirmed ? "enabled" : "pending";
    left = found->recovery_codes_left;
    crypto::Wipe(found->secret);
  } else if (found.error() != errc::not_found) {
    Must(std::move(found));
  }
  boost::json::object out;
  out["state"] = state;
  out["recovery_codes_left"] = left;
  out["required"] = TwoFactorRequired(s);
  return Json(request, http::status::ok, out);
}

Response TwoFactorBegin(const Request& request, HandlerContext& context) {
  Services& s = Svc(context);
  const Caller caller = AuthenticateForEnrolment(request, context);
  if (caller.user.totp_enabled) ThrowAlreadyEnabled();
  const totp::Secret secret = totp::NewSecret();
  storage::TotpRecord pending;
  pending.user_id = caller.user.id;
  pending.secret.assign(secret.begin(), secret.end());
  WipeOnExit wipe{pending.secret};
  pending.created_at = s.now();
  if (auto r = s.store->BeginTotp(pending, Event(context, caller.user, "2fa.enrol")); !r) {
    if (r.error() == errc::already_exists) ThrowAlreadyEnabled();  // Confirmed meanwhile.
    Must(std::move(r));
  }
  std::string key = totp::Base32(pending.secret);
  std::string uri = totp::OtpauthUri(caller.user.email, pending.secret);
  boost::json::object out;
  out["state"] = "pending";
  out["secret"] = key;
  out["otpauth_uri"] = uri;
  out["algorithm"] = "SHA1";
  out["digits"] = totp::kDigits;
  out["period"] = totp::kPeriodSeconds;
  totp::Wipe(key);
  totp::Wipe(uri);
  // The response body holds the secret until it is sent; that copy is the transport's.
  Response response = Json(request, http::status::ok, out);
  for (const char* field : {"secret", "otpauth_uri"}) {
    auto& text = out[field].get_string();
    crypto::Wipe(std::span(reinterpret_cast<std::uint8_t*>(text.data()), text.size()));
  }
  return response;
}

Response TwoFactorConfirm(const Request& request, HandlerContext& context) {
  Services& s = Svc(context);
  const Caller caller = AuthenticateForEnrolment(request, context);
  const auto body = ParseObject(request);
  const std::string code = GetString(body, "totp", 16);
  if (!totp::IsWellFormedCode(code)) {
    ThrowInvalid("field 'totp' must be the 6 digits the authenticator app shows");
  }
  auto found = s.store->FindTotp(caller.user.id);
  if (!found) {
    if (found.error() == errc::not_found) {
      throw ApiError(http::status::conflict, "2fa_not_started",
                     "no enrolment to confirm: begin one first");
    }
    Must(std::move(found));
  }
  WipeOnExit wipe{found->secret};
  if (found->confirmed) ThrowAlreadyEnabled();
  const auto step = totp::MatchCode(found->secret, code, UnixSeconds(s));
  if (!step) {
    Audit(context, caller.user.id, "2fa.enable", caller.user.id, "failure",
          DetailJson({{"reason", "invalid_totp"}}));
    ThrowInvalidTotp();
  }
  NewCodes codes;
  MakeRecoveryCodes(caller.user.id, codes);
  storage::TotpConfirmation confirmation;
  confirmation.user_id = caller.user.id;
  confirmation.step = *step;
  confirmation.recovery_code_digests = codes.digests;
  confirmation.now = s.now();
  confirmation.audit = Event(context, caller.user, "2fa.enable");
  if (auto r = s.store->ConfirmTotp(confirmation); !r) {
    if (r.error() == errc::conflict) ThrowAlreadyEnabled();
    if (r.error() == errc::not_found) {  // Restarted or removed meanwhile.
      throw ApiError(http::status::conflict, "2fa_not_started",
                     "no enrolment to confirm: begin one first");
    }
    Must(std::move(r));
  }
  boost::json::object out;
  out["state"] = "enabled";
  out["recovery_codes"] = CodesJson(codes);
  return Json(request, http::status::ok, out);
}

Response TwoFactorDisable(const Request& request, HandlerContext& context) {
  Services& s = Svc(context);
  // Not held by the enrolment requirement: a user without 2FA learns it is not on (409).
  const Caller caller = AuthenticateForEnrolment(request, context);
  // A stolen session must not be enough to turn the second factor off.
  const std::string used = ProveSecondFactor(request, context, caller, "2fa.disable");
  auto r = s.store->DeleteTotp(caller.user.id,
                               Event(context, caller.user, "2fa.disable",
                                     DetailJson({{"second_factor", boost::json::string(used)}})));
  if (!r && r.error() == errc::not_found) ThrowNotEnabled();
  Must(std::move(r));
  boost::json::object out;
  out["state"] = "disabled";
  out["required"] = TwoFactorRequired(s);
  return Json(request, http::status::ok, out);
}

Response TwoFactorRecoveryCodes(const Request& request, HandlerContext& context) {
  Services& s = Svc(context);
  const Caller caller = AuthenticateForEnrolment(request, context);  // As for disable.
  // New codes are as good as the second factor itself: the same proof, the same backoff.
  const std::string used = ProveSecondFactor(request, context, caller, "2fa.recovery_codes");
  NewCodes codes;
  MakeRecoveryCodes(caller.user.id, codes);
  auto r =
      s.store->ReplaceTotpRecoveryCodes(caller.user.id, codes.digests,
                                        Event(context, caller.user, "2fa.recovery_codes",
                                              DetailJson({{"second_factor", boost::json::string(used)}})));
  if (!r && r.error() == errc::not_found) ThrowNotEnabled();
  Must(std::move(r));
  boost::json::object out;
  out["recovery_codes"] = CodesJson(codes);
  return Json(request, http::status::ok, out);
}

}  // namespace strongroom::server::api
