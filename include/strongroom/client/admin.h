// Administration from the client's side (docs/api.md, "Admin endpoints"): the portal's users
// (list, show, deactivate, reactivate, role, revoke sessions), groups of users, and the
// portal-wide audit trail and login history.
//
// Every call needs a signed-in owner or admin; the server answers others 403 `forbidden`
// (Kind::server), and decides every rule of who may change whom (the client checks nothing
// and learns the rules from the answers). There is no cryptography here: administrators
// manage accounts, never keys or documents.
//
// Users are named by email (anything with '@') or by user id, as the server accepts; groups by
// name, in any case. Answers are typed for the CLI's tables and carry the server's JSON as
// sent (`raw`) for --json. A listing that the server pages (users, groups, a group's members)
// is fetched whole, page after page. An answer that is not the documented shape is
// Kind::network ("unexpected response").
#pragma once

#include "strongroom/client/api_client.h"

#include <boost/json/object.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace strongroom::client {

struct AdminUser {
  std::string id;
  std::string email;
  std::string display_name;
  std::string role;  // "owner", "admin" or "user".
  bool active = true;
  std::string created_at;
  std::string updated_at;
  std::vector<std::string> groups;  // Names, sorted.
  bool two_factor = false;          // Two-factor sign-in is on.
};

struct AdminUserList {
  std::vector<AdminUser> users;  // Sorted by email.
  boost::json::object raw;       // {"users": [...]} with every page.
};

struct AdminUserDetail {
  AdminUser user;
  std::vector<Session> sessions;  // Unexpired, newest first (`current` is always false).
  boost::json::object raw;
};

// The answer to a change of one account.
struct AdminUserChange {
  AdminUser user;                     // As it is after the change (unset for revoke-sessions).
  std::int64_t revoked_sessions = 0;  // Sessions the change ended.
  boost::json::object raw;
};

struct AdminGroup {
  std::string name;  // As created.
  std::int64_t members = 0;
  std::string created_at;
  std::string created_by;  // A user id.
};

struct AdminGroupList {
  std::vector<AdminGroup> groups;  // Sorted by name, ignoring case.
  boost::json::object raw;         // {"groups": [...]} with every page.
};

struct AdminGroupDetail {
  AdminGroup group;
  std::vector<AdminUser> members;  // Sorted by email; empty after create, add and remove.
  boost::json::object raw;         // For show: {"group", "members"} with every page.
};

struct AuditRecord {
  std::int64_t id = 0;
  std::string time;
  std::string actor;
  std::string action;
  std::string target;
  std::string ip;
  std::string result;  // "success", "failure" or "denied".
  std::string detail;  // The detail object as compact JSON text.
};

struct AuditList {
  std::vector<AuditRecord> events;  // Newest first.
  boost::json::object raw;
};

// Filters of the two logs; empty strings and 0 do not filter. Times are RFC 3339 UTC
// ("2026-11-23T10:15:00Z"), passed to the server as given.
struct AuditFilter {
  std::string from;
  std::string to;
  std::string actor;  // A user id, "system" or "anonymous".
  std::string action;
  int limit = 0;  // 1..1000; 0: the server's default (100).
};

struct LoginFilter {
  std::string from;
  std::string to;
  std::string user_id;
  std::string ip;
  int limit = 0;
};

class AdminClient {
 public:
  // `api` must have a session and outlive this object.
  explicit AdminClient(ApiClient& api) : api_(api) {}

  [[nodiscard]] Result<AdminUserList> ListUsers();
  [[nodiscard]] Result<AdminUserDetail> GetUser(std::string_view user);
  [[nodiscard]] Result<AdminUserChange> Deactivate(std::string_view user);
  [[nodiscard]] Result<AdminUserChange> Reactivate(std::string_view user);
  // `role`: "admin" or "user".
  [[nodiscard]] Result<AdminUserChange> SetRole(std::string_view user, std::string_view role);
  [[nodiscard]] Result<AdminUserChange> RevokeSessions(std::string_view user);
  // Removes the user's two-factor enrolment (never one's own: `strongroom 2fa disable`).
  [[nodiscard]] Result<AdminUserChange> ResetTwoFactor(std::string_view user);

  [[nodiscard]] Result<AdminGroupList> ListGroups();
  [[nodiscard]] Result<AdminGroupDetail> CreateGroup(std::string_view name);
  [[nodiscard]] Result<AdminGroupDetail> GetGroup(std::string_view name);
  [[nodiscard]] Result<boost::json::object> DeleteGroup(std::string_view name);
  [[nodiscard]] Result<AdminGroupDetail> AddMember(std::string_view group, std::string_view user);
  [[nodiscard]] Result<AdminGroupDetail> RemoveMember(std::string_view group,
                                                      std::string_view user);

  // The portal settings, every key with its value as the server stores it (docs/api.md,
  // "Portal settings"); and one change, answered with every setting after it.
  [[nodiscard]] Result<boost::json::object> Settings();
  [[nodiscard]] Result<boost::json::object> SetSetting(std::string_view key,
                                                       const boost::json::value& value);

  [[nodiscard]] Result<AuditList> Audit(const AuditFilter& filter);
  [[nodiscard]] Result<LoginList> Logins(const LoginFilter& filter);

 private:
  ApiClient& api_;
};

}  // namespace strongroom::client
