// The real strongroomd as a test fixture: one server process on a free loopback port with a
// fresh data directory of its own, its standard error in a log file outside that directory,
// and small HTTP helpers that talk to it.
//
// Typical use, in a fixture:
//
//   void SetUp() override {
//     PortalOptions options;
//     options.rate_limits = false;
//     ASSERT_NO_FATAL_FAILURE(portal_.Start(options));
//   }
//   void TearDown() override { portal_.FinishTest(); }
//
// Guarantees:
// - Start returns once the server has printed its address (and, on its first start, the owner
//   setup token); any other outcome is a fatal test failure that quotes the server's log.
// - The data directory (data_dir()) and the log (log_path()) are removed with the Portal; a
//   server still running then is killed (SIGKILL). Stop() is the clean way (SIGTERM).
// - The server's environment is the test's own plus what PortalOptions adds; nothing else of
//   the test process changes.
#pragma once

#include "support/http_client.h"
#include "support/process.h"

#include <boost/json/value.hpp>

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace strongroom::testing {

// How to start a portal. The defaults suit most integration tests: a debug log, the server's
// own rate limits, and two-factor authentication not required of a new portal's users (tests
// of that requirement ask for the portal's own default with require_2fa_default = nullopt).
struct PortalOptions {
  // STRONGROOM_LOG_LEVEL; "" leaves the server's default.
  std::string log_level = "debug";
  // false: STRONGROOM_RATE_PER_IP=0 and STRONGROOM_RATE_PER_ACCOUNT=0 (no request limits).
  bool rate_limits = true;
  // STRONGROOM_REQUIRE_2FA_DEFAULT; nullopt leaves the server's default.
  std::optional<bool> require_2fa_default = false;
  // More "NAME=value" settings, applied after the ones above (so they may override them).
  std::vector<std::string> env;
  // The arguments of `strongroomd serve` after `--data-dir DIR`.
  std::vector<std::string> serve_args = {"--listen", "127.0.0.1:0"};
  // The User-Agent header of Request, RequestFrom, Post and PutSetting ("": none).
  std::string user_agent;

  // The server exactly as configured by its defaults: no log level, no 2FA default.
  static PortalOptions ServerDefaults() {
    PortalOptions options;
    options.log_level.clear();
    options.require_2fa_default.reset();
    return options;
  }
};

class Portal {
 public:
  Portal();
  ~Portal();
  Portal(const Portal&) = delete;
  Portal& operator=(const Portal&) = delete;

  // Starts the server with `options` (fatal failures if it does not come up; wrap the call in
  // ASSERT_NO_FATAL_FAILURE). May be called again after Stop(): the same data directory, the
  // log appended to, the new options in force; setup_token() stays the first start's (a
  // restart does not wait for a token line).
  void Start(const PortalOptions& options = {});

  // SIGTERM, then waits up to 15 s; the exit status (0 on a clean shutdown; 0 when the server
  // is not running).
  int Stop();
  bool running() const { return server_ != nullptr; }
  // The running server's process id (-1 when it does not run).
  pid_t pid() const { return server_ != nullptr ? server_->pid() : -1; }

  // When the current test has failed, prints the last `log_tail_bytes` of the server's log
  // to stderr (between marker lines); else nothing.
  void ReportLogIfFailed(std::size_t log_tail_bytes = 8000) const;
  // For a fixture's TearDown: ReportLogIfFailed, then, if the server runs, stops it and
  // expects a clean shutdown (exit status 0); when it was not, prints what the server said
  // from the first line of the failure (a sanitizer report, a fatal error, a drain timeout).
  void FinishTest(std::size_t log_tail_bytes = 8000);

  // `strongroomd invite` for `email` (an admin invitation when `admin`), run next to the
  // server on its data directory; the token it printed. Expects success and one line of
  // output.
  std::string Invite(const std::string& email, bool admin = false) const;

  // One HTTP request to the server on 127.0.0.1. `token`: "Authorization: Bearer" when not
  // empty; `content_type` is sent with a non-empty body unless `headers` has Content-Type.
  HttpReply Request(const std::string& method, const std::string& target,
                    const std::string& body = "", const std::string& token = "",
                    std::map<std::string, std::string> headers = {},
                    const std::string& content_type = "application/json") const;
  // As Request, from the local address `source` (any of 127.0.0.0/8), for rules about client
  // addresses.
  HttpReply RequestFrom(const std::string& source, const std::string& method,
                        const std::string& target, const std::string& body = "",
                        const std::string& token = "") const;
  // POST of a JSON body.
  HttpReply Post(const std::string& target, const boost::json::value& body,
                 const std::string& token = "") const;
  // PUT /api/v1/admin/settings {"key": key, "value": value} with an admin's `token`.
  HttpReply PutSetting(const std::string& token, const std::string& key,
                       const boost::json::value& value) const;

  // From the line the server printed at start ("listening on http://127.0.0.1:PORT").
  std::uint16_t port() const { return port_; }
  const std::string& scheme() const { return scheme_; }  // "http" or "https"
  const std::string& url() const { return url_; }        // "http://127.0.0.1:PORT"
  const std::string& listening_line() const { return listening_line_; }
  // The owner setup token printed at the first start.
  const std::string& setup_token() const { return setup_token_; }

  std::string data_dir() const { return data_.path() + "/data"; }  // Made by the server.
  std::string blob_dir() const { return data_dir() + "/blobs"; }
  std::string db_path() const { return data_dir() + "/strongroom.db"; }
  std::string log_path() const { return logs_.path() + "/strongroomd.log"; }
  // The server's standard error so far (its log).
  std::string Log() const;

 private:
  std::map<std::string, std::string> Headers(const std::string& token) const;

  PortalOptions options_;
  TempDir data_;  // data_dir() is a subdirectory, so the server makes it itself.
  TempDir logs_;
  std::unique_ptr<ChildProcess> server_;
  std::uint16_t port_ = 0;
  std::string scheme_;
  std::string url_;
  std::string listening_line_;
  std::string setup_token_;
};

}  // namespace strongroom::testing
