#include "server/metrics.h"

#include <gtest/gtest.h>

#include <array>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace strongroom::server {
namespace {

constexpr std::array<std::string_view, 3> kRoutes = {"/healthz", "/api/v1/me",
                                                     "/api/v1/users/{id}/public-key"};
constexpr std::array<std::string_view, 2> kDbOps = {"GetUser", "CreateSession"};

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// The value of the sample line that starts with `series` exactly (name and labels), or -1.
double Sample(const std::string& text, const std::string& series) {
  for (const auto& line : Lines(text)) {
    if (line.size() > series.size() && line.compare(0, series.size(), series) == 0 &&
        line[series.size()] == ' ') {
      return std::stod(line.substr(series.size() + 1));
    }
  }
  return -1;
}

TEST(Metrics, CountsRequestsByRouteMethodAndStatus) {
  Metrics metrics(kRoutes, kDbOps);
  metrics.ObserveRequest("/api/v1/me", "GET", 200, 0.001);
  metrics.ObserveRequest("/api/v1/me", "GET", 200, 0.002);
  metrics.ObserveRequest("/api/v1/me", "GET", 401, 0.0001);
  metrics.ObserveRequest("/healthz", "GET", 200, 0.00001);
  const std::string text = metrics.Render();
  EXPECT_EQ(
      Sample(text,
             R"(strongroom_http_requests_total{route="/api/v1/me",method="GET",status="200"})"),
      2);
  EXPECT_EQ(
      Sample(text,
             R"(strongroom_http_requests_total{route="/api/v1/me",method="GET",status="401"})"),
      1);
  EXPECT_EQ(
      Sample(text, R"(strongroom_http_requests_total{route="/healthz",method="GET",status="200"})"),
      1);
  // Pairs never seen are not rendered.
  EXPECT_EQ(
      Sample(text,
             R"(strongroom_http_requests_total{route="/healthz",method="POST",status="200"})"),
      -1);
}

TEST(Metrics, HistogramBucketsAreCumulativeWithSumAndCount) {
  Metrics metrics(kRoutes, kDbOps);
  for (double s : {0.0002, 0.0002, 0.003, 0.7, 42.0}) {
    metrics.ObserveRequest("/api/v1/me", "GET", 200, s);
  }
  const std::string text = metrics.Render();
  const std::string b =
      R"(strongroom_http_request_duration_seconds_bucket{route="/api/v1/me",le=")";
  EXPECT_EQ(Sample(text, b + R"(0.0001"})"), 0);
  EXPECT_EQ(Sample(text, b + R"(0.00025"})"), 2);
  EXPECT_EQ(Sample(text, b + R"(0.0025"})"), 2);
  EXPECT_EQ(Sample(text, b + R"(0.005"})"), 3);
  EXPECT_EQ(Sample(text, b + R"(0.5"})"), 3);
  EXPECT_EQ(Sample(text, b + R"(1"})"), 4);
  EXPECT_EQ(Sample(text, b + R"(10"})"), 4);
  EXPECT_EQ(Sample(text, b + R"(+Inf"})"), 5);
  EXPECT_EQ(Sample(text, R"(strongroom_http_request_duration_seconds_count{route="/api/v1/me"})"),
            5);
  EXPECT_NEAR(Sample(text, R"(strongroom_http_request_duration_seconds_sum{route="/api/v1/me"})"),
              42.7034, 1e-6);
}

TEST(Metrics, UnknownRouteAndMethodFallBackToFixedLabels) {
  Metrics metrics(kRoutes, kDbOps);
  metrics.ObserveRequest("", "GET", 404, 0.001);
  metrics.ObserveRequest("/etc/passwd", "GET", 404, 0.001);
  metrics.ObserveRequest("/api/v1/me", "BREW", 405, 0.001);
  metrics.ObserveRequest("/api/v1/me", "GET", 999, 0.001);
  const std::string text = metrics.Render();
  EXPECT_EQ(
      Sample(text,
             R"(strongroom_http_requests_total{route="unmatched",method="GET",status="404"})"),
      2);
  EXPECT_EQ(
      Sample(text,
             R"(strongroom_http_requests_total{route="/api/v1/me",method="other",status="405"})"),
      1);
  EXPECT_EQ(
      Sample(text,
             R"(strongroom_http_requests_total{route="/api/v1/me",method="GET",status="other"})"),
      1);
  EXPECT_EQ(text.find("/etc/passwd"), std::string::npos);
  EXPECT_EQ(text.find("BREW"), std::string::npos);
}

TEST(Metrics, LabelSetsStayBoundedWhateverClientsSend) {
  Metrics metrics(kRoutes, kDbOps);
  for (int i = 0; i < 5000; ++i) {
    const std::string junk = "/x/" + std::to_string(i);
    metrics.ObserveRequest(junk, junk, 100 + i % 600, 0.001);
    metrics.ObserveDb(junk, 0.001, false);
    metrics.RateLimited(junk);
  }
  const std::string text = metrics.Render();
  std::set<std::string> series;
  for (const auto& line : Lines(text)) {
    if (line.empty() || line[0] == '#') continue;
    series.insert(line.substr(0, line.rfind(' ')));
  }
  // Routes: unmatched; methods: other; statuses: 100..599 and "other"; db: "other".
  // 501 request counters + one histogram (16 + 1 buckets, sum, count) + gauges + 3 scopes
  // + one db histogram + one db error counter.
  EXPECT_LE(series.size(), 501u + 19 + 2 + 3 + 19 + 1);
  EXPECT_EQ(Sample(text, R"(strongroom_rate_limited_total{scope="other"})"), 5000);
  EXPECT_EQ(Sample(text, R"(strongroom_db_errors_total{operation="other"})"), 5000);
}

TEST(Metrics, ConnectionsAndRateLimitsAndDatabase) {
  Metrics metrics(kRoutes, kDbOps);
  metrics.ConnectionOpened();
  metrics.ConnectionOpened();
  metrics.ConnectionOpened();
  metrics.ConnectionClosed();
  metrics.RateLimited("ip");
  metrics.RateLimited("ip");
  metrics.RateLimited("account");
  metrics.ObserveDb("GetUser", 0.0003, true);
  metrics.ObserveDb("GetUser", 0.0004, false);
  const std::string text = metrics.Render();
  EXPECT_EQ(Sample(text, "strongroom_open_connections"), 2);
  EXPECT_EQ(Sample(text, "strongroom_connections_total"), 3);
  EXPECT_EQ(Sample(text, R"(strongroom_rate_limited_total{scope="ip"})"), 2);
  EXPECT_EQ(Sample(text, R"(strongroom_rate_limited_total{scope="account"})"), 1);
  EXPECT_EQ(Sample(text, R"(strongroom_db_operation_duration_seconds_count{operation="GetUser"})"),
            2);
  EXPECT_EQ(Sample(text, R"(strongroom_db_errors_total{operation="GetUser"})"), 1);
  EXPECT_EQ(Sample(text, R"(strongroom_db_errors_total{operation="CreateSession"})"), -1);
}

// Every line is a comment (HELP/TYPE) or a sample in the text format 0.0.4 grammar; every
// sample belongs to a family announced by a TYPE line; HELP precedes TYPE for each family.
TEST(Metrics, ExpositionParsesLineByLine) {
  Metrics metrics(kRoutes, kDbOps);
  metrics.ObserveRequest("/api/v1/users/{id}/public-key", "GET", 200, 0.01);
  metrics.ObserveRequest("", "POST", 404, 0.01);
  metrics.ObserveDb("CreateSession", 0.001, false);
  metrics.ConnectionOpened();
  metrics.RateLimited("ip");
  const std::string text = metrics.Render();
  ASSERT_FALSE(text.empty());
  ASSERT_EQ(text.back(), '\n');

  const std::regex help(R"(# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) [^\n]+)");
  const std::regex type(
      R"(# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped))");
  const std::regex sample(
      R"(([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\["\\n])*")(,[a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\["\\n])*")*\})? ([-+]?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?|\+Inf|-Inf|NaN))");
  std::map<std::string, std::string> types;
  std::set<std::string> helped;
  for (const auto& line : Lines(text)) {
    std::smatch m;
    if (std::regex_match(line, m, help)) {
      helped.insert(m[1]);
    } else if (std::regex_match(line, m, type)) {
      EXPECT_TRUE(helped.contains(m[1])) << "TYPE before HELP: " << line;
      EXPECT_TRUE(types.emplace(m[1], m[2]).second) << "family declared twice: " << line;
    } else if (std::regex_match(line, m, sample)) {
      std::string family = m[1];
      for (const char* suffix : {"_bucket", "_sum", "_count"}) {
        const std::string s = suffix;
        if (family.size() > s.size() && family.ends_with(s) &&
            types.contains(family.substr(0, family.size() - s.size())) &&
            types[family.substr(0, family.size() - s.size())] == "histogram") {
          family = family.substr(0, family.size() - s.size());
        }
      }
      EXPECT_TRUE(types.contains(family)) << "sample without TYPE: " << line;
    } else {
      ADD_FAILURE() << "not exposition format: '" << line << "'";
    }
  }
  for (const char* family :
       {"strongroom_http_requests_total", "strongroom_http_request_duration_seconds",
        "strongroom_open_connections", "strongroom_connections_total",
        "strongroom_rate_limited_total", "strongroom_db_operation_duration_seconds",
        "strongroom_db_errors_total"}) {
    EXPECT_TRUE(types.contains(family)) << family;
  }
  EXPECT_EQ(types["strongroom_http_request_duration_seconds"], "histogram");
  EXPECT_EQ(types["strongroom_open_connections"], "gauge");
  EXPECT_EQ(types["strongroom_http_requests_total"], "counter");
}

TEST(Metrics, ConcurrentObservationsAreAllCounted) {
  Metrics metrics(kRoutes, kDbOps);
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) metrics.ObserveRequest("/api/v1/me", "GET", 200, 0.001);
    });
  }
  std::thread renderer([&] {
    for (int i = 0; i < 20; ++i) (void)metrics.Render();
  });
  for (auto& th : threads) th.join();
  renderer.join();
  const std::string text = metrics.Render();
  EXPECT_EQ(
      Sample(text,
             R"(strongroom_http_requests_total{route="/api/v1/me",method="GET",status="200"})"),
      80000);
  EXPECT_EQ(Sample(text, R"(strongroom_http_request_duration_seconds_count{route="/api/v1/me"})"),
            80000);
}

}  // namespace
}  // namespace strongroom::server
