// HTTP/1.1 to one Strongroom server, over TCP or TLS. Blocking; one connection per request.
//
// Security rules this module enforces, so no caller can forget them:
//   - https:// verifies the server certificate (the system store, or a CA file) and that it
//     names the host (DNS name or IP address); SNI is sent.
//   - http:// is allowed only to a loopback host (localhost, 127.0.0.0/8, ::1), and only
//     loopback addresses are connected to: a bearer token or an auth key must never cross a
//     network in clear.
//   - Every request has a total deadline; a response header is bounded at 64 KiB and a body at
//     `max_response_body`. A server cannot hang or exhaust the client.
#pragma once

#include "strongroom/client/client_error.h"
#include "strongroom/io.h"

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace strongroom::client {

// A server base URL: "http(s)://host[:port][/path]". No user info, query or fragment.
struct ServerUrl {
  bool tls = true;
  std::string host;  // Without brackets for IPv6.
  std::uint16_t port = 0;
  std::string base_path;  // "" or "/prefix" (no trailing slash); API paths are appended.

  // Parses and normalises (lower-case scheme and host, default port, no trailing slash).
  // Kind::usage on anything malformed, and on http:// to a non-loopback host.
  [[nodiscard]] static Result<ServerUrl> Parse(std::string_view text);
  // The normalised text form, as stored in a profile.
  [[nodiscard]] std::string ToString() const;
};

// True for "localhost" (and names under ".localhost"), 127.0.0.0/8 and ::1.
[[nodiscard]] bool IsLoopbackHost(std::string_view host);

struct TransportOptions {
  std::string ca_file;  // PEM bundle of trusted CAs; empty: the system's default store.
  std::chrono::seconds timeout{30};          // Whole request: resolve to last byte.
  std::size_t max_response_body = 4u << 20;  // Larger bodies fail as Kind::network.
  std::string user_agent;                    // "strongroom/<version>".
};

enum class Method { get, post, put, del };

struct HttpResponse {
  int status = 0;
  std::string body;        // Empty when a 2xx body went to SendOptions::body_sink.
  int retry_after = -1;    // Seconds, from Retry-After when present.
  std::string etag;        // From ETag, when present.
  std::string content_range;  // From Content-Range, when present.
};

// Less common needs of one request; the defaults are a JSON API call.
struct SendOptions {
  std::string_view content_type = "application/json";  // Of a non-empty body.
  std::string_view range;                               // A Range header value, when set.
  std::string_view if_range;                            // An If-Range header value, when set.
  // When set, a 2xx response body is streamed here (any size: the bytes are not held in
  // memory); other statuses are read into HttpResponse::body as usual, bounded.
  io::Sink* body_sink = nullptr;
  // When not 0, only a response with exactly this status streams into body_sink; another 2xx
  // status returns at once with an empty body (e.g. 200, the whole file, where 206 was needed
  // to resume a download: its bytes must not be appended to the part already received).
  int body_status = 0;
  // Overrides TransportOptions::timeout for this request (large transfers); 0: no override.
  std::chrono::seconds timeout{0};
};

class HttpTransport {
 public:
  // Checks the URL and options (the CA file must load). No connection yet.
  [[nodiscard]] static Result<HttpTransport> Create(const ServerUrl& url, TransportOptions options);

  HttpTransport(HttpTransport&&) noexcept;
  HttpTransport& operator=(HttpTransport&&) noexcept;
  ~HttpTransport();

  // Sends one request. `target` is the path and query below the base URL ("/api/v1/me").
  // `bearer`, when not empty, goes in "Authorization: Bearer ...". A JSON `body` is sent with
  // Content-Type application/json. Any HTTP status is a success here; only a failed exchange
  // is an error (Kind::network).
  [[nodiscard]] Result<HttpResponse> Send(Method method, std::string_view target,
                                          std::string_view body, std::string_view bearer,
                                          const SendOptions& options = {});

  [[nodiscard]] const ServerUrl& url() const;

 private:
  struct Impl;
  explicit HttpTransport(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace strongroom::client
