// The API handlers (docs/api.md is their specification). Internal header.
//
// Every handler has the HandlerFn signature, reads only the request and the context, and
// reports client mistakes by throwing ApiError (server/api/json.h).
#pragma once

#include "server/api/json.h"
#include "server/portal_settings.h"
#include "server/router.h"
#include "strongroom/error.h"
#include "strongroom/storage/metadata_store.h"

#include <boost/json/object.hpp>

#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace strongroom::server::api {

// The services of the request; 503 unavailable when the server runs without them.
[[nodiscard]] Services& Svc(HandlerContext& context);

// Unwraps a store result whose only acceptable error is a failing database (logged, then
// 503 unavailable).
[[noreturn]] void StoreFailed(const boost::system::error_code& ec);
template <class T>
T Must(result<T> r) {
  if (!r) StoreFailed(r.error());
  return std::move(*r);
}
inline void Must(result<void> r) {
  if (!r) StoreFailed(r.error());
}

// A signed-in caller.
struct Caller {
  storage::SessionRecord session;
  storage::UserRecord user;
};

// Checks the bearer token (401 unauthenticated), the account's state (403) and its rate
// limit (429); refreshes last_seen_at at most once a minute. Sets context.user_id. Then, when
// the portal requires two-factor authentication and the caller has not enrolled, refuses
// with 403 2fa_enrolment_required: every endpoint is closed to such a session except the few
// that use AuthenticateForEnrolment.
[[nodiscard]] Caller Authenticate(const Request& request, HandlerContext& context);
// Authenticate without the two-factor requirement: only for what a user who must enrol may
// still do (logout, GET /me, and the enrolment endpoints themselves).
[[nodiscard]] Caller AuthenticateForEnrolment(const Request& request, HandlerContext& context);
// As Authenticate, and 403 forbidden unless the caller is an owner or admin.
[[nodiscard]] Caller AuthenticateAdmin(const Request& request, HandlerContext& context);

// Appends an audit event with the request's address; a failure to write it fails the
// request (503): an action whose record cannot be kept is not done silently.
void Audit(HandlerContext& context, std::string actor, std::string action, std::string target,
           std::string result, std::string detail = "");

[[nodiscard]] boost::json::object UserJson(const storage::UserRecord& user);

// --- sign-in policy shared by accounts.cc and two_factor.cc ---------------------------------

// Appends to the login history. `result` is "success", "failure" (counts towards lockout) or
// "refused" (never counts); see storage::LoginAttempt.
void RecordAttempt(HandlerContext& context, const std::string& email,
                   std::optional<std::string> user_id, std::string result, std::string reason);
// Refuses (429 locked_out, recorded as "refused", audited as `action` denied) when the email
// or the client address is in backoff (docs/api.md, "Backoff and lockout").
void EnforceBackoff(HandlerContext& context, const std::string& email,
                    const std::optional<std::string>& user_id, std::string_view action);

// The portal settings now (a snapshot: hold it for the request, not longer); 503 when the
// store cannot be read or a stored setting is unreadable.
[[nodiscard]] std::shared_ptr<const PortalSettings> CurrentSettings(Services& services);

// Refuses (403 ip_not_allowed; logged with the address, recorded as a refused sign-in, audited
// as `action` denied) when the portal's IP allow-list does not admit the client for `role`.
void EnforceIpAllowList(HandlerContext& context, const std::string& email,
                        const std::optional<std::string>& user_id, storage::Role role,
                        std::string_view action);
[[nodiscard]] ApiError IpNotAllowed(const HandlerContext& context);

// --- two_factor.cc ---------------------------------------------------------------------------

// Whether the portal setting auth.require_2fa is on (absent: off, see docs/api.md).
[[nodiscard]] bool TwoFactorRequired(Services& services);

// The second factor a request offers: a TOTP code ("totp") or a recovery code
// ("recovery_code"), at most one. Read from the body; 400 invalid_request when malformed.
struct SecondFactor {
  std::optional<std::string> totp;
  std::optional<std::string> recovery_code;  // Canonical form (totp::NormalizeRecoveryCode).
  [[nodiscard]] bool empty() const { return !totp && !recovery_code; }
};
[[nodiscard]] SecondFactor GetSecondFactor(const boost::json::object& body);

// For a user with two-factor authentication on: checks `factor` and spends it (a code's time
// step, or the recovery code). On failure records a failed sign-in attempt (it counts towards
// lockout), audits `action` as a failure, and throws 401 invalid_totp or
// invalid_recovery_code. Returns "totp" or "recovery_code". `factor` must not be empty.
std::string VerifySecondFactor(HandlerContext& context, const storage::UserRecord& user,
                               const SecondFactor& factor, std::string_view action);

Response TwoFactorStatus(const Request&, HandlerContext&);
Response TwoFactorBegin(const Request&, HandlerContext&);
Response TwoFactorConfirm(const Request&, HandlerContext&);
Response TwoFactorDisable(const Request&, HandlerContext&);
Response TwoFactorRecoveryCodes(const Request&, HandlerContext&);

// --- accounts.cc --------------------------------------------------------------------------
Response Register(const Request&, HandlerContext&);
Response Prelogin(const Request&, HandlerContext&);
Response Login(const Request&, HandlerContext&);
Response RecoveryStart(const Request&, HandlerContext&);
Response RecoveryComplete(const Request&, HandlerContext&);
Response Logout(const Request&, HandlerContext&);
Response Me(const Request&, HandlerContext&);
Response MyKeys(const Request&, HandlerContext&);
Response ChangePassword(const Request&, HandlerContext&);
Response MySessions(const Request&, HandlerContext&);
Response RevokeSession(const Request&, HandlerContext&);
Response RevokeOtherSessions(const Request&, HandlerContext&);
Response MyLogins(const Request&, HandlerContext&);
Response PublicKeyById(const Request&, HandlerContext&);
Response PublicKeyByEmail(const Request&, HandlerContext&);

// --- admin.cc -----------------------------------------------------------------------------
Response AdminAudit(const Request&, HandlerContext&);
Response AdminLogins(const Request&, HandlerContext&);
Response AdminCreateInvitation(const Request&, HandlerContext&);

// --- users.cc: administration of accounts ------------------------------------------------------
Response AdminListUsers(const Request&, HandlerContext&);
Response AdminGetUser(const Request&, HandlerContext&);
Response AdminDeactivateUser(const Request&, HandlerContext&);
Response AdminReactivateUser(const Request&, HandlerContext&);
Response AdminSetUserRole(const Request&, HandlerContext&);
Response AdminRevokeUserSessions(const Request&, HandlerContext&);
Response AdminResetUserTwoFactor(const Request&, HandlerContext&);
// Shared with groups.cc:
// The user that `ref` (an email, which contains '@', or a user id) names; 404 not_found
// when there is none, `ref` malformed included.
[[nodiscard]] storage::UserRecord FindUserByRef(Services& s, std::string_view ref);
// Route parameter `index`, percent-decoded; 404 not_found (as an unknown name would be) when
// its encoding is broken.
[[nodiscard]] std::string PathParam(const HandlerContext& context, std::size_t index);
// A user as administrators see them (docs/api.md, "Admin user").
[[nodiscard]] boost::json::object AdminUserJson(const storage::UserSummary& user);
// An audit event of this request (time, address), result "success": for store methods that
// write their event in the same transaction as their change.
[[nodiscard]] storage::AuditEvent RequestAudit(HandlerContext& context, std::string actor,
                                               std::string action, std::string target,
                                               std::string detail = "");

// --- groups.cc: groups of users --------------------------------------------------------------
Response AdminListGroups(const Request&, HandlerContext&);
Response AdminCreateGroup(const Request&, HandlerContext&);
Response AdminGetGroup(const Request&, HandlerContext&);
Response AdminDeleteGroup(const Request&, HandlerContext&);
Response AdminAddGroupMember(const Request&, HandlerContext&);
Response AdminRemoveGroupMember(const Request&, HandlerContext&);

// --- room.cc (and the Private Room's portal settings) -----------------------------------------
Response AdminGetSettings(const Request&, HandlerContext&);
Response AdminPutSetting(const Request&, HandlerContext&);
Response PasswordPolicyPublic(const Request&, HandlerContext&);
Response RoomRoot(const Request&, HandlerContext&);
Response RoomCreateFolder(const Request&, HandlerContext&);
Response RoomGetFolder(const Request&, HandlerContext&);
Response RoomMoveFolder(const Request&, HandlerContext&);
Response RoomDeleteFolder(const Request&, HandlerContext&);
Response RoomStartUpload(const Request&, HandlerContext&);
Response RoomGetUpload(const Request&, HandlerContext&);
Response RoomCancelUpload(const Request&, HandlerContext&);
std::unique_ptr<BodyReceiver> RoomUploadPiece(const Request& header, HandlerContext&);
Response RoomCompleteUpload(const Request&, HandlerContext&);
Response RoomGetFile(const Request&, HandlerContext&);
Response RoomGetContent(const Request&, HandlerContext&);
Response RoomMoveFile(const Request&, HandlerContext&);
Response RoomDeleteFile(const Request&, HandlerContext&);
Response RoomSharedWithMe(const Request&, HandlerContext&);
Response RoomNotSupported(const Request&, HandlerContext&);

// --- collab/relay.cc ------------------------------------------------------------------------
// GET /api/v1/collab/{id} without a WebSocket upgrade: 426 (after authentication).
Response CollabUpgradeRequired(const Request&, HandlerContext&);

}  // namespace strongroom::server::api
