#include "server/metrics.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <string>
#include <unordered_map>
#include <vector>

namespace strongroom::server {
namespace {

// Upper bounds (seconds) shared by both histograms: from 100 µs (a cached SQLite read, a
// /healthz) to 10 s (a large upload on a slow disk). Roughly 1-2.5-5 steps per decade, which
// keeps p50/p99 estimates within a factor of ~2 everywhere in that range.
constexpr std::array<double, 16> kBuckets = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                             0.01,   0.025,   0.05,   0.1,   0.25,   0.5,
                                             1,      2.5,     5,      10};
constexpr std::array<std::string_view, 16> kBucketLabels = {
    "0.0001", "0.00025", "0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025",
    "0.05",   "0.1",     "0.25",   "0.5",   "1",      "2.5",   "5",    "10"};

// The methods a route table can use; anything else (WebDAV verbs, garbage) is "other".
constexpr std::array<std::string_view, 8> kMethods = {"GET",   "HEAD",   "POST",    "PUT",
                                                      "PATCH", "DELETE", "OPTIONS", "other"};
constexpr std::size_t kOtherMethod = kMethods.size() - 1;

// Statuses 100..599 each get a slot; anything outside (which no HTTP/1.1 server sends) shares
// the last one, rendered as "other".
constexpr int kFirstStatus = 100;
constexpr std::size_t kStatusSlots = 500 + 1;

constexpr std::array<std::string_view, 3> kScopes = {"ip", "account", "other"};

constexpr auto kRelaxed = std::memory_order_relaxed;

// One histogram. Buckets are stored non-cumulative (one increment per observation); Render
// accumulates. The sum is kept in nanoseconds so that it is an integer atomic (no CAS loop on
// a double): 2^64 ns is 584 years of summed latency.
struct Histogram {
  std::array<std::atomic<std::uint64_t>, kBuckets.size() + 1> buckets{};  // Last: +Inf.
  std::atomic<std::uint64_t> sum_ns{0};

  void Observe(double seconds) noexcept {
    if (!(seconds >= 0)) seconds = 0;  // Also catches NaN.
    std::size_t i = 0;
    while (i < kBuckets.size() && seconds > kBuckets[i]) ++i;
    buckets[i].fetch_add(1, kRelaxed);
    const double ns = seconds * 1e9;
    sum_ns.fetch_add(ns >= 1.8e19 ? std::uint64_t{1} << 63 : static_cast<std::uint64_t>(ns),
                     kRelaxed);
  }
};

// Request counters of one (route, method) pair, by status. Allocated on first use (see
// Impl::requests) so that the table costs memory only for pairs that occur.
struct StatusCounters {
  std::array<std::atomic<std::uint64_t>, kStatusSlots> by_status{};
};

// Label value escaping per the exposition format: backslash, double quote and newline.
void AppendEscaped(std::string& out, std::string_view value) {
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
}

void AppendHeader(std::string& out, std::string_view name, std::string_view type,
                  std::string_view help) {
  out.append("# HELP ").append(name).append(" ").append(help).append("\n");
  out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
}

void AppendSeconds(std::string& out, std::uint64_t ns) {
  char buf[64];
  const int n = std::snprintf(buf, sizeof buf, "%.9g", static_cast<double>(ns) / 1e9);
  out.append(buf, static_cast<std::size_t>(n));
}

void AppendHistogram(std::string& out, std::string_view name, std::string_view label,
                     std::string_view value, const Histogram& h) {
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i <= kBuckets.size(); ++i) {
    cumulative += h.buckets[i].load(kRelaxed);
    out.append(name).append("_bucket{").append(label).append("=\"");
    AppendEscaped(out, value);
    out.append("\",le=\"").append(i < kBuckets.size() ? kBucketLabels[i] : "+Inf").append("\"} ");
    out.append(std::to_string(cumulative)).append("\n");
  }
  out.append(name).append("_sum{").append(label).append("=\"");
  AppendEscaped(out, value);
  out.append("\"} ");
  AppendSeconds(out, h.sum_ns.load(kRelaxed));
  out.append("\n");
  out.append(name).append("_count{").append(label).append("=\"");
  AppendEscaped(out, value);
  out.append("\"} ").append(std::to_string(cumulative)).append("\n");
}

bool HistogramEmpty(const Histogram& h) {
  for (const auto& b : h.buckets) {
    if (b.load(kRelaxed) != 0) return false;
  }
  return true;
}

// A fixed set of label values and their indexes; lookups after construction only read.
class LabelSet {
 public:
  LabelSet(std::span<const std::string_view> values, std::string_view fallback) {
    names_.reserve(values.size() + 1);
    for (std::string_view v : values) {
      if (v == fallback || std::find(names_.begin(), names_.end(), v) != names_.end()) continue;
      names_.emplace_back(v);
    }
    names_.emplace_back(fallback);
    // Views into names_, which no longer changes size.
    for (std::size_t i = 0; i + 1 < names_.size(); ++i) index_.emplace(names_[i], i);
  }

  std::size_t Index(std::string_view value) const {
    const auto it = index_.find(value);
    return it == index_.end() ? names_.size() - 1 : it->second;
  }
  std::size_t size() const { return names_.size(); }
  const std::string& name(std::size_t i) const { return names_[i]; }

 private:
  std::vector<std::string> names_;  // Last: the fallback.
  std::unordered_map<std::string_view, std::size_t> index_;
};

std::size_t MethodIndex(std::string_view method) {
  for (std::size_t i = 0; i < kOtherMethod; ++i) {
    if (kMethods[i] == method) return i;
  }
  return kOtherMethod;
}

std::size_t StatusIndex(int status) {
  if (status < kFirstStatus || status >= kFirstStatus + 500) return kStatusSlots - 1;
  return static_cast<std::size_t>(status - kFirstStatus);
}

}  // namespace

struct Metrics::Impl {
  Impl(std::span<const std::string_view> route_list, std::span<const std::string_view> db_list)
      : routes(route_list, "unmatched"),
        db_operations(db_list, "other"),
        requests(routes.size() * kMethods.size()),
        request_durations(routes.size()),
        db_durations(db_operations.size()),
        db_errors(db_operations.size()) {}

  ~Impl() {
    for (auto& cell : requests) delete cell.load(kRelaxed);
  }

  // Returns the counters of a (route, method) cell, creating them on first use. Lock-free:
  // racing creators CAS, and the loser frees its copy.
  StatusCounters& Cell(std::size_t route, std::size_t method) {
    std::atomic<StatusCounters*>& slot = requests[route * kMethods.size() + method];
    StatusCounters* counters = slot.load(std::memory_order_acquire);
    if (counters != nullptr) return *counters;
    auto* fresh = new StatusCounters();
    if (slot.compare_exchange_strong(counters, fresh, std::memory_order_acq_rel)) return *fresh;
    delete fresh;
    return *counters;  // Set by the winner (compare_exchange loaded it).
  }

  LabelSet routes;
  LabelSet db_operations;
  std::vector<std::atomic<StatusCounters*>> requests;  // routes x methods, row-major.
  std::vector<Histogram> request_durations;            // By route.
  std::vector<Histogram> db_durations;                 // By operation.
  std::vector<std::atomic<std::uint64_t>> db_errors;   // By operation.
  std::array<std::atomic<std::uint64_t>, kScopes.size()> rate_limited{};
  std::atomic<std::int64_t> open_connections{0};
  std::atomic<std::uint64_t> connections_total{0};
};

Metrics::Metrics(std::span<const std::string_view> routes,
                 std::span<const std::string_view> db_operations)
    : impl_(std::make_unique<Impl>(routes, db_operations)) {}

Metrics::~Metrics() = default;

void Metrics::ObserveRequest(std::string_view route, std::string_view method, int status,
                             double seconds) noexcept {
  const std::size_t r = impl_->routes.Index(route);
  try {
    impl_->Cell(r, MethodIndex(method)).by_status[StatusIndex(status)].fetch_add(1, kRelaxed);
  } catch (const std::bad_alloc&) {
    // At most (routes x methods) allocations of 4 KiB ever happen; if one fails the process
    // has bigger problems than a missing count.
  }
  impl_->request_durations[r].Observe(seconds);
}

void Metrics::ConnectionOpened() noexcept {
  impl_->open_connections.fetch_add(1, kRelaxed);
  impl_->connections_total.fetch_add(1, kRelaxed);
}

void Metrics::ConnectionClosed() noexcept {
  impl_->open_connections.fetch_sub(1, kRelaxed);
}

void Metrics::RateLimited(std::string_view scope) noexcept {
  std::size_t i = 0;
  while (i + 1 < kScopes.size() && kScopes[i] != scope) ++i;
  impl_->rate_limited[i].fetch_add(1, kRelaxed);
}

void Metrics::ObserveDb(std::string_view operation, double seconds, bool ok) noexcept {
  const std::size_t i = impl_->db_operations.Index(operation);
  impl_->db_durations[i].Observe(seconds);
  if (!ok) impl_->db_errors[i].fetch_add(1, kRelaxed);
}

std::string Metrics::Render() const {
  const Impl& m = *impl_;
  std::string out;
  out.reserve(8192);

  AppendHeader(out, "strongroom_http_requests_total", "counter",
               "HTTP requests answered, by route pattern, method and status.");
  for (std::size_t r = 0; r < m.routes.size(); ++r) {
    for (std::size_t meth = 0; meth < kMethods.size(); ++meth) {
      const StatusCounters* cell =
          m.requests[r * kMethods.size() + meth].load(std::memory_order_acquire);
      if (cell == nullptr) continue;
      for (std::size_t s = 0; s < kStatusSlots; ++s) {
        const std::uint64_t n = cell->by_status[s].load(kRelaxed);
        if (n == 0) continue;
        out.append("strongroom_http_requests_total{route=\"");
        AppendEscaped(out, m.routes.name(r));
        out.append("\",method=\"").append(kMethods[meth]).append("\",status=\"");
        out.append(s + 1 == kStatusSlots ? std::string("other")
                                         : std::to_string(kFirstStatus + static_cast<int>(s)));
        out.append("\"} ").append(std::to_string(n)).append("\n");
      }
    }
  }

  AppendHeader(out, "strongroom_http_request_duration_seconds", "histogram",
               "Time from the first byte of a request to the last byte of its response.");
  for (std::size_t r = 0; r < m.routes.size(); ++r) {
    if (HistogramEmpty(m.request_durations[r])) continue;
    AppendHistogram(out, "strongroom_http_request_duration_seconds", "route", m.routes.name(r),
                    m.request_durations[r]);
  }

  AppendHeader(out, "strongroom_open_connections", "gauge", "Client connections open now.");
  out.append("strongroom_open_connections ")
      .append(std::to_string(m.open_connections.load(kRelaxed)))
      .append("\n");
  AppendHeader(out, "strongroom_connections_total", "counter", "Client connections accepted.");
  out.append("strongroom_connections_total ")
      .append(std::to_string(m.connections_total.load(kRelaxed)))
      .append("\n");

  AppendHeader(out, "strongroom_rate_limited_total", "counter",
               "Requests refused with 429 rate_limited, by limiter.");
  for (std::size_t i = 0; i < kScopes.size(); ++i) {
    out.append("strongroom_rate_limited_total{scope=\"").append(kScopes[i]).append("\"} ");
    out.append(std::to_string(m.rate_limited[i].load(kRelaxed))).append("\n");
  }

  AppendHeader(out, "strongroom_db_operation_duration_seconds", "histogram",
               "Time spent in metadata store operations, by operation.");
  for (std::size_t i = 0; i < m.db_operations.size(); ++i) {
    if (HistogramEmpty(m.db_durations[i])) continue;
    AppendHistogram(out, "strongroom_db_operation_duration_seconds", "operation",
                    m.db_operations.name(i), m.db_durations[i]);
  }
  AppendHeader(out, "strongroom_db_errors_total", "counter",
               "Metadata store operations that failed, by operation.");
  for (std::size_t i = 0; i < m.db_operations.size(); ++i) {
    const std::uint64_t n = m.db_errors[i].load(kRelaxed);
    if (n == 0) continue;
    out.append("strongroom_db_errors_total{operation=\"");
    AppendEscaped(out, m.db_operations.name(i));
    out.append("\"} ").append(std::to_string(n)).append("\n");
  }
  return out;
}

}  // namespace strongroom::server
