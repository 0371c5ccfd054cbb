// Maps (method, path) to a handler. Internal header.
//
// Routes live in one constant table (router.cc) so the whole API surface can be read in one
// place. A path that exists with another method answers 405 with an Allow header; an unknown
// path answers 404. Both use the JSON error shape documented in docs/api.md.
#pragma once

#include "server/http_types.h"

#include <string_view>

namespace strongroom::server {

// Everything a handler may use besides the request. Grows as services are added.
struct HandlerContext {};

// Builds the response for one request. Never throws for bad input: it answers 4xx.
[[nodiscard]] Response Dispatch(const Request& request, HandlerContext& context);

// A JSON error response: {"error": {"code": code, "message": message}}.
[[nodiscard]] Response ErrorResponse(const Request& request, http::status status,
                                     std::string_view code, std::string_view message);

// A JSON response with the given already-serialized body.
[[nodiscard]] Response JsonResponse(const Request& request, http::status status, std::string body);

}  // namespace strongroom::server
