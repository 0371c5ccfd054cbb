#include "server/router.h"

#include "server/api/handlers.h"
#include "server/api/json.h"
#include "server/services.h"
#include "strongroom/version.h"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <spdlog/spdlog.h>

#include <array>
#include <string>

namespace strongroom::server {
namespace {

using HandlerFn = Response (*)(const Request&, HandlerContext&);
using StreamingFn = std::unique_ptr<BodyReceiver> (*)(const Request&, HandlerContext&);

struct Route {
  http::verb method;
  std::string_view pattern;  // Segments written {name} match any one non-empty segment.
  HandlerFn handler;
};

struct StreamingRoute {
  http::verb method;
  std::string_view pattern;
  StreamingFn start;  // Throws ApiError to refuse, like a handler.
};

Response HandleHealthz(const Request& request, HandlerContext& /*context*/) {
  boost::json::object body;
  body["status"] = "ok";
  body["version"] = kVersion;
  return JsonResponse(request, http::status::ok, boost::json::serialize(body));
}

Response HandleReadyz(const Request& request, HandlerContext& context) {
  Services* s = context.services;
  if (s == nullptr || s->draining || !s->store || !s->store->Ping()) {
    return ErrorResponse(request, http::status::service_unavailable, "unavailable",
                         s != nullptr && s->draining ? "shutting down" : "database unavailable");
  }
  boost::json::object body;
  body["status"] = "ready";
  return JsonResponse(request, http::status::ok, boost::json::serialize(body));
}

Response HandleMetrics(const Request& request, HandlerContext& context) {
  Services* s = context.services;
  if (s == nullptr || !s->metrics || !s->config.metrics_enabled) {
    return ErrorResponse(request, http::status::not_found, "not_found", "no such endpoint");
  }
  Response response{http::status::ok, request.version()};
  response.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
  response.set(http::field::cache_control, "no-store");
  response.keep_alive(request.keep_alive());
  response.body() = s->metrics->Render();
  response.prepare_payload();
  return response;
}

// The whole API surface. Keep grouped as in docs/api.md, which documents each entry.
constexpr std::array kRoutes{
    Route{http::verb::get, "/healthz", &HandleHealthz},
    Route{http::verb::get, "/readyz", &HandleReadyz},
    Route{http::verb::get, "/metrics", &HandleMetrics},
    // Without a session.
    Route{http::verb::post, "/api/v1/register", &api::Register},
    Route{http::verb::post, "/api/v1/prelogin", &api::Prelogin},
    Route{http::verb::get, "/api/v1/password-policy", &api::PasswordPolicyPublic},
    Route{http::verb::post, "/api/v1/login", &api::Login},
    Route{http::verb::post, "/api/v1/recovery/start", &api::RecoveryStart},
    Route{http::verb::post, "/api/v1/recovery/complete", &api::RecoveryComplete},
    // With a session.
    Route{http::verb::post, "/api/v1/logout", &api::Logout},
    Route{http::verb::get, "/api/v1/me", &api::Me},
    Route{http::verb::get, "/api/v1/me/keys", &api::MyKeys},
    Route{http::verb::post, "/api/v1/me/password", &api::ChangePassword},
    Route{http::verb::get, "/api/v1/me/sessions", &api::MySessions},
    Route{http::verb::delete_, "/api/v1/me/sessions/{id}", &api::RevokeSession},
    Route{http::verb::post, "/api/v1/me/sessions/revoke-others", &api::RevokeOtherSessions},
    Route{http::verb::get, "/api/v1/me/logins", &api::MyLogins},
    Route{http::verb::get, "/api/v1/me/2fa", &api::TwoFactorStatus},
    Route{http::verb::post, "/api/v1/me/2fa/begin", &api::TwoFactorBegin},
    Route{http::verb::post, "/api/v1/me/2fa/confirm", &api::TwoFactorConfirm},
    Route{http::verb::post, "/api/v1/me/2fa/disable", &api::TwoFactorDisable},
    Route{http::verb::post, "/api/v1/me/2fa/recovery-codes", &api::TwoFactorRecoveryCodes},
    Route{http::verb::get, "/api/v1/users/{id}/public-key", &api::PublicKeyById},
    Route{http::verb::get, "/api/v1/public-keys", &api::PublicKeyByEmail},
    // Administrators.
    Route{http::verb::get, "/api/v1/admin/audit", &api::AdminAudit},
    Route{http::verb::get, "/api/v1/admin/logins", &api::AdminLogins},
    Route{http::verb::post, "/api/v1/admin/invitations", &api::AdminCreateInvitation},
    Route{http::verb::get, "/api/v1/admin/settings", &api::AdminGetSettings},
    Route{http::verb::put, "/api/v1/admin/settings", &api::AdminPutSetting},
    Route{http::verb::get, "/api/v1/admin/users", &api::AdminListUsers},
    Route{http::verb::get, "/api/v1/admin/users/{user}", &api::AdminGetUser},
    Route{http::verb::post, "/api/v1/admin/users/{user}/deactivate", &api::AdminDeactivateUser},
    Route{http::verb::post, "/api/v1/admin/users/{user}/reactivate", &api::AdminReactivateUser},
    Route{http::verb::put, "/api/v1/admin/users/{user}/role", &api::AdminSetUserRole},
    Route{http::verb::post, "/api/v1/admin/users/{user}/revoke-sessions",
          &api::AdminRevokeUserSessions},
    Route{http::verb::post, "/api/v1/admin/users/{user}/reset-2fa",
          &api::AdminResetUserTwoFactor},
    Route{http::verb::get, "/api/v1/admin/groups", &api::AdminListGroups},
    Route{http::verb::post, "/api/v1/admin/groups", &api::AdminCreateGroup},
    Route{http::verb::get, "/api/v1/admin/groups/{name}", &api::AdminGetGroup},
    Route{http::verb::delete_, "/api/v1/admin/groups/{name}", &api::AdminDeleteGroup},
    Route{http::verb::post, "/api/v1/admin/groups/{name}/members", &api::AdminAddGroupMember},
    Route{http::verb::delete_, "/api/v1/admin/groups/{name}/members/{user}",
          &api::AdminRemoveGroupMember},
    // Private Room (docs/private-room.md section 6).
    Route{http::verb::get, "/api/v1/room/root", &api::RoomRoot},
    Route{http::verb::post, "/api/v1/room/folders", &api::RoomCreateFolder},
    Route{http::verb::get, "/api/v1/room/folders/{id}", &api::RoomGetFolder},
    Route{http::verb::post, "/api/v1/room/folders/{id}/move", &api::RoomMoveFolder},
    Route{http::verb::delete_, "/api/v1/room/folders/{id}", &api::RoomDeleteFolder},
    Route{http::verb::post, "/api/v1/room/folders/{id}/upload", &api::RoomNotSupported},
    Route{http::verb::post, "/api/v1/room/uploads", &api::RoomStartUpload},
    Route{http::verb::get, "/api/v1/room/uploads/{id}", &api::RoomGetUpload},
    Route{http::verb::delete_, "/api/v1/room/uploads/{id}", &api::RoomCancelUpload},
    Route{http::verb::post, "/api/v1/room/uploads/{id}/complete", &api::RoomCompleteUpload},
    Route{http::verb::get, "/api/v1/room/files/{id}", &api::RoomGetFile},
    Route{http::verb::get, "/api/v1/room/files/{id}/content", &api::RoomGetContent},
    Route{http::verb::post, "/api/v1/room/files/{id}/move", &api::RoomMoveFile},
    Route{http::verb::delete_, "/api/v1/room/files/{id}", &api::RoomDeleteFile},
    Route{http::verb::post, "/api/v1/room/files/{id}/copy", &api::RoomNotSupported},
    Route{http::verb::get, "/api/v1/room/files/{id}/versions", &api::RoomNotSupported},
    Route{http::verb::post, "/api/v1/room/files/{id}/versions", &api::RoomNotSupported},
    Route{http::verb::post, "/api/v1/room/files/{id}/links", &api::RoomNotSupported},
    Route{http::verb::get, "/api/v1/room/shared", &api::RoomSharedWithMe},
    // Co-editing (docs/collab.md): a WebSocket upgrade, which server.cc takes before Dispatch;
    // a plain GET gets 426.
    Route{http::verb::get, "/api/v1/collab/{id}", &api::CollabUpgradeRequired},
};

// Routes whose request body is streamed to a BodyReceiver instead of buffered.
constexpr std::array kStreamingRoutes{
    StreamingRoute{http::verb::put, "/api/v1/room/uploads/{id}", &api::RoomUploadPiece},
};

std::string_view PathOf(std::string_view target) {
  const auto query = target.find('?');
  return query == std::string_view::npos ? target : target.substr(0, query);
}

// Whether `path` matches `pattern`; fills `params` with the {name} segments if so. Literal
// segments compare exactly (no decoding: the API's literal segments need none); a parameter
// segment must be non-empty and is passed on as is (ids are plain [a-z0-9_-]).
bool Match(std::string_view pattern, std::string_view path, std::vector<std::string>& params) {
  params.clear();
  while (true) {
    const auto pe = pattern.find('/', 1);
    const auto qe = path.find('/', 1);
    const std::string_view p = pattern.substr(0, pe);
    const std::string_view q = path.substr(0, qe);
    if (p.size() > 2 && p[1] == '{') {
      if (q.size() < 2) return false;
      params.emplace_back(q.substr(1));
    } else if (p != q) {
      return false;
    }
    if (pe == std::string_view::npos || qe == std::string_view::npos) {
      return pe == std::string_view::npos && qe == std::string_view::npos;
    }
    pattern.remove_prefix(pe);
    path.remove_prefix(qe);
  }
}

Response FromApiError(const Request& request, const api::ApiError& e) {
  Response response = ErrorResponse(request, e.status, e.code, e.what());
  if (e.retry_after_s > 0) response.set(http::field::retry_after, std::to_string(e.retry_after_s));
  return response;
}

// Per-address token bucket on the API (not on health and metrics, which monitoring polls).
bool AllowedByAddress(HandlerContext& context, std::chrono::milliseconds* retry) {
  Services* s = context.services;
  if (s == nullptr || !s->ip_limiter) return true;
  if (s->ip_limiter->Allow(context.info.remote_ip, RateLimiter::Clock::now(), retry)) return true;
  if (s->metrics) s->metrics->RateLimited("ip");
  return false;
}

}  // namespace

std::vector<std::string_view> RoutePatterns() {
  std::vector<std::string_view> out;
  auto add = [&](std::string_view pattern) {
    if (std::find(out.begin(), out.end(), pattern) == out.end()) out.push_back(pattern);
  };
  for (const Route& r : kRoutes) add(r.pattern);
  for (const StreamingRoute& r : kStreamingRoutes) add(r.pattern);
  return out;
}

std::vector<RouteEntry> Routes() {
  std::vector<RouteEntry> out;
  for (const Route& r : kRoutes) out.push_back({r.method, r.pattern});
  for (const StreamingRoute& r : kStreamingRoutes) out.push_back({r.method, r.pattern});
  return out;
}

bool IsStreamingRoute(http::verb method, std::string_view target) {
  std::vector<std::string> params;
  const std::string_view path = PathOf(target);
  return std::any_of(kStreamingRoutes.begin(), kStreamingRoutes.end(),
                     [&](const StreamingRoute& r) {
                       return r.method == method && Match(r.pattern, path, params);
                     });
}

std::unique_ptr<BodyReceiver> StartStreaming(const Request& header, HandlerContext& context,
                                             Response& response) {
  const std::string_view path = PathOf(header.target());
  const StreamingRoute* found = nullptr;
  for (const StreamingRoute& r : kStreamingRoutes) {
    if (r.method == header.method() && Match(r.pattern, path, context.params)) {
      found = &r;
      break;
    }
  }
  if (found == nullptr) {
    response = ErrorResponse(header, http::status::not_found, "not_found", "no such endpoint");
    return nullptr;
  }
  context.route = found->pattern;
  std::chrono::milliseconds retry{0};
  if (!AllowedByAddress(context, &retry)) {
    api::ApiError e(http::status::too_many_requests, "rate_limited",
                    "too many requests from this address; slow down");
    e.retry_after_s = std::max<std::int64_t>(1, (retry.count() + 999) / 1000);
    response = FromApiError(header, e);
    return nullptr;
  }
  try {
    return found->start(header, context);
  } catch (const api::ApiError& e) {
    response = FromApiError(header, e);
  } catch (const std::exception& e) {
    spdlog::error("request {} {} failed: {}", context.info.request_id, found->pattern, e.what());
    response = ErrorResponse(header, http::status::internal_server_error, "internal",
                             "internal error; the server log has details under this request id");
  }
  return nullptr;
}

Response JsonResponse(const Request& request, http::status status, std::string body) {
  Response response{status, request.version()};
  response.set(http::field::content_type, "application/json");
  response.set(http::field::cache_control, "no-store");
  response.set("X-Content-Type-Options", "nosniff");
  response.keep_alive(request.keep_alive());
  response.body() = std::move(body);
  response.prepare_payload();
  return response;
}

Response ErrorResponse(const Request& request, http::status status, std::string_view code,
                       std::string_view message) {
  boost::json::object error;
  error["code"] = code;
  error["message"] = message;
  boost::json::object body;
  body["error"] = std::move(error);
  return JsonResponse(request, status, boost::json::serialize(body));
}

Response Dispatch(const Request& request, HandlerContext& context) {
  const std::string_view path = PathOf(request.target());
  std::string allowed;
  const Route* found = nullptr;
  for (const Route& route : kRoutes) {
    if (!Match(route.pattern, path, context.params)) continue;
    if (route.method == request.method()) {
      found = &route;
      break;
    }
    if (!allowed.empty()) allowed += ", ";
    allowed += std::string(http::to_string(route.method));
  }
  for (const StreamingRoute& route : kStreamingRoutes) {
    if (found != nullptr || !Match(route.pattern, path, context.params)) continue;
    if (!allowed.empty()) allowed += ", ";
    allowed += std::string(http::to_string(route.method));
  }
  if (found == nullptr) {
    context.params.clear();
    if (!allowed.empty()) {
      Response response = ErrorResponse(request, http::status::method_not_allowed,
                                        "method_not_allowed", "method not allowed on this path");
      response.set(http::field::allow, allowed);
      return response;
    }
    return ErrorResponse(request, http::status::not_found, "not_found", "no such endpoint");
  }
  context.route = found->pattern;
  if (found->pattern.starts_with("/api/")) {
    std::chrono::milliseconds retry{0};
    if (!AllowedByAddress(context, &retry)) {
      api::ApiError e(http::status::too_many_requests, "rate_limited",
                      "too many requests from this address; slow down");
      e.retry_after_s = std::max<std::int64_t>(1, (retry.count() + 999) / 1000);
      return FromApiError(request, e);
    }
  }
  try {
    return found->handler(request, context);
  } catch (const api::ApiError& e) {
    return FromApiError(request, e);
  } catch (const std::exception& e) {
    // A bug. The message may name internals, so it goes to the log only.
    spdlog::error("request {} {} failed: {}", context.info.request_id, found->pattern, e.what());
    return ErrorResponse(request, http::status::internal_server_error, "internal",
                         "internal error; the server log has details under this request id");
  }
}

}  // namespace strongroom::server
