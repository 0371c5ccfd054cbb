// Administration of accounts: listing users, deactivating and reactivating them, changing
// roles, revoking all sessions of a user. docs/api.md, "Admin endpoints: users".
//
// Who may change whose account (deactivate, reactivate, revoke sessions):
//   * the owner: anyone's, but the owner's own account only as far as it stays the portal's
//     one active owner (deactivating it is 409 last_owner);
//   * an admin: users' only — never the owner's or an admin's, its own included (403).
// Roles: only the owner makes or unmakes admins; the owner's role never changes (409
// last_owner for the owner, 403 for anyone else); nobody becomes owner by assignment.
//
// Each change is applied by one MetadataStore::ChangeUserAccess call with the target's role
// as seen by the permission check, so a role changed in between is refused (409 conflict)
// rather than acted on under a stale decision. Refusals of a signed-in admin are audited as
// "denied"; every change is audited in the same transaction as the change itself.
#include "server/api/handlers.h"
#include "server/api/json.h"
#include "server/services.h"

#include <boost/json/array.hpp>

namespace strongroom::server::api {
namespace {

using storage::Role;

constexpr std::size_t kMaxRoleText = 16;

[[noreturn]] void NoSuchUser() {
  throw ApiError(http::status::not_found, "not_found", "no such user");
}

storage::UserSummary SummaryOf(Services& s, const storage::UserRecord& u) {
  return storage::UserSummary{u.id,
                              u.email,
                              u.display_name,
                              u.role,
                              u.active,
                              u.created_at,
                              u.updated_at,
                              Must(s.store->ListUserGroups(u.id)),
                              u.totp_enabled};
}

boost::json::object SessionJson(const storage::SessionRecord& s) {
  boost::json::object o;
  o["id"] = s.id;
  o["created_at"] = FormatTime(s.created_at);
  o["last_seen_at"] = FormatTime(s.last_seen_at);
  o["expires_at"] = FormatTime(s.expires_at);
  o["ip"] = s.ip;
  o["user_agent"] = s.user_agent;
  return o;
}

// A refusal of a signed-in administrator: recorded (who tried what on whom), then answered.
[[noreturn]] void Refuse(HandlerContext& context, const Caller& caller, const std::string& action,
                         const storage::UserRecord& target, http::status status,
                         const std::string& code, const std::string& message) {
  Audit(context, caller.user.id, action, target.id, "denied",
        DetailJson({{"reason", boost::json::string(code)}}));
  throw ApiError(status, code, message);
}

// 403 unless `caller` may change `target`'s account (see the top of this file).
void RequireMayManage(HandlerContext& context, const Caller& caller,
                      const storage::UserRecord& target, const std::string& action) {
  if (caller.user.role == Role::owner || target.role == Role::user) return;
  Refuse(context, caller, action, target, http::status::forbidden, "forbidden",
         target.role == Role::owner ? "an admin may not change the owner's account"
                                    : "only the owner may change an admin's account");
}

[[noreturn]] void OwnerStays(HandlerContext& context, const Caller& caller,
                             const std::string& action, const storage::UserRecord& target,
                             const std::string& what) {
  Refuse(context, caller, action, target, http::status::conflict, "last_owner",
         what + ": the portal must always have its one active owner");
}

// Applies the change; returns how many sessions it removed.
std::int64_t Apply(Services& s, const storage::AccessChange& change) {
  auto r = s.store->ChangeUserAccess(change);
  if (!r) {
    if (r.error() == errc::not_found) NoSuchUser();
    if (r.error() == errc::conflict) {
      throw ApiError(http::status::conflict, "conflict",
                     "the account changed meanwhile; look at it again and retry");
    }
    Must(std::move(r));
  }
  return *r;
}

storage::AccessChange ChangeOf(HandlerContext& context, const Caller& caller,
                               const storage::UserRecord& target, std::string action,
                               std::string detail = "") {
  storage::AccessChange change;
  change.user_id = target.id;
  change.expected_role = target.role;
  change.audit =
      RequestAudit(context, caller.user.id, std::move(action), target.id, std::move(detail));
  change.now = change.audit.time;
  return change;
}

// The target of a request on /admin/users/{user}/...: the caller is an administrator, and
// the user exists.
struct Target {
  Caller caller;
  storage::UserRecord user;
};

Target TargetOf(const Request& request, HandlerContext& context) {
  Services& s = Svc(context);
  Caller caller = AuthenticateAdmin(request, context);
  storage::UserRecord user = FindUserByRef(s, PathParam(context, 0));
  return Target{std::move(caller), std::move(user)};
}

}  // namespace

// --- shared with groups.cc (handlers.h) ------------------------------------------------------

storage::UserRecord FindUserByRef(Services& s, std::string_view ref) {
  result<storage::UserRecord> found = errc::not_found;
  if (ref.find('@') != std::string_view::npos) {
    std::string email;
    try {
      email = NormalizeEmail(ref);
    } catch (const ApiError&) {
      NoSuchUser();  // Not an email anyone could have registered with.
    }
    found = s.store->FindUserByEmail(email);
  } else {
    if (!IsValidUserIdText(ref)) NoSuchUser();
    found = s.store->FindUserById(ref);
  }
  if (!found) {
    if (found.error() == errc::not_found) NoSuchUser();
    Must(std::move(found));
  }
  return std::move(*found);
}

std::string PathParam(const HandlerContext& context, std::size_t index) {
  auto decoded = DecodePathSegment(context.params.at(index));
  if (!decoded) throw ApiError(http::status::not_found, "not_found", "nothing by that name");
  return std::move(*decoded);
}

boost::json::object AdminUserJson(const storage::UserSummary& user) {
  boost::json::object o;
  o["id"] = user.id;
  o["email"] = user.email;
  o["display_name"] = user.display_name;
  o["role"] = storage::RoleName(user.role);
  o["active"] = user.active;
  o["created_at"] = FormatTime(user.created_at);
  o["updated_at"] = FormatTime(user.updated_at);
  boost::json::array groups;
  for (const auto& g : user.groups) groups.emplace_back(g);
  o["groups"] = std::move(groups);
  o["two_factor"] = user.two_factor;
  return o;
}

storage::AuditEvent RequestAudit(HandlerContext& context, std::string actor, std::string action,
                                 std::string target, std::string detail) {
  Services& s = Svc(context);
  storage::AuditEvent e;
  e.time = s.now();
  e.actor = std::move(actor);
  e.action = std::move(action);
  e.target = std::move(target);
  e.ip = context.info.remote_ip;
  e.result = "success";
  e.detail = std::move(detail);
  return e;
}

// --- endpoints ------------------------------------------------------------------------------

Response AdminListUsers(const Request& request, HandlerContext& context) {
  Services& s = Svc(context);
  (void)AuthenticateAdmin(request, context);
  const storage::PageQuery page = PageQueryParams(QueryParams(request));
  boost::json::array users;
  for (const auto& u : Must(s.store->ListUsers(page))) users.push_back(AdminUserJson(u));
  boost::json::object out;
  out["users"] = std::move(users);
  return Json(request, http::status::ok, out);
}

Response AdminGetUser(const Request& request, HandlerContext& context) {
  Services& s = Svc(context);
  const Target t = TargetOf(request, context);
  boost::json::array sessions;
  for (const auto& session : Must(s.store->ListSessions(t.user.id, s.now()))) {
    sessions.push_back(SessionJson(session));
  }
  boost::json::object out;
  out["user"] = AdminUserJson(SummaryOf(s, t.user));
  out["sessions"] = std::move(sessions);
  return Json(request, http::status::ok, out);
}

Response AdminDeactivateUser(const Request& request, HandlerContext& context) {
  Services& s = Svc(context);
  Target t = TargetOf(request, context);
  const std::string action = "user.deactivate";
  RequireMayManage(context, t.caller, t.user, action);
  if (t.user.role == Role::owner) {
    OwnerStays(context, t.caller, action, t.user, "the owner cannot be deactivated");
  }
  storage::AccessChange change = ChangeOf(context, t.caller, t.user, action);
  change.active = false;
  const std::int64_t revoked = Apply(s, change);
  if (t.user.active) t.user.updated_at = change.now;  // As the store does: only on a change.
  t.user.active = false;
  boost::json::object out;
  out["user"] = AdminUserJson(SummaryOf(s, t.user));
  out["revoked_sessions"] = revoked;
  return Json(request, http::status::ok, out);
}

Response AdminReactivateUser(const Request& request, HandlerContext& context) {
  Services& s = Svc(context);
  Target t = TargetOf(request, context);
  const std::string action = "user.reactivate";
  RequireMayManage(context, t.caller, t.user, action);
  storage::AccessChange change = ChangeOf(context, t.caller, t.user, action);
  change.active = true;
  (void)Apply(s, change);
  if (!t.user.active) t.user.updated_at = change.now;
  t.user.active = true;
  boost::json::object out;
  out["user"] = AdminUserJson(SummaryOf(s, t.user));
  return Json(request, http::status::ok, out);
}

Response AdminSetUserRole(const Request& request, HandlerContext& context) {
  Services& s = Svc(context);
  Target t = TargetOf(request, context);
  const std::string action = "user.role";
  if (t.caller.user.role != Role::owner) {
    Refuse(context, t.caller, action, t.user, http::status::forbidden, "forbidden",
           "only the owner may make or unmake admins");
  }
  const auto body = ParseObject(request);
  const auto role = storage::ParseRole(GetString(body, "role", kMaxRoleText));
  if (!role || *role == Role::owner) {
    ThrowInvalid("field 'role' must be admin or user (the portal has exactly one owner)");
  }
  if (t.user.role == Role::owner) {
    OwnerStays(context, t.caller, action, t.user, "the owner's role cannot change");
  }
  storage::AccessChange change =
      ChangeOf(context, t.caller, t.user, action,
               DetailJson({{"from", boost::json::string(storage::RoleName(t.user.role))},
                           {"to", boost::json::string(storage::RoleName(*role))}}));
  change.role = *role;
  (void)Apply(s, change);
  if (t.user.role != *role) t.user.updated_at = change.now;
  t.user.role = *role;
  boost::json::object out;
  out["user"] = AdminUserJson(SummaryOf(s, t.user));
  return Json(request, http::status::ok, out);
}

// For a user who lost both the authenticator and the recovery codes. Never one's own: that
// would let a stolen session turn the second factor off without a code (2fa/disable asks for
// one). The user's sessions stay (they passed the second factor when made); with
// auth.require_2fa on, the next sign-in must enrol again.
Response AdminResetUserTwoFactor(const Request& request, HandlerContext& context) {
  Services& s = Svc(context);
  Target t = TargetOf(request, context);
  const std::string action = "user.2fa_reset";
  if (t.user.id == t.caller.user.id) {
    Refuse(context, t.caller, action, t.user, http::status::forbidden, "forbidden",
           "your own two-factor authentication is turned off with a code: strongroom 2fa disable");
  }
  RequireMayManage(context, t.caller, t.user, action);
  auto r = s.store->DeleteTotp(t.user.id, RequestAudit(context, t.caller.user.id, action, t.user.id));
  if (!r && r.error() == errc::not_found) {
    throw ApiError(http::status::conflict, "2fa_not_enabled",
                   "this user has not enrolled in two-factor authentication");
  }
  Must(std::move(r));
  t.user.totp_enabled = false;
  boost::json::object out;
  out["user"] = AdminUserJson(SummaryOf(s, t.user));
  return Json(request, http::status::ok, out);
}

Response AdminRevokeUserSessions(const Request& request, HandlerContext& context) {
  Services& s = Svc(context);
  const Target t = TargetOf(request, context);
  const std::string action = "user.sessions_revoke";
  RequireMayManage(context, t.caller, t.user, action);
  storage::AccessChange change = ChangeOf(context, t.caller, t.user, action);
  change.revoke_sessions = true;
  boost::json::object out;
  out["revoked_sessions"] = Apply(s, change);
  return Json(request, http::status::ok, out);
}

}  // namespace strongroom::server::api
