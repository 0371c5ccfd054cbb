// Observability and transport security of the real strongroomd: request ids, /metrics, the
// JSON log, TLS (with a throwaway self-signed certificate) and the per-address rate limit.
// Contract: docs/api.md ("Conventions", "GET /metrics", "Limits") and docs/configuration.md.
#include "support/http_client.h"
#include "support/portal.h"
#include "support/process.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <unistd.h>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

namespace strongroom::testing {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

constexpr const char* kHost = "127.0.0.1";

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

bool IsRandomRequestId(const std::string& id) {
  return std::regex_match(id, std::regex("[0-9a-f]{32}"));
}

// The value of the /metrics sample that starts with `series` exactly, or -1 when absent.
double Sample(const std::string& text, const std::string& series) {
  for (const auto& line : Lines(text)) {
    if (line.size() > series.size() && line.compare(0, series.size(), series) == 0 &&
        line[series.size()] == ' ') {
      return std::stod(line.substr(series.size() + 1));
    }
  }
  return -1;
}

using Env = std::map<std::string, std::string>;

// The text of a JSON string value ("" for anything else).
std::string Str(const json::value& v) {
  return v.is_string() ? std::string(v.get_string()) : "";
}

// How these tests start strongroomd: as configured by its own defaults plus `env` (for the
// child only), with `serve_args` after `serve --data-dir DIR` when given (else a free loopback
// port).
PortalOptions Options(const Env& env = {}, std::vector<std::string> serve_args = {}) {
  PortalOptions options = PortalOptions::ServerDefaults();
  for (const auto& [k, v] : env) options.env.push_back(k + "=" + v);
  if (!serve_args.empty()) options.serve_args = std::move(serve_args);
  return options;
}

// --- request ids ------------------------------------------------------------------------

TEST(Observability, EveryResponseCarriesAUniqueRequestId) {
  Portal d;
  ASSERT_NO_FATAL_FAILURE(d.Start(Options()));
  std::set<std::string> ids;
  for (int i = 0; i < 20; ++i) {
    const HttpReply reply = HttpRequest(kHost, d.port(), "GET", i % 2 ? "/healthz" : "/nope");
    ASSERT_NE(reply.status, 0);
    const std::string id = reply.header("x-request-id");
    EXPECT_TRUE(IsRandomRequestId(id)) << "'" << id << "'";
    ids.insert(id);
  }
  EXPECT_EQ(ids.size(), 20u);
  // Also on the answers of the read path, which never reach the router.
  const std::string garbage = RawExchange(kHost, d.port(), "NOT HTTP AT ALL\r\n\r\n");
  EXPECT_EQ(garbage.rfind("HTTP/1.1 400", 0), 0u) << garbage.substr(0, 80);
  EXPECT_TRUE(std::regex_search(garbage, std::regex("X-Request-Id: [0-9a-f]{32}\r\n"))) << garbage;
  // No HSTS over plain HTTP.
  EXPECT_EQ(HttpRequest(kHost, d.port(), "GET", "/healthz").header("strict-transport-security"),
            "");
}

TEST(Observability, AValidClientRequestIdIsEchoedAndAnInvalidOneReplaced) {
  Portal d;
  ASSERT_NO_FATAL_FAILURE(d.Start(Options()));
  const std::string good = "proxy-42_ABCdef";
  EXPECT_EQ(HttpRequest(kHost, d.port(), "GET", "/healthz", "", {{"X-Request-Id", good}})
                .header("x-request-id"),
            good);
  const std::string longest(64, 'a');
  EXPECT_EQ(HttpRequest(kHost, d.port(), "GET", "/healthz", "", {{"X-Request-Id", longest}})
                .header("x-request-id"),
            longest);
  for (const std::string& bad : std::vector<std::string>{
           "has space", "semi;colon", "new%0Aline", std::string(65, 'a'), "\xc3\xa9t\xc3\xa9"}) {
    const std::string id =
        HttpRequest(kHost, d.port(), "GET", "/healthz", "", {{"X-Request-Id", bad}})
            .header("x-request-id");
    EXPECT_TRUE(IsRandomRequestId(id)) << "for '" << bad << "' got '" << id << "'";
  }
}

// --- metrics ----------------------------------------------------------------------------

TEST(Observability, MetricsCountRequestsAndConnections) {
  Portal d;
  ASSERT_NO_FATAL_FAILURE(d.Start(Options()));
  const HttpReply first = HttpRequest(kHost, d.port(), "GET", "/metrics");
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(first.header("content-type").rfind("text/plain; version=0.0.4", 0), 0u)
      << first.header("content-type");
  const std::string healthz =
      R"(strongroom_http_requests_total{route="/healthz",method="GET",status="200"})";
  const std::string unmatched =
      R"(strongroom_http_requests_total{route="unmatched",method="GET",status="404"})";
  const double before = std::max(0.0, Sample(first.body, healthz));
  for (int i = 0; i < 3; ++i)
    ASSERT_EQ(HttpRequest(kHost, d.port(), "GET", "/healthz").status, 200);
  ASSERT_EQ(HttpRequest(kHost, d.port(), "GET", "/no/such/thing?secret=1").status, 404);

  // A request is counted once its response is written, which the client may see first: poll.
  std::string text;
  for (int i = 0; i < 50; ++i) {
    text = HttpRequest(kHost, d.port(), "GET", "/metrics").body;
    if (Sample(text, unmatched) >= 1 && Sample(text, healthz) >= before + 3) break;
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(Sample(text, healthz), before + 3) << text;
  EXPECT_EQ(Sample(text, unmatched), 1) << text;
  EXPECT_EQ(text.find("/no/such/thing"), std::string::npos) << "raw paths must not be labels";
  EXPECT_GE(Sample(text, R"(strongroom_http_request_duration_seconds_count{route="/healthz"})"), 3);
  // The connection asking for /metrics is itself open.
  EXPECT_GE(Sample(text, "strongroom_open_connections"), 1) << text;
  // One connection per request above (the test client does not keep connections alive).
  EXPECT_GE(Sample(text, "strongroom_connections_total"), 6) << text;
  EXPECT_NE(text.find("# TYPE strongroom_http_request_duration_seconds histogram"),
            std::string::npos);
}

TEST(Observability, MetricsCanBeTurnedOff) {
  Portal d;
  ASSERT_NO_FATAL_FAILURE(d.Start(Options(Env{{"STRONGROOM_METRICS", "false"}})));
  const HttpReply reply = HttpRequest(kHost, d.port(), "GET", "/metrics");
  EXPECT_EQ(reply.status, 404);
  EXPECT_NE(reply.body.find(R"("code":"not_found")"), std::string::npos) << reply.body;
}

// --- logs -------------------------------------------------------------------------------

TEST(Observability, JsonLogIsOneObjectPerLineWithTheRequestId) {
  TempDir dir;
  const std::string config = dir.path() + "/strongroomd.toml";
  std::ofstream(config) << "[server]\nlisten = \"127.0.0.1:0\"\n[log]\nformat = \"json\"\n";
  Portal d;
  ASSERT_NO_FATAL_FAILURE(d.Start(Options(Env{}, {"--config", config})));
  const std::string id = "json-log-test-1";
  ASSERT_EQ(HttpRequest(kHost, d.port(), "GET", "/no/such/page?token=SECRET-IN-QUERY", "",
                        {{"X-Request-Id", id}, {"Authorization", "Bearer SECRET-IN-HEADER"}})
                .status,
            404);
  ASSERT_EQ(d.Stop(), 0);

  const std::string log = d.Log();
  bool found_access = false;
  std::size_t lines = 0;
  for (const auto& line : Lines(log)) {
    ++lines;
    boost::system::error_code ec;
    const json::value v = json::parse(line, ec);
    ASSERT_FALSE(ec) << "not JSON: " << line;
    ASSERT_TRUE(v.is_object()) << line;
    const json::object& o = v.as_object();
    EXPECT_TRUE(o.contains("time") && o.contains("level") && o.contains("msg")) << line;
    EXPECT_TRUE(std::regex_match(Str(o.at("time")),
                                 std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)")))
        << line;
    if (o.contains("request_id") && Str(o.at("request_id")) == id && o.contains("status")) {
      found_access = true;
      EXPECT_EQ(Str(o.at("msg")), "request") << line;
      EXPECT_EQ(Str(o.at("method")), "GET") << line;
      EXPECT_EQ(Str(o.at("route")), "unmatched") << line;
      EXPECT_TRUE(o.at("status").is_int64() && o.at("status").get_int64() == 404) << line;
      EXPECT_EQ(Str(o.at("remote_ip")), "127.0.0.1") << line;
      EXPECT_TRUE(o.at("duration_ms").is_number()) << line;
    }
  }
  EXPECT_GT(lines, 0u);
  EXPECT_TRUE(found_access) << "no access line with request_id " << id << " in:\n" << log;
  EXPECT_EQ(log.find("SECRET"), std::string::npos)
      << "query strings and headers must not be logged";
  EXPECT_EQ(log.find("/no/such/page"), std::string::npos) << "raw targets must not be logged";
}

TEST(Observability, TextLogCarriesTheRequestIdToo) {
  Portal d;
  ASSERT_NO_FATAL_FAILURE(d.Start(Options()));
  ASSERT_EQ(
      HttpRequest(kHost, d.port(), "GET", "/nope", "", {{"X-Request-Id", "text-log-7"}}).status,
      404);
  ASSERT_EQ(d.Stop(), 0);
  const std::string log = d.Log();
  EXPECT_NE(log.find("[req text-log-7] request method=GET route=unmatched status=404"),
            std::string::npos)
      << log;
}

// --- TLS --------------------------------------------------------------------------------

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::access("/usr/bin/openssl", X_OK) != 0 || ::access("/usr/bin/curl", X_OK) != 0) {
      GTEST_SKIP() << "needs /usr/bin/openssl and /usr/bin/curl (scripts/install-deps)";
    }
    cert_ = dir_.path() + "/cert.pem";
    key_ = dir_.path() + "/key.pem";
    const RunResult r = RunProcess({"/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj",
                                    "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1",
                                    "-keyout", key_, "-out", cert_});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }

  Env TlsEnv() const {
    return {{"STRONGROOM_TLS_CERT_FILE", cert_}, {"STRONGROOM_TLS_KEY_FILE", key_}};
  }

  RunResult Curl(std::uint16_t port, const std::string& path) const {
    return RunProcess({"/usr/bin/curl", "-sS", "--max-time", "10", "--cacert", cert_, "-D", "-",
                       "https://127.0.0.1:" + std::to_string(port) + path},
                      "", 30s);
  }

  TempDir dir_;
  std::string cert_, key_;
};

TEST_F(TlsTest, ServesHttpsWithHsts) {
  Portal d;
  ASSERT_NO_FATAL_FAILURE(d.Start(Options(TlsEnv())));
  EXPECT_EQ(d.scheme(), "https") << d.listening_line();
  const RunResult r = Curl(d.port(), "/healthz");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("HTTP/1.1 200", 0), 0u) << r.out;
  EXPECT_TRUE(std::regex_search(
      r.out, std::regex("\r\nstrict-transport-security: max-age=31536000\r\n", std::regex::icase)))
      << r.out;
  EXPECT_TRUE(
      std::regex_search(r.out, std::regex("\r\nx-request-id: [0-9a-f]{32}\r\n", std::regex::icase)))
      << r.out;
  EXPECT_NE(r.out.find(R"("status":"ok")"), std::string::npos) << r.out;
  // Old protocol versions are refused.
  const RunResult old =
      RunProcess({"/usr/bin/curl", "-sS", "--max-time", "10", "--cacert", cert_, "--tlsv1.1",
                  "--tls-max", "1.1", "https://127.0.0.1:" + std::to_string(d.port()) + "/healthz"},
                 "", 30s);
  EXPECT_NE(old.exit_code, 0) << old.out;
  EXPECT_EQ(d.Stop(), 0);
}

TEST_F(TlsTest, PlainHttpToTheTlsPortGetsNoAnswer) {
  Portal d;
  ASSERT_NO_FATAL_FAILURE(d.Start(Options(TlsEnv())));
  const std::string reply =
      RawExchange(kHost, d.port(), "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(reply.find("HTTP/1.1 200"), std::string::npos) << reply;
  EXPECT_EQ(HttpRequest(kHost, d.port(), "GET", "/healthz").status, 0);
  // The server is unharmed.
  EXPECT_EQ(Curl(d.port(), "/healthz").exit_code, 0);
}

TEST_F(TlsTest, ABadKeyFileStopsStartupWithAClearMessage) {
  const std::string bad_key = dir_.path() + "/bad-key.pem";
  std::ofstream(bad_key) << "-----BEGIN PRIVATE KEY-----\nTOP-SECRET-GARBAGE\n-----END PRIVATE "
                            "KEY-----\n";
  TempDir data;
  ::setenv("STRONGROOM_TLS_CERT_FILE", cert_.c_str(), 1);
  ::setenv("STRONGROOM_TLS_KEY_FILE", bad_key.c_str(), 1);
  const RunResult r = RunProcess(
      {STRONGROOMD_PATH, "serve", "--listen", "127.0.0.1:0", "--data-dir", data.path()}, "", 60s);
  ::unsetenv("STRONGROOM_TLS_CERT_FILE");
  ::unsetenv("STRONGROOM_TLS_KEY_FILE");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("TLS private key"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(bad_key), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("TOP-SECRET-GARBAGE"), std::string::npos) << r.err;
  EXPECT_EQ(r.out.find("listening on"), std::string::npos) << r.out;

  // A key that does not belong to the certificate is refused as well.
  const std::string other_key = dir_.path() + "/other-key.pem";
  ASSERT_EQ(RunProcess({"/usr/bin/openssl", "genpkey", "-algorithm", "EC", "-pkeyopt",
                        "ec_paramgen_curve:prime256v1", "-out", other_key})
                .exit_code,
            0);
  ::setenv("STRONGROOM_TLS_CERT_FILE", cert_.c_str(), 1);
  ::setenv("STRONGROOM_TLS_KEY_FILE", other_key.c_str(), 1);
  const RunResult mismatch = RunProcess(
      {STRONGROOMD_PATH, "serve", "--listen", "127.0.0.1:0", "--data-dir", data.path()}, "", 60s);
  ::unsetenv("STRONGROOM_TLS_CERT_FILE");
  ::unsetenv("STRONGROOM_TLS_KEY_FILE");
  EXPECT_NE(mismatch.exit_code, 0);
  EXPECT_NE(mismatch.err.find("does not match"), std::string::npos) << mismatch.err;
}

TEST_F(TlsTest, TlsMayListenOnANonLoopbackAddress) {
  Portal d;
  ASSERT_NO_FATAL_FAILURE(d.Start(Options(TlsEnv(), {"--listen", "0.0.0.0:0"})));
  EXPECT_NE(d.listening_line().find("https://0.0.0.0:"), std::string::npos) << d.listening_line();
  const RunResult r = Curl(d.port(), "/healthz");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("HTTP/1.1 200", 0), 0u) << r.out;
}

// --- rate limits ------------------------------------------------------------------------

TEST(Observability, TheFourthQuickApiRequestIsRateLimited) {
  Portal d;
  ASSERT_NO_FATAL_FAILURE(d.Start(
      Options(Env{{"STRONGROOM_RATE_PER_IP", "1"}, {"STRONGROOM_RATE_PER_IP_BURST", "3"}})));
  for (int i = 0; i < 3; ++i) {
    const HttpReply reply = HttpRequest(kHost, d.port(), "GET", "/api/v1/me");
    EXPECT_NE(reply.status, 429) << i << ": " << reply.body;
  }
  const HttpReply limited = HttpRequest(kHost, d.port(), "GET", "/api/v1/me");
  ASSERT_EQ(limited.status, 429) << limited.body;
  EXPECT_NE(limited.body.find(R"("code":"rate_limited")"), std::string::npos) << limited.body;
  const std::string retry = limited.header("retry-after");
  ASSERT_FALSE(retry.empty());
  EXPECT_TRUE(std::regex_match(retry, std::regex("[1-9][0-9]*"))) << retry;
  EXPECT_TRUE(IsRandomRequestId(limited.header("x-request-id")));
  // Health checks are not limited.
  EXPECT_EQ(HttpRequest(kHost, d.port(), "GET", "/healthz").status, 200);
  const std::string text = HttpRequest(kHost, d.port(), "GET", "/metrics").body;
  EXPECT_GE(Sample(text, R"(strongroom_rate_limited_total{scope="ip"})"), 1) << text;
}

}  // namespace
}  // namespace strongroom::testing
