// strongroomd's log: spdlog's default logger, writing to standard error. Internal header.
//
// Two formats ([log] format in docs/configuration.md):
//
//   text  2026-11-23T10:15:00.123Z info  [req 3f2a...] message
//   json  {"time":"2026-11-23T10:15:00.123Z","level":"info","msg":"message","request_id":"3f2a..."}
//
// One line per record; times are UTC with milliseconds. `request_id` (text: `[req ...]`)
// appears on every line written by a thread while a RequestLogScope is alive, so everything a
// handler logs can be matched with the response's X-Request-Id. The access line (LogRequest)
// adds its fields as JSON members, or as `key=value` words in text.
//
// What never goes to the log: query strings, request targets (only route patterns), header
// values other than the request id and user agent, bodies, tokens, keys.
//
// Thread-safety: ConfigureLogging once at start, before other threads log; everything else
// from any thread.
#pragma once

#include "strongroom/server/config.h"

#include <string_view>

namespace strongroom::server {

// Installs the default logger (stderr, the configured format and level). Config::log_format
// and log_level were validated by LoadConfig; an unknown format falls back to text.
void ConfigureLogging(const Config& config);

// While alive, log lines written by this thread carry `request_id`. Scopes nest (the inner
// id wins until it ends). Not movable: it must die on the thread that made it.
class RequestLogScope {
 public:
  explicit RequestLogScope(std::string_view request_id) noexcept;
  ~RequestLogScope();
  RequestLogScope(const RequestLogScope&) = delete;
  RequestLogScope& operator=(const RequestLogScope&) = delete;

 private:
  std::string_view previous_;
};

// The access log record of one answered request.
struct AccessLogEntry {
  std::string_view request_id;
  std::string_view method;
  std::string_view route;  // The matched route pattern; "" for none (logged as "unmatched").
  int status = 0;
  double duration_ms = 0;
  std::string_view remote_ip;
};

// Writes the access line: at debug level for the probes (/healthz, /readyz, /metrics, which
// load balancers and scrapers call every few seconds), at info level otherwise.
void LogRequest(const AccessLogEntry& entry);

}  // namespace strongroom::server
