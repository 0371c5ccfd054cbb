// Maps (method, path) to a handler. Internal header.
//
// Routes live in one constant table (router.cc) so the whole API surface can be read in one
// place. A path segment written `{name}` matches any one non-empty segment and is handed to
// the handler in HandlerContext::params, in order. A path that exists with another method
// answers 405 with an Allow header; an unknown path answers 404. Both use the JSON error
// shape documented in docs/api.md.
#pragma once

#include "server/http_types.h"
#include "strongroom/io.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace strongroom::server {

struct Services;  // server/services.h

// What the transport knows about a request, filled in by server.cc before Dispatch.
struct RequestInfo {
  std::string request_id;  // Echoed as X-Request-Id and in every log line of the request.
  std::string remote_ip;   // The peer address of the connection (no proxy headers trusted).
  std::string user_agent;  // Truncated to 256 bytes.
  bool tls = false;
};

// Everything a handler may use besides the request.
struct HandlerContext {
  Services* services = nullptr;  // Null in tests of the bare transport: API routes answer 503.
  RequestInfo info;
  // Filled by Dispatch:
  std::string_view route;           // The matched route pattern ("" when none), a metrics label.
  std::vector<std::string> params;  // Values of the route's {name} segments, in order.
  std::string user_id;              // Set once a handler authenticated the request.
  // Set by a handler whose response body is too large to hold in memory (a download): the
  // transport sends the response's header as is (with its Content-Length) and then streams
  // exactly that many bytes from here.
  std::unique_ptr<io::Source> response_body;
};

// A request body streamed to its handler piece by piece rather than buffered (uploads of
// any size, with memory independent of it). The transport reads the body under its timeouts
// and hands over each piece as it arrives.
class BodyReceiver {
 public:
  virtual ~BodyReceiver() = default;
  // The next piece of the body, in order. A response returned here ends the request early
  // (the rest of the body is not read, and the connection closes after the answer).
  [[nodiscard]] virtual std::optional<Response> Write(std::span<const std::uint8_t> piece) = 0;
  // After the last piece. Not called if the connection broke first: the receiver is then
  // destroyed, and keeps whatever it stored (so the client can resume).
  [[nodiscard]] virtual Response Finish() = 0;
};

// Whether the body of a request with this method and target is streamed (see BodyReceiver);
// decided from the header alone, before the body is read.
[[nodiscard]] bool IsStreamingRoute(http::verb method, std::string_view target);

// For a streaming route: checks the request from its header (authentication, rate limits,
// the handler's own checks) and returns a receiver for the body, or nullptr with `response`
// set to the answer to send at once. `header` has an empty body.
[[nodiscard]] std::unique_ptr<BodyReceiver> StartStreaming(const Request& header,
                                                           HandlerContext& context,
                                                           Response& response);

// Builds the response for one request. Never throws for bad input: it answers 4xx.
[[nodiscard]] Response Dispatch(const Request& request, HandlerContext& context);

// Every route pattern in the table, for metrics (so label sets are fixed and bounded).
[[nodiscard]] std::vector<std::string_view> RoutePatterns();

// Every (method, pattern) the server answers, streaming routes included, in table order: the
// whole API surface, for tests that must cover all of it (the admin role matrix).
struct RouteEntry {
  http::verb method;
  std::string_view pattern;
};
[[nodiscard]] std::vector<RouteEntry> Routes();

// A JSON error response: {"error": {"code": code, "message": message}}.
[[nodiscard]] Response ErrorResponse(const Request& request, http::status status,
                                     std::string_view code, std::string_view message);

// A JSON response with the given already-serialized body.
[[nodiscard]] Response JsonResponse(const Request& request, http::status status, std::string body);

}  // namespace strongroom::server
