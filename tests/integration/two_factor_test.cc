// Two-factor authentication end to end (issue 6): the real strongroomd on loopback with a fresh
// data directory per test, codes made by an independent TOTP implementation (Debian's
// oathtool, from the OATH Toolkit), the HTTP API, and the real strongroom CLI.
//
// Covered: enrolment (begin, confirm with an oathtool code, wrong and expired codes refused),
// sign-in with a code (none: totp_required; wrong, expired and replayed codes refused; a code
// of an earlier step than one already used refused), recovery codes (each works once, and new
// ones replace the old), disabling, failed codes counting towards lockout, the portal setting
// auth.require_2fa (on for a new portal unless configured off; a user without 2FA can only
// enrol until they do; admins can turn it off and on), audit events and login history, no
// secret in the server's log, and the CLI: `2fa enable` fed through a pipe, `login --totp`,
// `login --recovery-code`, `2fa status`, `2fa recovery-codes`, `2fa disable`.
//
// Time: codes are computed for explicit time steps (Unix time / 30 s). The server accepts the
// step before and after its own, so a test uses "now" and "now + 1 step" without waiting; a
// third fresh code for one user within one 30-second step would need a wait (WaitForStep).
#include "support/bytes_util.h"
#include "support/cli_machine.h"
#include "support/http_client.h"
#include "support/json_util.h"
#include "support/oath.h"
#include "support/portal.h"
#include "support/process.h"
#include "support/registration.h"
#include "support/text_util.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>
#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

namespace strongroom::testing {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace std::chrono_literals;

constexpr const char* kPassword = "a two-factor test password";

// The auth key (base64url) every HTTP-level user of these tests signs in with.
std::string SharedAuthKey() {
  return B64(SharedPasswordKeysFor(kPassword).keys->auth_key.bytes());
}

// --- JSON --------------------------------------------------------------------------------

std::vector<std::string> JStrings(const json::value& v, std::string_view pointer) {
  std::vector<std::string> out;
  const json::value* p = At(v, pointer);
  if (p == nullptr || !p->is_array()) {
    ADD_FAILURE() << "no array at " << pointer << " in " << json::serialize(v);
    return out;
  }
  for (const auto& e : p->as_array()) {
    if (e.is_string()) out.emplace_back(e.as_string());
  }
  return out;
}

// --- TOTP codes from oathtool ------------------------------------------------------------

// A code of the same time step that is not this one (a mistyped code).
std::string WrongCode(const std::string& code) {
  std::string wrong = code;
  wrong[0] = wrong[0] == '9' ? '0' : static_cast<char>(wrong[0] + 1);
  return wrong;
}

// The secret= parameter of an otpauth:// URI.
std::string SecretOf(const std::string& uri) {
  static const std::regex secret("[?&]secret=([A-Z2-7]+)(&|$)");
  std::smatch m;
  EXPECT_TRUE(std::regex_search(uri, m, secret)) << uri;
  return m.size() > 1 ? std::string(m[1]) : std::string();
}

// Waits until `step` is no longer in the future as the server sees it (it accepts one step
// ahead): for a code needed after the steps up to step - 1 were used.
void WaitForStep(std::int64_t step) {
  while (CurrentStep() + 1 < step) std::this_thread::sleep_for(200ms);
}

// --- an interactive child: read its output, then answer on its standard input ---------------

class Interactive {
 public:
  explicit Interactive(const std::vector<std::string>& argv) {
    int in[2], out[2], err[2];
    if (pipe(in) != 0 || pipe(out) != 0 || pipe(err) != 0) {
      ADD_FAILURE() << "pipe: " << std::strerror(errno);
      return;
    }
    pid_ = fork();
    if (pid_ == 0) {
      dup2(in[0], 0);
      dup2(out[1], 1);
      dup2(err[1], 2);
      for (int fd : {in[0], in[1], out[0], out[1], err[0], err[1]}) close(fd);
      std::vector<char*> args;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      execv(args[0], args.data());
      _exit(127);
    }
    close(in[0]);
    close(out[1]);
    close(err[1]);
    in_ = in[1];
    out_ = out[0];
    err_ = err[0];
  }
  ~Interactive() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    for (int fd : {in_, out_, err_}) {
      if (fd >= 0) close(fd);
    }
  }

  // Reads standard output until a line starts with `prefix`; returns that line.
  std::optional<std::string> LineStartingWith(const std::string& prefix,
                                              std::chrono::seconds timeout = 60s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      std::size_t start = scanned_;
      std::size_t eol;
      while ((eol = out_text_.find('\n', start)) != std::string::npos) {
        std::string line = out_text_.substr(start, eol - start);
        start = eol + 1;
        scanned_ = start;
        if (line.starts_with(prefix)) return line;
      }
      if (std::chrono::steady_clock::now() > deadline || !Pump(200)) return std::nullopt;
    }
  }

  void Write(const std::string& text) {
    ASSERT_EQ(::write(in_, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  }

  // Closes standard input, reads everything else, waits for the exit.
  RunResult Finish(std::chrono::seconds timeout = 60s) {
    close(in_);
    in_ = -1;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (Pump(200)) {
      if (std::chrono::steady_clock::now() > deadline) {
        ADD_FAILURE() << "timeout waiting for the CLI";
        break;
      }
    }
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    RunResult r;
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.out = out_text_;
    r.err = err_text_;
    return r;
  }

 private:
  // Reads what is available from stdout and stderr; false once both are at end.
  bool Pump(int timeout_ms) {
    if (out_ < 0 && err_ < 0) return false;
    pollfd fds[2] = {{out_, POLLIN, 0}, {err_, POLLIN, 0}};
    if (poll(fds, 2, timeout_ms) < 0 && errno != EINTR) return false;
    char buf[4096];
    for (int i = 0; i < 2; ++i) {
      int& fd = i == 0 ? out_ : err_;
      if (fd < 0 || fds[i].revents == 0) continue;
      const ssize_t n = read(fd, buf, sizeof buf);
      if (n <= 0) {
        close(fd);
        fd = -1;
      } else {
        (i == 0 ? out_text_ : err_text_).append(buf, static_cast<std::size_t>(n));
      }
    }
    return out_ >= 0 || err_ >= 0;
  }

  pid_t pid_ = -1;
  int in_ = -1, out_ = -1, err_ = -1;
  std::string out_text_, err_text_;
  std::size_t scanned_ = 0;
};

// --- users and machines --------------------------------------------------------------------

// A user registered over HTTP, with their session and (once enrolled) their TOTP secret. Every
// HTTP-level user signs in with the same auth key (Argon2id on the client side once per
// process; the server cannot tell, and each still has its own identity and verifier).
struct User {
  std::string email;
  std::string id;
  std::string token;
  json::value registration;    // The register response.
  std::string secret;          // Base32, once enrolment began.
  std::int64_t last_step = 0;  // The newest step whose code the server accepted.
  std::vector<std::string> recovery_codes;
};

// A user's machine for the CLI: its own STRONGROOM_HOME; a command may take two minutes.
class Machine : public CliMachine {
 public:
  Machine() : CliMachine(120s) {}
};

// --- the fixture -------------------------------------------------------------------------

class TwoFactorTest : public ::testing::Test {
 protected:
  // Most tests make their own mistakes on purpose: the lockout thresholds are out of reach
  // unless a test is about lockout.
  virtual PortalOptions ServerOptions() const {
    PortalOptions options;
    options.rate_limits = false;
    options.user_agent = "two-factor-test";
    options.env = {"STRONGROOM_ACCOUNT_LOCKOUT_THRESHOLD=1000",
                   "STRONGROOM_IP_LOCKOUT_THRESHOLD=100000"};
    return options;
  }

  void SetUp() override {
    ASSERT_TRUE(fs::exists(kOathtool)) << "oathtool is needed (scripts/install-deps)";
    ASSERT_NO_FATAL_FAILURE(portal_.Start(ServerOptions()));
  }

  void TearDown() override { portal_.FinishTest(6000); }

  // Registers over HTTP (the owner with the setup token, others with `strongroomd invite`).
  User Register(const std::string& email, bool owner = false) {
    const std::string invitation = owner ? portal_.setup_token() : portal_.Invite(email);
    const HttpRegistration r =
        RegisterOverHttp(portal_, invitation, email, SharedPasswordKeysFor(kPassword));
    User u;
    u.email = r.email;
    u.id = r.user_id;
    u.token = r.token;
    u.registration = r.response;
    return u;
  }

  // POST /api/v1/login with the shared auth key and, if given, one second-factor field.
  HttpReply Login(const User& u, const std::string& field = "", const std::string& value = "") {
    json::object body{{"email", u.email}, {"auth_key", SharedAuthKey()}};
    if (!field.empty()) body[field] = value;
    return portal_.Post("/api/v1/login", body);
  }

  json::value Status(const User& u) {
    const HttpReply r = portal_.Request("GET", "/api/v1/me/2fa", "", u.token);
    EXPECT_EQ(r.status, 200) << r.body;
    return ParseJson(r.body);
  }

  // Begins enrolment; keeps the secret from the URI.
  json::value Begin(User& u) {
    const HttpReply r = portal_.Post("/api/v1/me/2fa/begin", json::object{}, u.token);
    EXPECT_EQ(r.status, 200) << r.body;
    const json::value body = ParseJson(r.body);
    u.secret = SecretOf(JStr(body, "/otpauth_uri"));
    return body;
  }

  // Begins and confirms with an oathtool code of the current step; keeps the recovery codes.
  void Enrol(User& u) {
    Begin(u);
    const std::int64_t step = CurrentStep();
    const HttpReply r = portal_.Post("/api/v1/me/2fa/confirm",
                                     json::object{{"totp", OathtoolCode(u.secret, step)}}, u.token);
    ASSERT_EQ(r.status, 200) << r.body;
    u.last_step = step;
    u.recovery_codes = JStrings(ParseJson(r.body), "/recovery_codes");
    ASSERT_EQ(u.recovery_codes.size(), 10u);
  }

  // A code the server has not seen yet for this user (waiting for the clock if it must).
  std::string FreshCode(User& u) {
    const std::int64_t step = std::max(CurrentStep(), u.last_step + 1);
    WaitForStep(step);
    u.last_step = step;
    return OathtoolCode(u.secret, step);
  }

  // Signs in with a fresh code; returns the new session's token.
  std::string LoginWithCode(User& u) {
    const HttpReply r = Login(u, "totp", FreshCode(u));
    EXPECT_EQ(r.status, 200) << r.body;
    return r.status == 200 ? JStr(ParseJson(r.body), "/session/token") : std::string();
  }

  // result/reason of the user's login history, newest first.
  std::vector<std::string> Logins(const std::string& token) {
    const HttpReply r = portal_.Request("GET", "/api/v1/me/logins", "", token);
    EXPECT_EQ(r.status, 200) << r.body;
    std::vector<std::string> out;
    const json::value body = ParseJson(r.body);
    if (const auto* list = At(body, "/logins"); list != nullptr && list->is_array()) {
      for (const auto& e : list->as_array()) {
        out.push_back(JStr(e, "/result") + "/" + JStr(e, "/reason"));
      }
    }
    return out;
  }

  // Audit events (as "action result detail") of `action`, newest first. Needs an admin.
  std::vector<std::string> AuditOf(const std::string& admin_token, const std::string& action) {
    const HttpReply r =
        portal_.Request("GET", "/api/v1/admin/audit?action=" + action, "", admin_token);
    EXPECT_EQ(r.status, 200) << r.body;
    std::vector<std::string> out;
    const json::value body = ParseJson(r.body);
    if (const auto* list = At(body, "/events"); list != nullptr && list->is_array()) {
      for (const auto& e : list->as_array()) {
        const json::value* detail = At(e, "/detail");
        out.push_back(JStr(e, "/action") + " " + JStr(e, "/result") + " " +
                      (detail != nullptr ? json::serialize(*detail) : "{}"));
      }
    }
    return out;
  }

  Portal portal_;
};

bool Contains(const std::vector<std::string>& v, const std::string& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

// --- 1. enrolment and sign-in with codes from oathtool --------------------------------------

TEST_F(TwoFactorTest, EnrolAndSignInWithOathtoolCodesRefusingWrongExpiredAndReplayedOnes) {
  User owner = Register("owner@example.com", /*owner=*/true);
  ASSERT_FALSE(owner.token.empty());
  EXPECT_FALSE(JBool(owner.registration, "/totp_enrolment_required"));
  json::value status = Status(owner);
  EXPECT_EQ(JStr(status, "/state"), "disabled");
  EXPECT_EQ(JInt(status, "/recovery_codes_left"), 0);
  EXPECT_FALSE(JBool(status, "/required")) << "this portal was configured not to require it";

  // Begin: a pending enrolment with a 160-bit secret in a standard URI.
  const json::value begun = Begin(owner);
  EXPECT_EQ(JStr(begun, "/state"), "pending");
  const std::string uri = JStr(begun, "/otpauth_uri");
  EXPECT_TRUE(uri.starts_with("otpauth://totp/Strongroom:owner@example.com?secret=")) << uri;
  EXPECT_NE(uri.find("&issuer=Strongroom&algorithm=SHA1&digits=6&period=30"), std::string::npos)
      << uri;
  EXPECT_EQ(owner.secret.size(), 32u);
  EXPECT_EQ(JStr(begun, "/secret"), owner.secret);
  EXPECT_EQ(JStr(Status(owner), "/state"), "pending");
  EXPECT_EQ(Login(owner).status, 200) << "a pending enrolment does not guard sign-in yet";

  // Confirm: a wrong code and an expired one (5 minutes old) are refused.
  const std::int64_t step = CurrentStep();
  const std::string code = OathtoolCode(owner.secret, step);
  for (const std::string& bad : {WrongCode(code), OathtoolCode(owner.secret, step - 10)}) {
    const HttpReply r =
        portal_.Post("/api/v1/me/2fa/confirm", json::object{{"totp", bad}}, owner.token);
    EXPECT_EQ(r.status, 401) << r.body;
    EXPECT_EQ(ErrorCode(r), "invalid_totp");
  }
  const HttpReply malformed =
      portal_.Post("/api/v1/me/2fa/confirm", json::object{{"totp", "12345"}}, owner.token);
  EXPECT_EQ(malformed.status, 400) << malformed.body;
  EXPECT_EQ(JStr(Status(owner), "/state"), "pending");

  const HttpReply confirmed =
      portal_.Post("/api/v1/me/2fa/confirm", json::object{{"totp", code}}, owner.token);
  ASSERT_EQ(confirmed.status, 200) << confirmed.body;
  owner.last_step = step;
  const auto codes = JStrings(ParseJson(confirmed.body), "/recovery_codes");
  ASSERT_EQ(codes.size(), 10u);
  EXPECT_EQ(std::set<std::string>(codes.begin(), codes.end()).size(), 10u);
  for (const auto& c : codes) {
    EXPECT_TRUE(std::regex_match(c, std::regex("[a-z2-7]{5}-[a-z2-7]{5}"))) << c;
  }
  status = Status(owner);
  EXPECT_EQ(JStr(status, "/state"), "enabled");
  EXPECT_EQ(JInt(status, "/recovery_codes_left"), 10);
  const HttpReply again = portal_.Post("/api/v1/me/2fa/begin", json::object{}, owner.token);
  EXPECT_EQ(again.status, 409);
  EXPECT_EQ(ErrorCode(again), "2fa_already_enabled");
  EXPECT_EQ(
      portal_.Post("/api/v1/me/2fa/confirm", json::object{{"totp", code}}, owner.token).status,
      409);

  // Sign-in: the right password alone is not enough.
  HttpReply r = Login(owner);
  EXPECT_EQ(r.status, 401) << r.body;
  EXPECT_EQ(ErrorCode(r), "totp_required");
  EXPECT_EQ(r.body.find("token"), std::string::npos) << "no session without the code";
  r = Login(owner, "totp", WrongCode(OathtoolCode(owner.secret, step + 1)));
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(ErrorCode(r), "invalid_totp");
  r = Login(owner, "totp", OathtoolCode(owner.secret, step - 10));
  EXPECT_EQ(ErrorCode(r), "invalid_totp") << "expired";
  r = Login(owner, "totp", code);
  EXPECT_EQ(ErrorCode(r), "invalid_totp") << "the code that confirmed enrolment is spent";
  r = Login(owner, "totp", "12345x");
  EXPECT_EQ(r.status, 400) << r.body;

  // A code of a later step (at once: the next step's, as the server allows one step of
  // drift) signs in...
  const std::int64_t later = std::max(CurrentStep(), step + 1);
  const std::string next = OathtoolCode(owner.secret, later);
  r = Login(owner, "totp", next);
  ASSERT_EQ(r.status, 200) << r.body;
  const std::string token = JStr(ParseJson(r.body), "/session/token");
  EXPECT_EQ(portal_.Request("GET", "/api/v1/me/sessions", "", token).status, 200);
  owner.last_step = later;
  // ... once: the same code again, or a code of an earlier step, is a replay.
  r = Login(owner, "totp", next);
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(ErrorCode(r), "invalid_totp");
  r = Login(owner, "totp", OathtoolCode(owner.secret, later - 1));
  EXPECT_EQ(ErrorCode(r), "invalid_totp");
  const HttpReply both = portal_.Post("/api/v1/login", json::object{{"email", owner.email},
                                                                    {"auth_key", SharedAuthKey()},
                                                                    {"totp", next},
                                                                    {"recovery_code", codes[0]}});
  EXPECT_EQ(both.status, 400) << both.body;
  // A wrong password is still just a wrong password (nothing said about the second factor).
  const HttpReply wrong_password = portal_.Post(
      "/api/v1/login",
      json::object{{"email", owner.email}, {"auth_key", B64(Bytes(32, 7))}, {"totp", next}});
  EXPECT_EQ(wrong_password.status, 401);
  EXPECT_EQ(ErrorCode(wrong_password), "invalid_credentials");

  // The login history: what happened, and what counts towards lockout.
  const auto history = Logins(token);
  ASSERT_GE(history.size(), 8u);
  EXPECT_EQ(history[0], "failure/wrong_credentials");
  EXPECT_TRUE(Contains(history, "success/ok"));
  EXPECT_TRUE(Contains(history, "refused/totp_required"));
  EXPECT_TRUE(Contains(history, "failure/invalid_totp"));
  EXPECT_TRUE(Contains(history, "failure/totp_replayed"));

  // The audit trail.
  const auto enable = AuditOf(token, "2fa.enable");
  EXPECT_EQ(std::count_if(enable.begin(), enable.end(),
                          [](const auto& e) { return e.starts_with("2fa.enable failure"); }),
            2);
  EXPECT_TRUE(Contains(enable, "2fa.enable success {}"));
  EXPECT_EQ(AuditOf(token, "2fa.enrol").size(), 1u);
  const auto logins = AuditOf(token, "session.login");
  EXPECT_TRUE(Contains(logins, R"(session.login success {"second_factor":"totp"})"));
  EXPECT_TRUE(Contains(logins, R"(session.login denied {"reason":"totp_required"})"));
  EXPECT_TRUE(Contains(logins, R"(session.login failure {"reason":"totp_replayed"})"));

  // Nothing secret reached the log.
  const std::string log = portal_.Log();
  EXPECT_EQ(log.find(owner.secret), std::string::npos) << "the TOTP secret is in the log";
  for (const auto& c : codes) EXPECT_EQ(log.find(c), std::string::npos) << c;
}

// --- 2. recovery codes and disabling ------------------------------------------------------

TEST_F(TwoFactorTest, RecoveryCodesWorkOnceAndNewOnesReplaceTheOldThenDisable) {
  User owner = Register("owner@example.com", true);
  ASSERT_NO_FATAL_FAILURE(Enrol(owner));
  const auto& codes = owner.recovery_codes;

  // Each recovery code signs in once; case, spaces and the dash do not matter.
  HttpReply r = Login(owner, "recovery_code", codes[0]);
  ASSERT_EQ(r.status, 200) << r.body;
  const std::string token = JStr(ParseJson(r.body), "/session/token");
  r = Login(owner, "recovery_code", codes[0]);
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(ErrorCode(r), "invalid_recovery_code");
  std::string typed = codes[1];
  std::transform(typed.begin(), typed.end(), typed.begin(), ::toupper);
  typed.replace(typed.find('-'), 1, " ");
  EXPECT_EQ(Login(owner, "recovery_code", typed).status, 200);
  EXPECT_EQ(ErrorCode(Login(owner, "recovery_code", "aaaaa-aaaaa")), "invalid_recovery_code");
  EXPECT_EQ(Login(owner, "recovery_code", "not a code").status, 400);
  EXPECT_EQ(JInt(Status(owner), "/recovery_codes_left"), 8);

  // New codes need proof, and then replace every old one.
  const auto regenerate = [&](const json::object& proof) {
    return portal_.Post("/api/v1/me/2fa/recovery-codes", proof, token);
  };
  r = regenerate(json::object{});
  EXPECT_EQ(r.status, 400) << r.body;
  r = regenerate(json::object{{"totp", WrongCode(OathtoolCode(owner.secret, CurrentStep()))}});
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(ErrorCode(r), "invalid_totp");
  r = regenerate(json::object{{"recovery_code", codes[0]}});
  EXPECT_EQ(ErrorCode(r), "invalid_recovery_code") << "a spent code proves nothing";
  r = regenerate(json::object{{"totp", FreshCode(owner)}});
  ASSERT_EQ(r.status, 200) << r.body;
  const auto fresh = JStrings(ParseJson(r.body), "/recovery_codes");
  ASSERT_EQ(fresh.size(), 10u);
  for (const auto& c : fresh) EXPECT_FALSE(Contains(codes, c));
  EXPECT_EQ(JInt(Status(owner), "/recovery_codes_left"), 10);
  EXPECT_EQ(ErrorCode(Login(owner, "recovery_code", codes[2])), "invalid_recovery_code")
      << "old codes stop working";
  EXPECT_EQ(Login(owner, "recovery_code", fresh[0]).status, 200);

  // Disabling needs proof too.
  const auto disable = [&](const json::object& proof) {
    return portal_.Post("/api/v1/me/2fa/disable", proof, token);
  };
  EXPECT_EQ(disable(json::object{}).status, 400);
  r = disable(json::object{{"recovery_code", fresh[0]}});
  EXPECT_EQ(ErrorCode(r), "invalid_recovery_code");
  EXPECT_EQ(JStr(Status(owner), "/state"), "enabled");
  r = disable(json::object{{"recovery_code", fresh[1]}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(JStr(ParseJson(r.body), "/state"), "disabled");
  EXPECT_EQ(JStr(Status(owner), "/state"), "disabled");
  EXPECT_EQ(JInt(Status(owner), "/recovery_codes_left"), 0);
  r = Login(owner);
  EXPECT_EQ(r.status, 200) << "no second factor any more: " << r.body;
  r = disable(json::object{{"recovery_code", fresh[2]}});
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(ErrorCode(r), "2fa_not_enabled");
  EXPECT_EQ(ErrorCode(regenerate(json::object{{"recovery_code", fresh[2]}})), "2fa_not_enabled");

  const auto used = AuditOf(token, "session.login");
  EXPECT_TRUE(Contains(used, R"(session.login success {"second_factor":"recovery_code"})"));
  const auto regenerated = AuditOf(token, "2fa.recovery_codes");
  EXPECT_TRUE(Contains(regenerated, R"(2fa.recovery_codes success {"second_factor":"totp"})"));
  EXPECT_TRUE(Contains(regenerated, R"(2fa.recovery_codes failure {"reason":"invalid_totp"})"));
  const auto disabled = AuditOf(token, "2fa.disable");
  EXPECT_TRUE(Contains(disabled, R"(2fa.disable success {"second_factor":"recovery_code"})"));
  EXPECT_TRUE(Contains(disabled, R"(2fa.disable failure {"reason":"invalid_recovery_code"})"));

  // And enrolment can start over, with a new secret.
  const std::string old_secret = owner.secret;
  ASSERT_NO_FATAL_FAILURE(Enrol(owner));
  EXPECT_NE(owner.secret, old_secret);
}

// --- 3. lockout ----------------------------------------------------------------------------

class TwoFactorLockoutTest : public TwoFactorTest {
 protected:
  PortalOptions ServerOptions() const override {
    PortalOptions options = TwoFactorTest::ServerOptions();
    options.env = {"STRONGROOM_ACCOUNT_LOCKOUT_THRESHOLD=3", "STRONGROOM_LOCKOUT_BASE_S=2",
                   "STRONGROOM_LOCKOUT_MAX_S=4"};
    return options;
  }
};

TEST_F(TwoFactorLockoutTest, FailedCodesCountTowardsTheLockout) {
  User owner = Register("owner@example.com", true);
  ASSERT_NO_FATAL_FAILURE(Enrol(owner));
  // The password is right every time; only the codes are wrong.
  for (int i = 0; i < 3; ++i) {
    const HttpReply r = Login(owner, "totp", WrongCode(OathtoolCode(owner.secret, CurrentStep())));
    EXPECT_EQ(r.status, 401) << i << ": " << r.body;
    EXPECT_EQ(ErrorCode(r), "invalid_totp");
  }
  // Locked: even the right code is not checked (so it is not spent either).
  const std::string right = OathtoolCode(owner.secret, owner.last_step + 1);
  HttpReply r = Login(owner, "totp", right);
  EXPECT_EQ(r.status, 429) << r.body;
  EXPECT_EQ(ErrorCode(r), "locked_out");
  EXPECT_FALSE(r.header("retry-after").empty());
  r = Login(owner, "recovery_code", owner.recovery_codes[0]);
  EXPECT_EQ(ErrorCode(r), "locked_out");
  // Wrong recovery codes count too: the lock ends, one more failure locks again.
  std::this_thread::sleep_for(2500ms);
  r = Login(owner, "recovery_code", "aaaaa-aaaaa");
  EXPECT_EQ(ErrorCode(r), "invalid_recovery_code");
  EXPECT_EQ(ErrorCode(Login(owner, "totp", right)), "locked_out");
  std::this_thread::sleep_for(4500ms);
  // The code refused while locked was not spent (unless the clock has moved past it since).
  const std::int64_t now_step = std::max(CurrentStep(), owner.last_step + 1);
  r = Login(owner, "totp", OathtoolCode(owner.secret, now_step));
  ASSERT_EQ(r.status, 200) << r.body;
  owner.last_step = now_step;
  const auto history = Logins(JStr(ParseJson(r.body), "/session/token"));
  ASSERT_GE(history.size(), 8u);
  EXPECT_EQ(history[0], "success/ok");
  EXPECT_EQ(history[1], "refused/locked");
  EXPECT_EQ(history[2], "failure/invalid_recovery_code");
  EXPECT_EQ(history[3], "refused/locked");
  EXPECT_EQ(history[4], "refused/locked");
  EXPECT_EQ(history[5], "failure/invalid_totp");
  EXPECT_EQ(history[6], "failure/invalid_totp");
  EXPECT_EQ(history[7], "failure/invalid_totp");
}

TEST_F(TwoFactorLockoutTest, FailedCodesWhenDisablingCountTowardsTheLockoutToo) {
  User owner = Register("owner@example.com", true);
  ASSERT_NO_FATAL_FAILURE(Enrol(owner));
  const std::string token = owner.token;
  for (int i = 0; i < 3; ++i) {
    const HttpReply r =
        portal_.Post("/api/v1/me/2fa/disable",
                     json::object{{"recovery_code", "aaaaa-aaaa" + std::to_string(i + 2)}}, token);
    EXPECT_EQ(ErrorCode(r), "invalid_recovery_code") << r.body;
  }
  HttpReply r = portal_.Post("/api/v1/me/2fa/disable",
                             json::object{{"recovery_code", owner.recovery_codes[0]}}, token);
  EXPECT_EQ(r.status, 429) << r.body;
  EXPECT_EQ(ErrorCode(r), "locked_out");
  EXPECT_EQ(ErrorCode(Login(owner, "recovery_code", owner.recovery_codes[0])), "locked_out")
      << "the same account lock as sign-in";
  EXPECT_EQ(JStr(Status(owner), "/state"), "enabled");
}

// --- 4. the portal requires two-factor authentication -----------------------------------------

class TwoFactorRequiredTest : public TwoFactorTest {
 protected:
  // No STRONGROOM_REQUIRE_2FA_DEFAULT: a new portal's own default.
  PortalOptions ServerOptions() const override {
    PortalOptions options = TwoFactorTest::ServerOptions();
    options.env.clear();
    options.require_2fa_default.reset();
    return options;
  }
};

TEST_F(TwoFactorRequiredTest, ANewPortalRequiresItAndUsersMustEnrolBeforeAnythingElse) {
  User owner = Register("owner@example.com", true);
  ASSERT_FALSE(owner.token.empty());
  EXPECT_TRUE(JBool(owner.registration, "/totp_enrolment_required"));
  const auto expect_enrolment_required = [&](const std::string& method, const std::string& target,
                                             const std::string& token) {
    const HttpReply r = portal_.Request(method, target, method == "GET" ? "" : "{}", token);
    EXPECT_EQ(r.status, 403) << method << " " << target << ": " << r.body;
    EXPECT_EQ(ErrorCode(r), "2fa_enrolment_required") << method << " " << target;
  };
  // Only enrolment, GET /me and logout are open to the owner's session.
  expect_enrolment_required("GET", "/api/v1/room/root", owner.token);
  expect_enrolment_required("GET", "/api/v1/me/sessions", owner.token);
  expect_enrolment_required("GET", "/api/v1/me/keys", owner.token);
  expect_enrolment_required("GET", "/api/v1/admin/settings", owner.token);
  expect_enrolment_required("GET", "/api/v1/public-keys?email=owner@example.com", owner.token);
  expect_enrolment_required("POST", "/api/v1/me/sessions/revoke-others", owner.token);
  EXPECT_EQ(portal_.Request("GET", "/api/v1/me", "", owner.token).status, 200);
  json::value status = Status(owner);
  EXPECT_EQ(JStr(status, "/state"), "disabled");
  EXPECT_TRUE(JBool(status, "/required"));
  // Sign-in works, and says so.
  HttpReply r = Login(owner);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(JBool(ParseJson(r.body), "/totp_enrolment_required"));
  const std::string second = JStr(ParseJson(r.body), "/session/token");
  expect_enrolment_required("GET", "/api/v1/me/sessions", second);
  EXPECT_EQ(portal_.Post("/api/v1/logout", json::object{}, second).status, 200);

  // After enrolling, everything opens.
  ASSERT_NO_FATAL_FAILURE(Enrol(owner));
  EXPECT_EQ(portal_.Request("GET", "/api/v1/me/sessions", "", owner.token).status, 200);
  r = portal_.Request("GET", "/api/v1/room/root", "", owner.token);
  EXPECT_EQ(r.status, 404) << "no root yet, but no longer refused: " << r.body;
  r = portal_.Request("GET", "/api/v1/admin/settings", "", owner.token);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(JBool(ParseJson(r.body), "/auth.require_2fa"));
  r = Login(owner, "totp", FreshCode(owner));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_FALSE(JBool(ParseJson(r.body), "/totp_enrolment_required"));
  const auto created = AuditOf(owner.token, "portal.create");
  ASSERT_EQ(created.size(), 1u);
  EXPECT_EQ(created[0], R"(portal.create success {"auth.require_2fa":true})");

  // A user invited later is held the same way, until an admin turns the requirement off...
  User bob = Register("bob@example.com");
  ASSERT_FALSE(bob.token.empty());
  EXPECT_TRUE(JBool(bob.registration, "/totp_enrolment_required"));
  expect_enrolment_required("GET", "/api/v1/me/sessions", bob.token);
  r = portal_.Request("PUT", "/api/v1/admin/settings",
                      R"({"key": "auth.require_2fa", "value": false})", owner.token);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_FALSE(JBool(ParseJson(r.body), "/auth.require_2fa"));
  EXPECT_EQ(portal_.Request("GET", "/api/v1/me/sessions", "", bob.token).status, 200)
      << "at once, for sessions that already exist";
  EXPECT_FALSE(JBool(Status(bob), "/required"));
  r = Login(bob);
  ASSERT_EQ(r.status, 200);
  EXPECT_FALSE(JBool(ParseJson(r.body), "/totp_enrolment_required"));
  // ... and back on.
  r = portal_.Request("PUT", "/api/v1/admin/settings",
                      R"({"key": "auth.require_2fa", "value": true})", owner.token);
  ASSERT_EQ(r.status, 200) << r.body;
  expect_enrolment_required("GET", "/api/v1/me/sessions", bob.token);
  EXPECT_EQ(portal_.Request("GET", "/api/v1/me/sessions", "", owner.token).status, 200)
      << "users with 2FA are not affected";
  r = portal_.Request("PUT", "/api/v1/admin/settings",
                      R"({"key": "auth.require_2fa", "value": "yes"})", owner.token);
  EXPECT_EQ(r.status, 400) << r.body;
  const auto changes = AuditOf(owner.token, "settings.change");
  EXPECT_EQ(changes.size(), 2u);
  EXPECT_TRUE(
      Contains(changes, R"(settings.change success {"key":"auth.require_2fa","value":false})"));
  // Bob enrols and is let in; a non-admin still cannot change the setting.
  ASSERT_NO_FATAL_FAILURE(Enrol(bob));
  EXPECT_EQ(portal_.Request("GET", "/api/v1/me/sessions", "", bob.token).status, 200);
  r = portal_.Request("PUT", "/api/v1/admin/settings",
                      R"({"key": "auth.require_2fa", "value": false})", bob.token);
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(ErrorCode(r), "forbidden");
  // Turning 2FA off while the portal requires it holds the session again until re-enrolment.
  r = portal_.Post("/api/v1/me/2fa/disable", json::object{{"recovery_code", bob.recovery_codes[0]}},
                   bob.token);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(JBool(ParseJson(r.body), "/required"));
  expect_enrolment_required("GET", "/api/v1/me/sessions", bob.token);
}

// --- 5. the CLI -------------------------------------------------------------------------------

// `strongroom 2fa enable` as a script would drive it: read the otpauth:// line from its
// standard output, compute the code, answer on its standard input. Returns the secret and the
// CLI's result.
struct CliEnrolment {
  std::string secret;
  std::int64_t step = 0;
  RunResult result;
};

CliEnrolment EnableThroughPipe(const Machine& m, bool wrong_code = false) {
  CliEnrolment out;
  Interactive cli(m.Argv({"2fa", "enable"}));
  const auto uri = cli.LineStartingWith("otpauth://");
  EXPECT_TRUE(uri.has_value()) << "no otpauth:// line";
  if (!uri) {
    out.result = cli.Finish();
    return out;
  }
  out.secret = SecretOf(*uri);
  out.step = CurrentStep();
  const std::string code = OathtoolCode(out.secret, out.step);
  cli.Write((wrong_code ? WrongCode(code) : code) + "\n");
  out.result = cli.Finish();
  return out;
}

// The recovery codes a CLI command printed (lines "  xxxxx-xxxxx").
std::vector<std::string> PrintedCodes(const std::string& out) {
  std::vector<std::string> codes;
  static const std::regex line(R"(^  ([a-z2-7]{5}-[a-z2-7]{5})$)");
  std::istringstream in(out);
  for (std::string l; std::getline(in, l);) {
    std::smatch m;
    if (std::regex_match(l, m, line)) codes.push_back(m[1]);
  }
  return codes;
}

TEST_F(TwoFactorTest, CliEnablesThroughAPipeSignsInWithCodesAndManagesRecoveryCodes) {
  Machine desk;
  const std::string password = "owner password one";
  ASSERT_EQ(desk.Cli({"register", "--server", portal_.url(), "--invite", portal_.setup_token(),
                      "--email", "owner@example.com", "--password-stdin"},
                     password + "\n")
                .exit_code,
            0);
  json::value status = CliJson(desk.Cli({"2fa", "status", "--json"}));
  EXPECT_EQ(JStr(status, "/state"), "disabled");

  // A wrong first code leaves 2FA off (pending), and says why.
  CliEnrolment failed = EnableThroughPipe(desk, /*wrong_code=*/true);
  ExpectCliErrorAfterOutput(failed.result, "invalid_totp");
  EXPECT_EQ(JStr(CliJson(desk.Cli({"2fa", "status", "--json"})), "/state"), "pending");

  CliEnrolment enrolled = EnableThroughPipe(desk);
  ASSERT_EQ(enrolled.result.exit_code, 0) << Describe(enrolled.result);
  EXPECT_NE(enrolled.secret, failed.secret) << "a new enrolment, a new secret";
  EXPECT_EQ(enrolled.result.out.find("\u2588"), std::string::npos)
      << "no QR code when standard output is not a terminal";
  const auto codes = PrintedCodes(enrolled.result.out);
  ASSERT_EQ(codes.size(), 10u) << enrolled.result.out;
  const RunResult human_status = desk.Cli({"2fa", "status"});
  EXPECT_EQ(human_status.exit_code, 0) << Describe(human_status);
  EXPECT_NE(human_status.out.find("two-factor authentication: enabled"), std::string::npos);
  EXPECT_NE(human_status.out.find("recovery codes left: 10"), std::string::npos);

  // login: without a code and without a terminal, a clear refusal and no session.
  Machine laptop;
  const std::vector<std::string> login{"login",   "--server",          portal_.url(),
                                       "--email", "owner@example.com", "--password-stdin"};
  RunResult r = laptop.Cli(login, password + "\n");
  ExpectCliErrorAfterOutput(r, "totp_required");
  EXPECT_NE(r.err.find("--totp"), std::string::npos) << r.err;
  EXPECT_TRUE(laptop.SessionToken().empty());
  // With --totp (the next step's code: the enrolment's is spent).
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = login;
    args.insert(args.end(), extra.begin(), extra.end());
    return laptop.Cli(args, password + "\n");
  };
  ExpectCliErrorAfterOutput(with({"--totp", OathtoolCode(enrolled.secret, enrolled.step)}),
                            "invalid_totp");
  r = with({"--totp", OathtoolCode(enrolled.secret, std::max(CurrentStep(), enrolled.step + 1))});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_FALSE(laptop.SessionToken().empty());
  // With a recovery code, once.
  Machine phone;
  const auto phone_login = [&](const std::string& code) {
    std::vector<std::string> args = login;
    args.insert(args.end(), {"--recovery-code", code});
    return phone.Cli(args, password + "\n");
  };
  r = phone_login(codes[0]);
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  ExpectCliErrorAfterOutput(phone_login(codes[0]), "invalid_recovery_code");
  EXPECT_EQ(with({"--totp", "123456", "--recovery-code", codes[1]}).exit_code, 2)
      << "--totp and --recovery-code exclude each other";

  // New recovery codes (the proof from an option), as JSON.
  const json::value regenerated =
      CliJson(laptop.Cli({"2fa", "recovery-codes", "--recovery-code", codes[1], "--json"}));
  const auto fresh = JStrings(regenerated, "/recovery_codes");
  ASSERT_EQ(fresh.size(), 10u);
  ExpectCliErrorAfterOutput(phone_login(codes[2]), "invalid_recovery_code");
  EXPECT_EQ(JInt(CliJson(laptop.Cli({"2fa", "status", "--json"})), "/recovery_codes_left"), 10);

  // Disable, the proof read from standard input: a wrong one first.
  ExpectCliErrorAfterOutput(laptop.Cli({"2fa", "disable"}, codes[3] + "\n"),
                            "invalid_recovery_code");
  r = laptop.Cli({"2fa", "disable"}, fresh[0] + "\n");
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(JStr(CliJson(laptop.Cli({"2fa", "status", "--json"})), "/state"), "disabled");
  Machine other;
  EXPECT_EQ(other.Cli(login, password + "\n").exit_code, 0) << "no code needed any more";
  ExpectCliErrorAfterOutput(laptop.Cli({"2fa", "disable", "--recovery-code", fresh[1]}),
                            "2fa_not_enabled");

  // Usage errors exit 2.
  EXPECT_EQ(laptop.Cli({"2fa"}).exit_code, 2);
  EXPECT_EQ(laptop.Cli({"2fa", "bogus"}).exit_code, 2);
}

class TwoFactorRequiredCliTest : public TwoFactorRequiredTest {};

TEST_F(TwoFactorRequiredCliTest, TheCliSaysWhatToDoAndEnrolmentOpensTheAccount) {
  Machine desk;
  const std::string password = "owner password one";
  RunResult r = desk.Cli({"register", "--server", portal_.url(), "--invite", portal_.setup_token(),
                          "--email", "owner@example.com", "--password-stdin"},
                         password + "\n");
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_NE(r.err.find("strongroom 2fa enable"), std::string::npos) << r.err;
  EXPECT_EQ(desk.Cli({"whoami"}).exit_code, 0);
  ExpectCliErrorAfterOutput(desk.Cli({"sessions"}), "2fa_enrolment_required");
  ExpectCliErrorAfterOutput(desk.Cli({"logins"}), "2fa_enrolment_required");
  EXPECT_FALSE(desk.SessionToken().empty()) << "a held session is not a dead one";

  const CliEnrolment enrolled = EnableThroughPipe(desk);
  ASSERT_EQ(enrolled.result.exit_code, 0) << Describe(enrolled.result);
  r = desk.Cli({"sessions"});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  json::value status = CliJson(desk.Cli({"2fa", "status", "--json"}));
  EXPECT_EQ(JStr(status, "/state"), "enabled");
  EXPECT_TRUE(JBool(status, "/required"));
}

}  // namespace
}  // namespace strongroom::testing
