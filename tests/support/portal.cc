#include "support/portal.h"

#include "support/text_util.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <algorithm>
#include <csignal>
#include <iostream>
#include <regex>

#ifndef STRONGROOMD_PATH
#error "STRONGROOMD_PATH must name the strongroomd binary (tests/CMakeLists.txt)"
#endif

namespace strongroom::testing {

using namespace std::chrono_literals;

Portal::Portal() = default;
Portal::~Portal() = default;

void Portal::Start(const PortalOptions& options) {
  ASSERT_FALSE(running()) << "Portal::Start: the server is already running";
  options_ = options;
  std::vector<std::string> env;
  if (!options_.log_level.empty()) env.push_back("STRONGROOM_LOG_LEVEL=" + options_.log_level);
  if (!options_.rate_limits) {
    env.push_back("STRONGROOM_RATE_PER_IP=0");
    env.push_back("STRONGROOM_RATE_PER_ACCOUNT=0");
  }
  if (options_.require_2fa_default) {
    env.push_back(std::string("STRONGROOM_REQUIRE_2FA_DEFAULT=") +
                  (*options_.require_2fa_default ? "true" : "false"));
  }
  env.insert(env.end(), options_.env.begin(), options_.env.end());

  std::string command = "exec /usr/bin/env";
  for (const auto& e : env) command.append(" ").append(ShellQuote(e));
  command.append(" ").append(ShellQuote(STRONGROOMD_PATH));
  command.append(" serve --data-dir ").append(ShellQuote(data_dir()));
  for (const auto& a : options_.serve_args) command.append(" ").append(ShellQuote(a));
  command.append(" 2>>").append(ShellQuote(log_path()));
  server_ = std::make_unique<ChildProcess>(std::vector<std::string>{"/bin/sh", "-c", command});

  const auto line = server_->WaitForLine("listening on", 30s);
  ASSERT_TRUE(line.has_value()) << "strongroomd did not report its address; log:\n" << Log();
  listening_line_ = *line;
  static const std::regex address(R"(listening on (https?)://(\S+):([0-9]+)\s*$)");
  std::smatch m;
  ASSERT_TRUE(std::regex_search(listening_line_, m, address)) << listening_line_;
  scheme_ = m[1];
  port_ = static_cast<std::uint16_t>(std::stoi(m[3]));
  ASSERT_NE(port_, 0) << listening_line_;
  url_ = scheme_ + "://" + std::string(m[2]) + ":" + std::to_string(port_);

  if (!setup_token_.empty()) return;  // A restart: the token was printed the first time.
  const std::string label = "owner setup token:";
  const auto token_line = server_->WaitForLine(label, 10s);
  ASSERT_TRUE(token_line.has_value()) << "no owner setup token printed on first start";
  setup_token_ = Trim(token_line->substr(token_line->find(label) + label.size()));
  ASSERT_FALSE(setup_token_.empty()) << *token_line;
}

int Portal::Stop() {
  if (!server_) return 0;
  const int status = server_->SignalAndWait(SIGTERM, 15s);
  server_.reset();
  return status;
}

void Portal::ReportLogIfFailed(std::size_t log_tail_bytes) const {
  if (!::testing::Test::HasFailure()) return;
  std::string log = Log();
  if (log.size() > log_tail_bytes) log = "...\n" + log.substr(log.size() - log_tail_bytes);
  std::cerr << "--- strongroomd log (tail) ---\n" << log << "--- end of log ---\n";
}

void Portal::FinishTest(std::size_t log_tail_bytes) {
  ReportLogIfFailed(log_tail_bytes);
  if (!running()) return;
  const int status = Stop();
  EXPECT_EQ(status, 0) << "strongroomd did not shut down cleanly";
  if (status == 0) return;
  // Why: a sanitizer report, a fatal error or a drain timeout, shown from its first line (a
  // report's head names the fault; its tail is mostly stack frames), else the log's tail.
  const std::string log = Log();
  std::size_t from = std::string::npos;
  for (const char* marker : {"strongroomd: fatal", "==ERROR: ", "runtime error:", "drain timeout"}) {
    from = std::min(from, log.find(marker));
  }
  if (from == std::string::npos) {
    from = log.size() > log_tail_bytes ? log.size() - log_tail_bytes : 0;
  } else {
    const std::size_t line = log.rfind('\n', from);
    from = line == std::string::npos ? 0 : line + 1;
  }
  std::cerr << "--- strongroomd log (from the failure) ---\n"
            << log.substr(from, log_tail_bytes) << "\n--- end of log ---\n";
}

std::string Portal::Invite(const std::string& email, bool admin) const {
  std::vector<std::string> argv{STRONGROOMD_PATH, "invite",  "--data-dir",
                                data_dir(),       "--email", email};
  if (admin) argv.push_back("--admin");
  const RunResult r = RunProcess(argv, "", 60s);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  const std::string token = Trim(r.out);
  EXPECT_FALSE(token.empty());
  EXPECT_EQ(token.find('\n'), std::string::npos) << "invite printed more than the token: " << r.out;
  return token;
}

std::map<std::string, std::string> Portal::Headers(const std::string& token) const {
  std::map<std::string, std::string> headers;
  if (!token.empty()) headers["Authorization"] = "Bearer " + token;
  if (!options_.user_agent.empty()) headers["User-Agent"] = options_.user_agent;
  return headers;
}

HttpReply Portal::Request(const std::string& method, const std::string& target,
                          const std::string& body, const std::string& token,
                          std::map<std::string, std::string> headers,
                          const std::string& content_type) const {
  if (!body.empty() && !headers.contains("Content-Type")) headers["Content-Type"] = content_type;
  for (auto& [name, value] : Headers(token)) headers[name] = value;
  return HttpRequest("127.0.0.1", port_, method, target, body, headers);
}

HttpReply Portal::RequestFrom(const std::string& source, const std::string& method,
                              const std::string& target, const std::string& body,
                              const std::string& token) const {
  std::map<std::string, std::string> headers = Headers(token);
  if (!body.empty()) headers["Content-Type"] = "application/json";
  return HttpRequestFrom(source, "127.0.0.1", port_, method, target, body, headers);
}

HttpReply Portal::Post(const std::string& target, const boost::json::value& body,
                       const std::string& token) const {
  return Request("POST", target, boost::json::serialize(body), token);
}

HttpReply Portal::PutSetting(const std::string& token, const std::string& key,
                             const boost::json::value& value) const {
  return Request("PUT", "/api/v1/admin/settings",
                 boost::json::serialize(boost::json::object{{"key", key}, {"value", value}}),
                 token);
}

std::string Portal::Log() const {
  return ReadFile(log_path());
}

}  // namespace strongroom::testing
