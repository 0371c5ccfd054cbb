// Reading the append-only logs (audit trail, login history) and making invitations.
// docs/api.md, "Admin endpoints" and "GET /api/v1/me/logins".
#include "server/api/handlers.h"
#include "server/api/json.h"
#include "server/services.h"
#include "strongroom/crypto/verifier.h"

#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>
#include <spdlog/spdlog.h>

namespace strongroom::server::api {
namespace {

using Params = std::map<std::string, std::string>;

// `limit` (1..1000, default 100) and `before` (an id), shared by every paged log listing.
template <class Query>
void SetPage(const Params& p, Query& query) {
  query.limit = static_cast<std::size_t>(IntQueryParam(p, "limit", 1, 1000).value_or(100));
  query.before_id = IntQueryParam(p, "before", 1, INT64_MAX);
}

std::optional<storage::TimeMs> TimeParam(const Params& p, const std::string& name) {
  const auto it = p.find(name);
  if (it == p.end()) return std::nullopt;
  auto t = ParseTime(it->second);
  if (!t) ThrowInvalid("query parameter '" + name + "' must be an RFC 3339 UTC time");
  return t;
}

boost::json::object LoginJson(const storage::LoginAttempt& a, bool with_user) {
  boost::json::object o;
  o["id"] = a.id;
  o["time"] = FormatTime(a.time);
  o["email"] = a.email;
  if (with_user && a.user_id) o["user_id"] = *a.user_id;
  o["ip"] = a.ip;
  o["user_agent"] = a.user_agent;
  o["result"] = a.result;
  o["reason"] = a.reason;
  return o;
}

Response Logins(const Request& request, HandlerContext& context, storage::LoginQuery query,
                bool with_user) {
  Services& s = Svc(context);
  boost::json::array list;
  for (const auto& a : Must(s.store->QueryLoginAttempts(query))) {
    list.push_back(LoginJson(a, with_user));
  }
  boost::json::object out;
  out["logins"] = std::move(list);
  return Json(request, http::status::ok, out);
}

}  // namespace

Response MyLogins(const Request& request, HandlerContext& context) {
  const Caller caller = Authenticate(request, context);
  const Params p = QueryParams(request);
  storage::LoginQuery query;
  query.user_id = caller.user.id;
  SetPage(p, query);
  return Logins(request, context, query, false);
}

Response AdminLogins(const Request& request, HandlerContext& context) {
  (void)AuthenticateAdmin(request, context);
  const Params p = QueryParams(request);
  storage::LoginQuery query;
  query.from = TimeParam(p, "from");
  query.to = TimeParam(p, "to");
  query.user_id = TextQueryParam(p, "user");
  query.ip = TextQueryParam(p, "ip");
  SetPage(p, query);
  return Logins(request, context, query, true);
}

Response AdminAudit(const Request& request, HandlerContext& context) {
  Services& s = Svc(context);
  (void)AuthenticateAdmin(request, context);
  const Params p = QueryParams(request);
  storage::AuditQuery query;
  query.from = TimeParam(p, "from");
  query.to = TimeParam(p, "to");
  query.actor = TextQueryParam(p, "actor");
  query.action = TextQueryParam(p, "action");
  SetPage(p, query);
  boost::json::array list;
  for (const auto& e : Must(s.store->QueryAudit(query))) {
    boost::json::object o;
    o["id"] = e.id;
    o["time"] = FormatTime(e.time);
    o["actor"] = e.actor;
    o["action"] = e.action;
    o["target"] = e.target;
    o["ip"] = e.ip;
    o["result"] = e.result;
    boost::system::error_code ec;
    auto detail = e.detail.empty() ? boost::json::value(boost::json::object())
                                   : boost::json::parse(e.detail, ec);
    o["detail"] = ec ? boost::json::value(boost::json::object()) : detail;
    list.push_back(std::move(o));
  }
  boost::json::object out;
  out["events"] = std::move(list);
  return Json(request, http::status::ok, out);
}

Response AdminCreateInvitation(const Request& request, HandlerContext& context) {
  Services& s = Svc(context);
  const Caller caller = AuthenticateAdmin(request, context);
  const auto body = ParseObject(request);
  const std::string email = NormalizeEmail(GetString(body, "email", 254));
  const std::string role_name = GetOptionalString(body, "role", 16).value_or("user");
  const auto role = storage::ParseRole(role_name);
  if (!role || *role == storage::Role::owner) ThrowInvalid("field 'role' must be user or admin");
  if (*role == storage::Role::admin && caller.user.role != storage::Role::owner) {
    throw ApiError(http::status::forbidden, "forbidden", "only the owner may invite an admin");
  }
  storage::InvitationRecord invitation;
  const std::string token = crypto::NewToken();
  invitation.token_digest = crypto::TokenDigest(token);
  invitation.email = email;
  invitation.role = *role;
  invitation.created_by = caller.user.id;
  invitation.created_at = s.now();
  invitation.expires_at = invitation.created_at + s.config.auth.invitation_lifetime_s * 1000;
  if (!s.store->CreateInvitation(invitation)) ThrowUnavailable();
  Audit(context, caller.user.id, "invitation.create", email, "success",
        std::string(R"({"role":")") + std::string(storage::RoleName(*role)) + "\"}");
  boost::json::object out;
  out["token"] = token;
  out["email"] = email;
  out["role"] = storage::RoleName(*role);
  out["expires_at"] = FormatTime(invitation.expires_at);
  return Json(request, http::status::created, out);
}

}  // namespace strongroom::server::api
