// Counters and histograms for /metrics, rendered in the Prometheus text format (0.0.4).
// Internal header.
//
// Label sets are bounded by construction: routes are the patterns of the route table (plus
// "unmatched"), methods the verbs the table uses (plus "other"), database operations the
// method names of MetadataStore. Nothing user-controlled ever becomes a label.
//
// Thread-safety: every method may be called from any thread. The request path (Observe*)
// takes no lock: it only increments atomics.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace strongroom::server {

class Metrics {
 public:
  // `routes`: every label ObserveRequest may be given besides "unmatched".
  // `db_operations`: every label ObserveDb may be given besides "other".
  Metrics(std::span<const std::string_view> routes,
          std::span<const std::string_view> db_operations);
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // One finished request: strongroom_http_requests_total{route,method,status} and
  // strongroom_http_request_duration_seconds{route} (histogram). An unknown route counts
  // as "unmatched".
  void ObserveRequest(std::string_view route, std::string_view method, int status,
                      double seconds) noexcept;
  // strongroom_open_connections (gauge) and strongroom_connections_total (counter).
  void ConnectionOpened() noexcept;
  void ConnectionClosed() noexcept;
  // strongroom_rate_limited_total{scope} where scope is "ip" or "account".
  void RateLimited(std::string_view scope) noexcept;
  // strongroom_db_operation_duration_seconds{operation} (histogram) and
  // strongroom_db_errors_total{operation}.
  void ObserveDb(std::string_view operation, double seconds, bool ok) noexcept;

  // The whole exposition, with # HELP and # TYPE lines.
  [[nodiscard]] std::string Render() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace strongroom::server
