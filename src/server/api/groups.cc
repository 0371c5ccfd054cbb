// Groups of users, managed by administrators (owner or admin): create, list, show members,
// add and remove members, delete. docs/api.md, "Admin endpoints: groups".
//
// Names are 1 to 64 bytes of UTF-8 without control characters or surrounding spaces, unique
// regardless of ASCII case, and name a group in paths (percent-encoded). A group is found by
// its name in any case; audit entries and answers use the name as it was created.
#include "server/api/handlers.h"
#include "server/api/json.h"
#include "server/services.h"

#include <boost/json/array.hpp>

namespace strongroom::server::api {
namespace {

constexpr std::size_t kMaxGroupName = 64;

bool IsValidGroupName(std::string_view name) {
  return name.size() <= kMaxGroupName && IsValidDisplayName(name) && name.front() != ' ' &&
         name.back() != ' ';
}

[[noreturn]] void NoSuchGroup() {
  throw ApiError(http::status::not_found, "not_found", "no such group");
}

boost::json::object GroupJson(const storage::GroupRecord& g) {
  boost::json::object o;
  o["name"] = g.name;
  o["members"] = g.members;
  o["created_at"] = FormatTime(g.created_at);
  o["created_by"] = g.created_by;
  return o;
}

storage::GroupRecord FindGroupOrThrow(Services& s, std::string_view name) {
  auto group = s.store->FindGroup(name);
  if (!group) {
    if (group.error() == errc::not_found) NoSuchGroup();
    Must(std::move(group));
  }
  return std::move(*group);
}

// The group a path names ({name}, the first route parameter), as stored.
storage::GroupRecord GroupOf(Services& s, const HandlerContext& context) {
  const std::string name = PathParam(context, 0);
  if (!IsValidGroupName(name)) NoSuchGroup();  // Could not have been created.
  return FindGroupOrThrow(s, name);
}

Response GroupAnswer(const Request& request, Services& s, const std::string& name) {
  boost::json::object out;
  out["group"] = GroupJson(FindGroupOrThrow(s, name));
  return Json(request, http::status::ok, out);
}

}  // namespace

Response AdminListGroups(const Request& request, HandlerContext& context) {
  Services& s = Svc(context);
  (void)AuthenticateAdmin(request, context);
  const storage::PageQuery page = PageQueryParams(QueryParams(request));
  boost::json::array groups;
  for (const auto& g : Must(s.store->ListGroups(page))) groups.push_back(GroupJson(g));
  boost::json::object out;
  out["groups"] = std::move(groups);
  return Json(request, http::status::ok, out);
}

Response AdminCreateGroup(const Request& request, HandlerContext& context) {
  Services& s = Svc(context);
  const Caller caller = AuthenticateAdmin(request, context);
  const auto body = ParseObject(request);
  const std::string name = GetString(body, "name", kMaxGroupName);
  if (!IsValidGroupName(name)) {
    ThrowInvalid(
        "field 'name' must be 1 to 64 bytes of text without control characters or surrounding "
        "spaces");
  }
  storage::GroupRecord group;
  group.name = name;
  group.created_by = caller.user.id;
  group.created_at = s.now();
  if (auto r =
          s.store->CreateGroup(group, RequestAudit(context, caller.user.id, "group.create", name));
      !r) {
    if (r.error() == errc::already_exists) {
      throw ApiError(http::status::conflict, "group_exists",
                     "a group with this name already exists (names ignore case)");
    }
    Must(std::move(r));
  }
  boost::json::object out;
  out["group"] = GroupJson(group);
  return Json(request, http::status::created, out);
}

Response AdminGetGroup(const Request& request, HandlerContext& context) {
  Services& s = Svc(context);
  (void)AuthenticateAdmin(request, context);
  const storage::GroupRecord group = GroupOf(s, context);
  const storage::PageQuery page = PageQueryParams(QueryParams(request));
  auto members = s.store->ListGroupMembers(group.name, page);
  if (!members && members.error() == errc::not_found) NoSuchGroup();  // Deleted meanwhile.
  boost::json::array list;
  for (const auto& u : Must(std::move(members))) list.push_back(AdminUserJson(u));
  boost::json::object out;
  out["group"] = GroupJson(group);
  out["members"] = std::move(list);
  return Json(request, http::status::ok, out);
}

Response AdminDeleteGroup(const Request& request, HandlerContext& context) {
  Services& s = Svc(context);
  const Caller caller = AuthenticateAdmin(request, context);
  const storage::GroupRecord group = GroupOf(s, context);
  if (auto r = s.store->DeleteGroup(
          group.name, RequestAudit(context, caller.user.id, "group.delete", group.name,
                                   DetailJson({{"members", group.members}})));
      !r) {
    if (r.error() == errc::not_found) NoSuchGroup();
    Must(std::move(r));
  }
  boost::json::object out;
  out["status"] = "ok";
  return Json(request, http::status::ok, out);
}

Response AdminAddGroupMember(const Request& request, HandlerContext& context) {
  Services& s = Svc(context);
  const Caller caller = AuthenticateAdmin(request, context);
  const storage::GroupRecord group = GroupOf(s, context);
  const auto body = ParseObject(request);
  const storage::UserRecord user = FindUserByRef(s, GetString(body, "user", 254));
  if (auto r = s.store->AddGroupMember(
          group.name, user.id,
          RequestAudit(context, caller.user.id, "group.add", group.name,
                       DetailJson({{"user", boost::json::string(user.id)}})));
      !r) {
    if (r.error() == errc::already_exists) {
      throw ApiError(http::status::conflict, "already_member", "the user is already in the group");
    }
    if (r.error() == errc::not_found) NoSuchGroup();  // Deleted meanwhile.
    Must(std::move(r));
  }
  return GroupAnswer(request, s, group.name);
}

Response AdminRemoveGroupMember(const Request& request, HandlerContext& context) {
  Services& s = Svc(context);
  const Caller caller = AuthenticateAdmin(request, context);
  const storage::GroupRecord group = GroupOf(s, context);
  const storage::UserRecord user = FindUserByRef(s, PathParam(context, 1));
  if (auto r = s.store->RemoveGroupMember(
          group.name, user.id,
          RequestAudit(context, caller.user.id, "group.remove", group.name,
                       DetailJson({{"user", boost::json::string(user.id)}})));
      !r) {
    if (r.error() == errc::not_found) {
      throw ApiError(http::status::not_found, "not_found", "the user is not in the group");
    }
    Must(std::move(r));
  }
  return GroupAnswer(request, s, group.name);
}

}  // namespace strongroom::server::api
