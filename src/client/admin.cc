#include "strongroom/client/admin.h"

#include "client/json_reader.h"

#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>

namespace strongroom::client {
namespace {

namespace json = boost::json;

constexpr int kPageSize = 1000;  // The server's largest page.

using detail::Unexpected;
using Fields = detail::JsonReader;

AdminUser ReadUser(Fields& f) {
  AdminUser u{.id = f.String("id"),
              .email = f.String("email"),
              .display_name = f.OptionalString("display_name"),
              .role = f.String("role"),
              .active = f.Bool("active"),
              .created_at = f.OptionalString("created_at"),
              .updated_at = f.OptionalString("updated_at"),
              .groups = {},
              .two_factor = f.Bool("two_factor")};
  for (const json::value& g : f.Array("groups")) {
    if (g.is_string()) u.groups.emplace_back(g.get_string());
  }
  return u;
}

AdminUser ReadUserIn(Fields& outer, std::string_view name) {
  Fields f(outer.Object(name));
  AdminUser u = ReadUser(f);
  outer.Merge(f);
  return u;
}

AdminGroup ReadGroup(Fields& f) {
  return AdminGroup{.name = f.String("name"),
                    .members = f.Int("members"),
                    .created_at = f.OptionalString("created_at"),
                    .created_by = f.OptionalString("created_by")};
}

AdminGroup ReadGroupIn(Fields& outer) {
  Fields f(outer.Object("group"));
  AdminGroup g = ReadGroup(f);
  outer.Merge(f);
  return g;
}

std::string Query(std::vector<std::pair<std::string, std::string>> params) {
  std::string q;
  for (const auto& [key, value] : params) {
    if (value.empty()) continue;
    q += q.empty() ? '?' : '&';
    q += key + "=" + UrlEncode(value);
  }
  return q;
}

std::string UserPath(std::string_view user) {
  return "/api/v1/admin/users/" + UrlEncode(user);
}

std::string GroupPath(std::string_view group) {
  return "/api/v1/admin/groups/" + UrlEncode(group);
}

// Fetches every page of a listing sorted by a text key: `target` + "?after=K&limit=N", the
// entries in `array`, each page after the last `key` of the one before. Returns them all as
// one array; `last_page` is the last answer (for the fields beside the array).
Result<json::array> AllPages(ApiClient& api, const std::string& target, std::string_view array,
                             std::string_view key, json::object* last_page = nullptr) {
  json::array all;
  std::string after;
  for (;;) {
    auto page = api.CallJson(
        Method::get, target + Query({{"after", after}, {"limit", std::to_string(kPageSize)}}),
        nullptr);
    if (!page) return page.error();
    Fields f(*page);
    const json::array& entries = f.Array(array);
    if (!f.ok()) return f.error();
    std::string next;
    for (const json::value& v : entries) {
      const json::value* k = v.is_object() ? v.get_object().if_contains(key) : nullptr;
      if (k == nullptr || !k->is_string()) return Unexpected("field '" + std::string(key) + "'");
      next = std::string(k->get_string());
      all.push_back(v);
    }
    const bool more = entries.size() >= static_cast<std::size_t>(kPageSize);
    if (last_page != nullptr) *last_page = std::move(*page);
    if (!more) return all;
    // A server that does not move forward would keep this loop going forever.
    if (next.empty() || next == after) return Unexpected("a page that does not advance");
    after = std::move(next);
  }
}

Result<AdminUserChange> ReadChange(Result<json::object> o, bool with_user) {
  if (!o) return o.error();
  Fields f(*o);
  AdminUserChange change;
  if (with_user) change.user = ReadUserIn(f, "user");
  if (o->contains("revoked_sessions") || !with_user) {
    change.revoked_sessions = f.Int("revoked_sessions");
  }
  if (!f.ok()) return f.error();
  change.raw = std::move(*o);
  return change;
}

Result<AdminGroupDetail> ReadGroupAnswer(Result<json::object> o) {
  if (!o) return o.error();
  Fields f(*o);
  AdminGroupDetail detail;
  detail.group = ReadGroupIn(f);
  if (!f.ok()) return f.error();
  detail.raw = std::move(*o);
  return detail;
}

}  // namespace

Result<AdminUserList> AdminClient::ListUsers() {
  auto users = AllPages(api_, "/api/v1/admin/users", "users", "email");
  if (!users) return users.error();
  AdminUserList list;
  list.raw["users"] = std::move(*users);
  Fields f(list.raw);
  list.users = f.Objects<AdminUser>("users", ReadUser);
  if (!f.ok()) return f.error();
  return list;
}

Result<AdminUserDetail> AdminClient::GetUser(std::string_view user) {
  auto o = api_.CallJson(Method::get, UserPath(user), nullptr);
  if (!o) return o.error();
  Fields f(*o);
  AdminUserDetail detail;
  detail.user = ReadUserIn(f, "user");
  detail.sessions = f.Objects<Session>("sessions", [](Fields& s) {
    return Session{.id = s.String("id"),
                   .created_at = s.OptionalString("created_at"),
                   .last_seen_at = s.OptionalString("last_seen_at"),
                   .expires_at = s.OptionalString("expires_at"),
                   .ip = s.OptionalString("ip"),
                   .user_agent = s.OptionalString("user_agent")};
  });
  if (!f.ok()) return f.error();
  detail.raw = std::move(*o);
  return detail;
}

Result<AdminUserChange> AdminClient::Deactivate(std::string_view user) {
  const json::object body;
  return ReadChange(api_.CallJson(Method::post, UserPath(user) + "/deactivate", &body), true);
}

Result<AdminUserChange> AdminClient::Reactivate(std::string_view user) {
  const json::object body;
  return ReadChange(api_.CallJson(Method::post, UserPath(user) + "/reactivate", &body), true);
}

Result<AdminUserChange> AdminClient::SetRole(std::string_view user, std::string_view role) {
  const json::object body{{"role", role}};
  return ReadChange(api_.CallJson(Method::put, UserPath(user) + "/role", &body), true);
}

Result<AdminUserChange> AdminClient::RevokeSessions(std::string_view user) {
  const json::object body;
  return ReadChange(api_.CallJson(Method::post, UserPath(user) + "/revoke-sessions", &body), false);
}

Result<AdminUserChange> AdminClient::ResetTwoFactor(std::string_view user) {
  const json::object body;
  return ReadChange(api_.CallJson(Method::post, UserPath(user) + "/reset-2fa", &body), true);
}

Result<boost::json::object> AdminClient::Settings() {
  return api_.CallJson(Method::get, "/api/v1/admin/settings", nullptr);
}

Result<boost::json::object> AdminClient::SetSetting(std::string_view key,
                                                    const boost::json::value& value) {
  const json::object body{{"key", key}, {"value", value}};
  return api_.CallJson(Method::put, "/api/v1/admin/settings", &body);
}

Result<AdminGroupList> AdminClient::ListGroups() {
  auto groups = AllPages(api_, "/api/v1/admin/groups", "groups", "name");
  if (!groups) return groups.error();
  AdminGroupList list;
  list.raw["groups"] = std::move(*groups);
  Fields f(list.raw);
  list.groups = f.Objects<AdminGroup>("groups", ReadGroup);
  if (!f.ok()) return f.error();
  return list;
}

Result<AdminGroupDetail> AdminClient::CreateGroup(std::string_view name) {
  const json::object body{{"name", name}};
  return ReadGroupAnswer(api_.CallJson(Method::post, "/api/v1/admin/groups", &body));
}

Result<AdminGroupDetail> AdminClient::GetGroup(std::string_view name) {
  json::object last;
  auto members = AllPages(api_, GroupPath(name), "members", "email", &last);
  if (!members) return members.error();
  last["members"] = std::move(*members);
  auto detail = ReadGroupAnswer(std::move(last));
  if (!detail) return detail.error();
  Fields f(detail->raw);
  detail->members = f.Objects<AdminUser>("members", ReadUser);
  if (!f.ok()) return f.error();
  return detail;
}

Result<json::object> AdminClient::DeleteGroup(std::string_view name) {
  return api_.CallJson(Method::del, GroupPath(name), nullptr);
}

Result<AdminGroupDetail> AdminClient::AddMember(std::string_view group, std::string_view user) {
  const json::object body{{"user", user}};
  return ReadGroupAnswer(api_.CallJson(Method::post, GroupPath(group) + "/members", &body));
}

Result<AdminGroupDetail> AdminClient::RemoveMember(std::string_view group, std::string_view user) {
  return ReadGroupAnswer(
      api_.CallJson(Method::del, GroupPath(group) + "/members/" + UrlEncode(user), nullptr));
}

Result<AuditList> AdminClient::Audit(const AuditFilter& filter) {
  auto o =
      api_.CallJson(Method::get,
                    "/api/v1/admin/audit" +
                        Query({{"from", filter.from},
                               {"to", filter.to},
                               {"actor", filter.actor},
                               {"action", filter.action},
                               {"limit", filter.limit > 0 ? std::to_string(filter.limit) : ""}}),
                    nullptr);
  if (!o) return o.error();
  Fields f(*o);
  AuditList list;
  list.events = f.Objects<AuditRecord>("events", [](Fields& e) {
    AuditRecord a{.id = e.Int("id"),
                  .time = e.String("time"),
                  .actor = e.String("actor"),
                  .action = e.String("action"),
                  .target = e.OptionalString("target"),
                  .ip = e.OptionalString("ip"),
                  .result = e.String("result"),
                  .detail = json::serialize(e.Object("detail"))};
    return a;
  });
  if (!f.ok()) return f.error();
  list.raw = std::move(*o);
  return list;
}

Result<LoginList> AdminClient::Logins(const LoginFilter& filter) {
  auto o =
      api_.CallJson(Method::get,
                    "/api/v1/admin/logins" +
                        Query({{"from", filter.from},
                               {"to", filter.to},
                               {"user", filter.user_id},
                               {"ip", filter.ip},
                               {"limit", filter.limit > 0 ? std::to_string(filter.limit) : ""}}),
                    nullptr);
  if (!o) return o.error();
  Fields f(*o);
  LoginList list;
  list.logins = f.Objects<LoginRecord>("logins", [](Fields& e) {
    return LoginRecord{.id = e.Int("id"),
                       .time = e.String("time"),
                       .email = e.OptionalString("email"),
                       .user_id = e.OptionalString("user_id"),
                       .ip = e.OptionalString("ip"),
                       .user_agent = e.OptionalString("user_agent"),
                       .result = e.String("result"),
                       .reason = e.OptionalString("reason")};
  });
  if (!f.ok()) return f.error();
  list.raw = std::move(*o);
  return list;
}

}  // namespace strongroom::client
