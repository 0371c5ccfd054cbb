#include "server/router.h"

#include "strongroom/version.h"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <array>
#include <string>

namespace strongroom::server {
namespace {

using HandlerFn = Response (*)(const Request&, HandlerContext&);

struct Route {
  http::verb method;
  std::string_view path;
  HandlerFn handler;
};

Response HandleHealthz(const Request& request, HandlerContext& /*context*/) {
  boost::json::object body;
  body["status"] = "ok";
  body["version"] = kVersion;
  return JsonResponse(request, http::status::ok, boost::json::serialize(body));
}

// The whole API surface. Keep sorted by path; docs/api.md documents each entry.
constexpr std::array kRoutes{
    Route{http::verb::get, "/healthz", &HandleHealthz},
};

std::string_view PathOf(std::string_view target) {
  const auto query = target.find('?');
  return query == std::string_view::npos ? target : target.substr(0, query);
}

}  // namespace

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
  for (const Route& route : kRoutes) {
    if (route.path != path) continue;
    if (route.method == request.method()) return route.handler(request, context);
    if (!allowed.empty()) allowed += ", ";
    allowed += std::string(http::to_string(route.method));
  }
  if (!allowed.empty()) {
    Response response = ErrorResponse(request, http::status::method_not_allowed,
                                      "method_not_allowed", "method not allowed on this path");
    response.set(http::field::allow, allowed);
    return response;
  }
  return ErrorResponse(request, http::status::not_found, "not_found", "no such endpoint");
}

}  // namespace strongroom::server
