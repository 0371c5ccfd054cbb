// Accounts end to end (issue 4): the real strongroomd on loopback with a fresh data directory
// per test, the real strongroom CLI with one STRONGROOM_HOME per simulated user machine, and
// the HTTP API plus the crypto core where a test has to look behind the CLI.
//
// Covered: registration with the owner setup token and with invitations, sign-in, wrong
// passwords, lockout and its end, password change, recovery, sessions and their revocation,
// pre-login indistinguishability, login history and audit trail, public key lookup, no
// secrets on disk or in the logs, and `strongroomd check`.
//
// Cost: every sign-in runs Argon2id (64 MiB) in the client, so each test keeps its logins few.
#include "support/bytes_util.h"
#include "support/cli_machine.h"
#include "support/http_client.h"
#include "support/json_util.h"
#include "support/portal.h"
#include "support/process.h"
#include "support/registration.h"
#include "support/text_util.h"

#include "strongroom/crypto/encoding.h"
#include "strongroom/crypto/identity.h"
#include "strongroom/crypto/password.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <sys/stat.h>
#include <algorithm>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <thread>

namespace strongroom::testing {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace std::chrono_literals;

// --- crypto helpers ----------------------------------------------------------------------

crypto::KdfParams KdfFromJson(const json::value& kdf) {
  crypto::KdfParams params;
  EXPECT_EQ(JStr(kdf, "/algorithm"), "argon2id13");
  params.opslimit = static_cast<std::uint32_t>(JInt(kdf, "/opslimit"));
  params.memlimit = static_cast<std::uint64_t>(JInt(kdf, "/memlimit"));
  const Bytes salt = UnB64(JStr(kdf, "/salt"));
  EXPECT_EQ(salt.size(), crypto::kKdfSaltSize);
  std::copy_n(salt.begin(), std::min(salt.size(), params.salt.size()), params.salt.begin());
  return params;
}

// --- the client --------------------------------------------------------------------------

// The server may list registration (which signs the new user in) as the oldest entry of the
// login history; the API does not say, so the tests accept either.
void DropRegistrationEntry(std::vector<std::string>& results) {
  if (!results.empty() && results.back() == "success/registration") results.pop_back();
}

// A registered user and the machine they registered on.
struct Account {
  CliMachine machine;
  std::string email;
  std::string password;
  std::string user_id;
  std::string recovery_code;
  std::string fingerprint;
};

// An HTTP sign-in done by the test itself with the crypto core.
struct HttpSignIn {
  HttpReply reply;
  json::value body;
  crypto::KdfParams kdf;
  std::string token;
};

// --- the fixture -------------------------------------------------------------------------

class AccountsTest : public ::testing::Test {
 protected:
  // Settings for the server; tests that need others override this. These tests are about
  // accounts without a second factor: the portal is created with two-factor authentication
  // not required (two_factor_test.cc covers it required), and keeps its rate limits.
  virtual PortalOptions ServerOptions() const {
    PortalOptions options;
    options.user_agent = "accounts-test";
    return options;
  }

  void SetUp() override { ASSERT_NO_FATAL_FAILURE(portal_.Start(ServerOptions())); }

  void TearDown() override { portal_.FinishTest(6000); }

  // Registers `email` on a new machine with `invitation` (default: a new invitation from
  // `strongroomd invite`). Fails the test unless it works.
  Account Register(const std::string& email, const std::string& password,
                   std::string invitation = "", const std::string& name = "") {
    if (invitation.empty()) invitation = portal_.Invite(email);
    Account a;
    a.email = email;
    a.password = password;
    std::vector<std::string> args{"register", "--server", portal_.url(), "--invite",
                                  invitation, "--email",  email,         "--password-stdin",
                                  "--json"};
    if (!name.empty()) {
      args.push_back("--name");
      args.push_back(name);
    }
    const json::value out = CliJson(a.machine.Cli(args, password + "\n"));
    if (!out.is_object() || out.as_object().empty()) return a;
    a.user_id = JStr(out, "/user_id");
    EXPECT_EQ(JStr(out, "/email"), email);
    a.recovery_code = JStr(out, "/recovery_code");
    a.fingerprint = JStr(out, "/fingerprint");
    EXPECT_TRUE(a.user_id.starts_with("u-")) << a.user_id;
    return a;
  }

  Account RegisterOwner(const std::string& email, const std::string& password) {
    return Register(email, password, portal_.setup_token());
  }

  RunResult Login(const CliMachine& m, const std::string& email, const std::string& password) {
    return m.Cli({"login", "--server", portal_.url(), "--email", email, "--password-stdin"},
                 password + "\n");
  }

  json::value WhoAmI(const CliMachine& m) { return CliJson(m.Cli({"whoami", "--json"})); }

  // The bearer token of `m`'s current session, checked to be a private file.
  std::string TokenOf(const CliMachine& m) {
    struct stat st {};
    EXPECT_EQ(::stat(m.SessionFile().c_str(), &st), 0) << m.SessionFile();
    EXPECT_EQ(st.st_mode & 0777, 0600u) << "session file must be mode 0600";
    const std::string token = m.SessionToken();
    EXPECT_FALSE(token.empty());
    return token;
  }

  json::value Prelogin(const std::string& email) {
    const HttpReply r = portal_.Post("/api/v1/prelogin", json::object{{"email", email}});
    EXPECT_EQ(r.status, 200) << r.body;
    return ParseJson(r.body);
  }

  // prelogin -> DerivePasswordKeys -> POST /api/v1/login, as a client would.
  HttpSignIn SignInOverHttp(const std::string& email, const std::string& password,
                            Bytes* auth_key_out = nullptr) {
    HttpSignIn s;
    const json::value pre = Prelogin(email);
    const json::value* kdf = At(pre, "/kdf");
    if (kdf == nullptr) {
      ADD_FAILURE() << "prelogin without kdf: " << json::serialize(pre);
      return s;
    }
    s.kdf = KdfFromJson(*kdf);
    auto keys = crypto::DerivePasswordKeys(password, s.kdf);
    EXPECT_TRUE(keys.has_value());
    if (!keys) return s;
    if (auth_key_out != nullptr) {
      auth_key_out->assign(keys->auth_key.bytes().begin(), keys->auth_key.bytes().end());
    }
    s.reply = portal_.Post("/api/v1/login",
                           json::object{{"email", email}, {"auth_key", B64(keys->auth_key.bytes())}});
    s.body = ParseJson(s.reply.body);
    if (s.reply.status == 200) s.token = JStr(s.body, "/session/token");
    return s;
  }

  // A well-formed registration body made with the crypto core (an HTTP-level client), with
  // password keys of its own.
  json::object RegistrationBody(const std::string& invitation, const std::string& email) {
    const std::string user_id = "u-" + RandomHexId(16);
    auto identity = crypto::Identity::Generate(user_id);
    EXPECT_TRUE(identity.has_value());
    const crypto::KdfParams params = crypto::KdfParams::Generate();
    auto keys = crypto::DerivePasswordKeys("an http-level client's password", params);
    EXPECT_TRUE(keys.has_value());
    if (!identity || !keys) return {};
    return ::strongroom::testing::RegistrationBody(invitation, email, *identity, *keys, params);
  }

  Portal portal_;
};

// --- 1. registration ----------------------------------------------------------------------

TEST_F(AccountsTest, RegistrationWithSetupTokenAndSingleUseInvitations) {
  // The owner registers with the setup token printed at first start.
  Account owner = RegisterOwner("owner@example.com", "owner password one");
  ASSERT_FALSE(owner.user_id.empty());
  const json::value me = WhoAmI(owner.machine);
  EXPECT_EQ(JStr(me, "/user/role"), "owner");
  EXPECT_EQ(JStr(me, "/user/email"), "owner@example.com");
  EXPECT_EQ(JStr(me, "/user/id"), owner.user_id);
  EXPECT_EQ(JStr(me, "/server"), portal_.url());
  const json::value* current = At(me, "/session/current");
  ASSERT_NE(current, nullptr);
  EXPECT_TRUE(current->is_bool() && current->as_bool()) << json::serialize(me);
  (void)TokenOf(owner.machine);  // Saved, mode 0600.

  // The setup token is single use: by the CLI, and over HTTP.
  CliMachine intruder;
  const RunResult reuse = intruder.Cli({"register", "--server", portal_.url(), "--invite",
                                        portal_.setup_token(), "--email", "mallory@example.com",
                                        "--password-stdin"},
                                       "mallory password\n");
  ExpectCliError(reuse, "invalid_invitation");
  EXPECT_TRUE(intruder.SessionToken().empty()) << "no session after a refused registration";
  const HttpReply http_reuse = portal_.Post(
      "/api/v1/register", RegistrationBody(portal_.setup_token(), "mallory@example.com"));
  EXPECT_EQ(http_reuse.status, 403) << http_reuse.body;
  EXPECT_EQ(ErrorCode(http_reuse), "invalid_invitation");

  // An invitation from `strongroomd invite` (made while the server runs) admits its email.
  const std::string bob_invitation = portal_.Invite("bob@example.com");
  Account bob = Register("bob@example.com", "bob password one", bob_invitation, "Bob");
  ASSERT_FALSE(bob.user_id.empty());
  const json::value bob_me = WhoAmI(bob.machine);
  EXPECT_EQ(JStr(bob_me, "/user/role"), "user");
  EXPECT_EQ(JStr(bob_me, "/user/display_name"), "Bob");
  EXPECT_NE(bob.user_id, owner.user_id);
  EXPECT_NE(bob.fingerprint, owner.fingerprint);

  // ... once.
  CliMachine again;
  ExpectCliError(again.Cli({"register", "--server", portal_.url(), "--invite", bob_invitation,
                            "--email", "bob2@example.com", "--password-stdin"},
                           "whatever password\n"),
                 "invalid_invitation");

  // An invitation is for its email only; a refused attempt does not use it up. (Also: an
  // invitation made by `strongroomd invite` after the server has written must be seen by it.)
  const std::string carol_invitation = portal_.Invite("carol@example.com", /*admin=*/true);
  CliMachine dave;
  ExpectCliError(dave.Cli({"register", "--server", portal_.url(), "--invite", carol_invitation,
                           "--email", "dave@example.com", "--password-stdin"},
                          "dave password\n"),
                 "invalid_invitation");
  Account carol = Register("carol@example.com", "carol password one", carol_invitation);
  EXPECT_EQ(JStr(WhoAmI(carol.machine), "/user/role"), "admin");

  // A valid invitation for an email that already has an account: 409 already_registered.
  CliMachine bob_again;
  ExpectCliError(bob_again.Cli({"register", "--server", portal_.url(), "--invite",
                                portal_.Invite("bob@example.com"), "--email", "bob@example.com",
                                "--password-stdin"},
                               "another bob password\n"),
                 "already_registered");
  const HttpReply http_dup = portal_.Post(
      "/api/v1/register", RegistrationBody(portal_.Invite("bob@example.com"), " Bob@Example.com "));
  EXPECT_EQ(http_dup.status, 409) << http_dup.body;
  EXPECT_EQ(ErrorCode(http_dup), "already_registered");
}

// `strongroomd invite` opens the database while the server has it open. Doing so must leave
// the server's view of the database intact: the server must see the new invitation, and its
// writes must reach the database file (the WAL must not be deleted under it).
TEST_F(AccountsTest, InviteWhileServingKeepsTheServerOnTheSameDatabase) {
  Account owner = RegisterOwner("owner@example.com", "owner password one");
  ASSERT_FALSE(owner.user_id.empty());
  const std::string wal = portal_.data_dir() + "/strongroom.db-wal";
  ASSERT_TRUE(fs::exists(wal)) << "WAL mode: the log exists while the server runs";
  const std::string invitation = portal_.Invite("bob@example.com");
  EXPECT_TRUE(fs::exists(wal)) << "`strongroomd invite` deleted the running server's WAL";
  Account bob = Register("bob@example.com", "bob password one", invitation);
  EXPECT_FALSE(bob.user_id.empty()) << "the server did not see an invitation made while serving";
  // A second invitation after the server has written again.
  Account carol = Register("carol@example.com", "carol password one");
  EXPECT_FALSE(carol.user_id.empty());
}

// --- 2. sign-in --------------------------------------------------------------------------

TEST_F(AccountsTest, LoginOnAnotherMachineAndIndistinguishableFailures) {
  Account owner = RegisterOwner("owner@example.com", "owner password one");
  ASSERT_FALSE(owner.user_id.empty());

  CliMachine laptop;
  const RunResult no_session = laptop.Cli({"whoami"});
  EXPECT_EQ(no_session.exit_code, 1) << Describe(no_session);

  const RunResult ok = Login(laptop, "owner@example.com", "owner password one");
  ASSERT_EQ(ok.exit_code, 0) << Describe(ok);
  const json::value me = WhoAmI(laptop);
  EXPECT_EQ(JStr(me, "/user/id"), owner.user_id);
  EXPECT_EQ(JStr(me, "/user/role"), "owner");
  const std::string laptop_token = TokenOf(laptop);
  EXPECT_NE(laptop_token, TokenOf(owner.machine)) << "each sign-in makes its own session";

  CliMachine other;
  const RunResult wrong = Login(other, "owner@example.com", "not the password");
  ExpectCliError(wrong, "invalid_credentials");
  EXPECT_TRUE(other.SessionToken().empty());
  const RunResult unknown = Login(other, "nobody@example.com", "not the password");
  ExpectCliError(unknown, "invalid_credentials");
  EXPECT_EQ(unknown.err, wrong.err) << "an unknown email must look exactly like a wrong password";
  EXPECT_EQ(unknown.out, wrong.out);

  // Logout ends the session on the server, not only on this machine.
  const RunResult logout = laptop.Cli({"logout"});
  EXPECT_EQ(logout.exit_code, 0) << Describe(logout);
  const HttpReply after = portal_.Request("GET", "/api/v1/me", "", laptop_token);
  EXPECT_EQ(after.status, 401) << after.body;
  EXPECT_EQ(ErrorCode(after), "unauthenticated");
  const RunResult signed_out = laptop.Cli({"whoami"});
  EXPECT_EQ(signed_out.exit_code, 1) << Describe(signed_out);
}

// --- 3. lockout --------------------------------------------------------------------------

class AccountsLockoutTest : public AccountsTest {
 protected:
  PortalOptions ServerOptions() const override {
    PortalOptions options = AccountsTest::ServerOptions();
    options.env = {"STRONGROOM_ACCOUNT_LOCKOUT_THRESHOLD=3", "STRONGROOM_LOCKOUT_BASE_S=2",
                   "STRONGROOM_LOCKOUT_MAX_S=4"};
    return options;
  }
};

TEST_F(AccountsLockoutTest, WrongPasswordsLockTheAccountUntilTheBackoffEnds) {
  Account owner = RegisterOwner("owner@example.com", "owner password one");
  ASSERT_FALSE(owner.user_id.empty());
  CliMachine laptop;
  for (int i = 0; i < 3; ++i) {
    SCOPED_TRACE("wrong password " + std::to_string(i + 1));
    ExpectCliError(Login(laptop, "owner@example.com", "wrong password"), "invalid_credentials");
  }
  // Locked: even the right password is refused, without being checked.
  ExpectCliError(Login(laptop, "owner@example.com", "owner password one"), "locked_out");

  // Over HTTP: 429 locked_out with Retry-After in whole seconds (lock = base 2 s).
  const HttpReply locked = portal_.Post(
      "/api/v1/login",
      json::object{{"email", "owner@example.com"}, {"auth_key", B64(RandomBytes(32))}});
  EXPECT_EQ(locked.status, 429) << locked.body;
  EXPECT_EQ(ErrorCode(locked), "locked_out");
  const std::string retry_after = locked.header("retry-after");
  ASSERT_FALSE(retry_after.empty()) << "429 locked_out without Retry-After";
  const int wait_s = std::stoi(retry_after);
  EXPECT_GE(wait_s, 1);
  EXPECT_LE(wait_s, 2);

  // After the lock the right password works (refused attempts did not extend it).
  std::this_thread::sleep_for(std::chrono::seconds(std::clamp(wait_s, 1, 4)) + 250ms);
  const RunResult ok = Login(laptop, "owner@example.com", "owner password one");
  ASSERT_EQ(ok.exit_code, 0) << Describe(ok);
  // The success cleared the count: one more wrong password is a plain failure.
  CliMachine other;
  ExpectCliError(Login(other, "owner@example.com", "wrong again"), "invalid_credentials");

  // The history shows it all, newest first.
  const json::value logins = CliJson(laptop.Cli({"logins", "--json"}));
  std::vector<std::string> results;
  for (const auto& e : JArr(logins, "/logins")) {
    results.push_back(JStr(e, "/result") + "/" + JStr(e, "/reason"));
    EXPECT_EQ(JStr(e, "/ip"), "127.0.0.1");
  }
  DropRegistrationEntry(results);
  const std::vector<std::string> expected{
      "failure/wrong_credentials", "success/ok",
      "refused/locked",            "refused/locked",
      "failure/wrong_credentials", "failure/wrong_credentials",
      "failure/wrong_credentials"};
  EXPECT_EQ(results, expected);
}

TEST_F(AccountsLockoutTest, UnknownEmailsAreLockedOutLikeKnownOnes) {
  for (int i = 0; i < 3; ++i) {
    const HttpReply r = portal_.Post(
        "/api/v1/login",
        json::object{{"email", "ghost@example.com"}, {"auth_key", B64(RandomBytes(32))}});
    EXPECT_EQ(r.status, 401) << r.body;
    EXPECT_EQ(ErrorCode(r), "invalid_credentials");
  }
  const HttpReply locked = portal_.Post(
      "/api/v1/login",
      json::object{{"email", "ghost@example.com"}, {"auth_key", B64(RandomBytes(32))}});
  EXPECT_EQ(locked.status, 429) << locked.body;
  EXPECT_EQ(ErrorCode(locked), "locked_out");
  EXPECT_FALSE(locked.header("retry-after").empty());
}

// --- 4. password change ------------------------------------------------------------------

TEST_F(AccountsTest, PasswordChangeKeepsTheKeysAndRevokesOtherSessions) {
  Account owner = RegisterOwner("owner@example.com", "old password");
  ASSERT_FALSE(owner.user_id.empty());
  CliMachine laptop;
  ASSERT_EQ(Login(laptop, "owner@example.com", "old password").exit_code, 0);
  const std::string kdf_before = json::serialize(Prelogin("owner@example.com"));

  // A wrong current password changes nothing.
  ExpectCliError(laptop.Cli({"passwd", "--password-stdin"}, "not my password\nnew password\n"),
                 "invalid_credentials");
  const RunResult changed = laptop.Cli({"passwd", "--password-stdin"}, "old password\nnew password\n");
  ASSERT_EQ(changed.exit_code, 0) << Describe(changed);

  // The other session (the registration's, on the first machine) is gone; this one stays.
  ExpectCliError(owner.machine.Cli({"whoami"}), "unauthenticated");
  EXPECT_EQ(JStr(WhoAmI(laptop), "/user/id"), owner.user_id);

  CliMachine desktop;
  ExpectCliError(Login(desktop, "owner@example.com", "old password"), "invalid_credentials");
  const RunResult with_new = Login(desktop, "owner@example.com", "new password");
  EXPECT_EQ(with_new.exit_code, 0) << Describe(with_new);

  // The private keys still open, under the new password only, and are the same identity.
  EXPECT_NE(json::serialize(Prelogin("owner@example.com")), kdf_before)
      << "new password, new salt expected";
  const HttpSignIn s = SignInOverHttp("owner@example.com", "new password");
  ASSERT_EQ(s.reply.status, 200) << s.reply.body;
  const Bytes private_bundle = UnB64(JStr(s.body, "/private_bundle"));
  auto identity = crypto::OpenPrivateBundle(private_bundle, "new password");
  ASSERT_TRUE(identity.has_value()) << identity.error().message();
  EXPECT_EQ(identity->user_id(), owner.user_id);
  EXPECT_EQ(identity->public_bundle().DisplayFingerprint(), owner.fingerprint);
  auto served = crypto::PublicBundle::Parse(UnB64(JStr(s.body, "/public_bundle")));
  ASSERT_TRUE(served.has_value());
  EXPECT_TRUE(*served == identity->public_bundle());
  const auto old = crypto::OpenPrivateBundle(private_bundle, "old password");
  ASSERT_FALSE(old.has_value());
  EXPECT_EQ(old.error(), errc::wrong_password);
  // What `key` shows others is unchanged too.
  const json::value key = CliJson(desktop.Cli({"key", "owner@example.com", "--json"}));
  EXPECT_EQ(JStr(key, "/fingerprint"), owner.fingerprint);
}

// --- 5. recovery -------------------------------------------------------------------------

TEST_F(AccountsTest, RecoveryCodeSetsANewPasswordAndIsReplaced) {
  Account owner = RegisterOwner("owner@example.com", "forgotten password");
  ASSERT_FALSE(owner.recovery_code.empty());

  CliMachine fresh;
  const RunResult recovered =
      fresh.Cli({"recover", "--server", portal_.url(), "--email", "owner@example.com",
                 "--recovery-code-stdin", "--password-stdin", "--json"},
                owner.recovery_code + "\nrecovered password\n");
  const json::value out = CliJson(recovered);
  EXPECT_EQ(JStr(out, "/user_id"), owner.user_id);
  EXPECT_EQ(JStr(out, "/email"), "owner@example.com");
  const std::string new_code = JStr(out, "/recovery_code");
  EXPECT_FALSE(new_code.empty());
  EXPECT_NE(new_code, owner.recovery_code);

  // Recovery signs out everywhere else and signs this machine in.
  EXPECT_EQ(JStr(WhoAmI(fresh), "/user/id"), owner.user_id);
  ExpectCliError(owner.machine.Cli({"whoami"}), "unauthenticated");

  CliMachine other;
  ExpectCliError(Login(other, "owner@example.com", "forgotten password"), "invalid_credentials");
  // The new password opens the same identity.
  const HttpSignIn s = SignInOverHttp("owner@example.com", "recovered password");
  ASSERT_EQ(s.reply.status, 200) << s.reply.body;
  auto identity =
      crypto::OpenPrivateBundle(UnB64(JStr(s.body, "/private_bundle")), "recovered password");
  ASSERT_TRUE(identity.has_value()) << identity.error().message();
  EXPECT_EQ(identity->public_bundle().DisplayFingerprint(), owner.fingerprint);

  // The old code is spent; the new one works for recovery/start.
  ExpectCliError(other.Cli({"recover", "--server", portal_.url(), "--email", "owner@example.com",
                            "--recovery-code-stdin", "--password-stdin"},
                           owner.recovery_code + "\nyet another password\n"),
                 "invalid_credentials");
  auto new_key = crypto::RecoveryKey::FromCode(new_code);
  ASSERT_TRUE(new_key.has_value());
  const HttpReply start =
      portal_.Post("/api/v1/recovery/start",
                   json::object{{"email", "owner@example.com"},
                                {"recovery_auth_key", B64(crypto::RecoveryAuthKey(*new_key).bytes())}});
  EXPECT_EQ(start.status, 200) << start.body;
  auto from_recovery =
      crypto::OpenRecoveryBundle(UnB64(JStr(ParseJson(start.body), "/recovery_bundle")), *new_key);
  ASSERT_TRUE(from_recovery.has_value());
  EXPECT_EQ(from_recovery->public_bundle().DisplayFingerprint(), owner.fingerprint);
}

// --- 6. sessions -------------------------------------------------------------------------

TEST_F(AccountsTest, SessionsAreListedAndRevoked) {
  Account owner = RegisterOwner("owner@example.com", "owner password one");
  ASSERT_FALSE(owner.user_id.empty());
  CliMachine laptop;
  ASSERT_EQ(Login(laptop, "owner@example.com", "owner password one").exit_code, 0);

  const json::value listed = CliJson(owner.machine.Cli({"sessions", "--json"}));
  const json::array sessions = JArr(listed, "/sessions");
  ASSERT_EQ(sessions.size(), 2u) << json::serialize(listed);
  const std::string own_id = JStr(WhoAmI(owner.machine), "/session/id");
  const std::string laptop_id = JStr(WhoAmI(laptop), "/session/id");
  int current = 0;
  for (const auto& s : sessions) {
    const bool is_current = s.at("current").as_bool();
    current += is_current ? 1 : 0;
    EXPECT_EQ(is_current, JStr(s, "/id") == own_id) << json::serialize(s);
    EXPECT_EQ(JStr(s, "/ip"), "127.0.0.1");
    EXPECT_EQ(JStr(s, "/id").size(), 32u);
  }
  EXPECT_EQ(current, 1);
  EXPECT_EQ(JStr(sessions[0], "/id"), laptop_id) << "newest first";

  // Revoke the laptop's session by id.
  const RunResult revoke = owner.machine.Cli({"sessions", "--revoke", laptop_id});
  EXPECT_EQ(revoke.exit_code, 0) << Describe(revoke);
  ExpectCliError(laptop.Cli({"whoami"}), "unauthenticated");
  EXPECT_EQ(JStr(WhoAmI(owner.machine), "/user/id"), owner.user_id);

  // Someone else's session id is not ours to revoke: 404, and it stays valid.
  Account bob = Register("bob@example.com", "bob password one");
  const std::string bob_session = JStr(WhoAmI(bob.machine), "/session/id");
  ExpectCliError(owner.machine.Cli({"sessions", "--revoke", bob_session}), "not_found");
  const HttpReply foreign =
      portal_.Request("DELETE", "/api/v1/me/sessions/" + bob_session, "", TokenOf(owner.machine));
  EXPECT_EQ(foreign.status, 404) << foreign.body;
  EXPECT_EQ(ErrorCode(foreign), "not_found");
  EXPECT_EQ(JStr(WhoAmI(bob.machine), "/user/id"), bob.user_id);

  // Revoke all the others at once.
  CliMachine phone, tablet;
  ASSERT_EQ(Login(phone, "owner@example.com", "owner password one").exit_code, 0);
  ASSERT_EQ(Login(tablet, "owner@example.com", "owner password one").exit_code, 0);
  const RunResult others = owner.machine.Cli({"sessions", "--revoke-others"});
  EXPECT_EQ(others.exit_code, 0) << Describe(others);
  ExpectCliError(phone.Cli({"whoami"}), "unauthenticated");
  ExpectCliError(tablet.Cli({"whoami"}), "unauthenticated");
  const json::array left = JArr(CliJson(owner.machine.Cli({"sessions", "--json"})), "/sessions");
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(JStr(left[0], "/id"), own_id);
  EXPECT_EQ(JStr(WhoAmI(bob.machine), "/user/id"), bob.user_id) << "only the caller's sessions";
}

// --- 7. pre-login ------------------------------------------------------------------------

TEST_F(AccountsTest, PreloginOfUnknownEmailIsIndistinguishable) {
  Account owner = RegisterOwner("owner@example.com", "owner password one");
  ASSERT_FALSE(owner.user_id.empty());

  const HttpReply known = portal_.Post("/api/v1/prelogin", json::object{{"email", "owner@example.com"}});
  const HttpReply unknown =
      portal_.Post("/api/v1/prelogin", json::object{{"email", "ghost@example.com"}});
  ASSERT_EQ(known.status, 200) << known.body;
  EXPECT_EQ(unknown.status, known.status) << unknown.body;
  EXPECT_EQ(unknown.header("content-type"), known.header("content-type"));
  const json::value k = ParseJson(known.body), u = ParseJson(unknown.body);
  EXPECT_EQ(Keys(k), std::set<std::string>{"kdf"});
  EXPECT_EQ(Keys(u), Keys(k));
  EXPECT_EQ(Keys(k.at("kdf")), (std::set<std::string>{"algorithm", "opslimit", "memlimit", "salt"}));
  EXPECT_EQ(Keys(u.at("kdf")), Keys(k.at("kdf")));
  EXPECT_EQ(JStr(u, "/kdf/algorithm"), JStr(k, "/kdf/algorithm"));
  EXPECT_EQ(JInt(u, "/kdf/opslimit"), JInt(k, "/kdf/opslimit"));
  EXPECT_EQ(JInt(u, "/kdf/memlimit"), JInt(k, "/kdf/memlimit"));
  EXPECT_EQ(UnB64(JStr(k, "/kdf/salt")).size(), 16u);
  EXPECT_EQ(UnB64(JStr(u, "/kdf/salt")).size(), 16u);
  // Same serialised length too (field order and number formatting match).
  EXPECT_EQ(unknown.body.size(), known.body.size()) << known.body << "\n" << unknown.body;

  // A stable fake: the same email always gets the same salt (after normalisation), another
  // email another salt.
  EXPECT_EQ(JStr(Prelogin("ghost@example.com"), "/kdf/salt"), JStr(u, "/kdf/salt"));
  EXPECT_EQ(JStr(Prelogin("  Ghost@EXAMPLE.com "), "/kdf/salt"), JStr(u, "/kdf/salt"));
  EXPECT_NE(JStr(Prelogin("phantom@example.com"), "/kdf/salt"), JStr(u, "/kdf/salt"));
  EXPECT_EQ(JStr(Prelogin("owner@example.com"), "/kdf/salt"), JStr(k, "/kdf/salt"));

  // Sign-in with an unknown email fails byte for byte like a wrong key for a known one.
  const HttpReply wrong_key = portal_.Post(
      "/api/v1/login", json::object{{"email", "owner@example.com"}, {"auth_key", B64(RandomBytes(32))}});
  const HttpReply no_account = portal_.Post(
      "/api/v1/login", json::object{{"email", "ghost@example.com"}, {"auth_key", B64(RandomBytes(32))}});
  EXPECT_EQ(wrong_key.status, 401);
  EXPECT_EQ(no_account.status, wrong_key.status);
  EXPECT_EQ(no_account.body, wrong_key.body);
  EXPECT_EQ(ErrorCode(wrong_key), "invalid_credentials");
  EXPECT_EQ(no_account.header("retry-after"), wrong_key.header("retry-after"));
  // The same for the recovery code.
  const HttpReply wrong_code = portal_.Post(
      "/api/v1/recovery/start",
      json::object{{"email", "owner@example.com"}, {"recovery_auth_key", B64(RandomBytes(32))}});
  const HttpReply no_account_code = portal_.Post(
      "/api/v1/recovery/start",
      json::object{{"email", "ghost@example.com"}, {"recovery_auth_key", B64(RandomBytes(32))}});
  EXPECT_EQ(wrong_code.status, 401);
  EXPECT_EQ(no_account_code.status, wrong_code.status);
  EXPECT_EQ(no_account_code.body, wrong_code.body);
}

// --- 8. login history and audit ----------------------------------------------------------

// The events of `events` matching every given field ("" means any).
std::vector<json::value> Matching(const json::array& events, const std::string& action,
                                  const std::string& actor, const std::string& target,
                                  const std::string& result) {
  std::vector<json::value> out;
  for (const auto& e : events) {
    const auto field = [&](const char* name) {
      const json::value* v = At(e, std::string("/") + name);
      return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string("<absent>");
    };
    if ((action.empty() || field("action") == action) && (actor.empty() || field("actor") == actor) &&
        (target.empty() || field("target") == target) && (result.empty() || field("result") == result)) {
      out.push_back(e);
    }
  }
  return out;
}

TEST_F(AccountsTest, LoginHistoryAndAuditTrail) {
  Account owner = RegisterOwner("owner@example.com", "owner password one");
  Account bob = Register("bob@example.com", "bob password one");
  ASSERT_FALSE(owner.user_id.empty());
  ASSERT_FALSE(bob.user_id.empty());
  const std::string owner_token = TokenOf(owner.machine);
  const std::string bob_token = TokenOf(bob.machine);

  CliMachine laptop;
  ExpectCliError(Login(laptop, "bob@example.com", "bob's wrong password"), "invalid_credentials");
  ASSERT_EQ(Login(laptop, "bob@example.com", "bob password one").exit_code, 0);
  const std::string laptop_session = JStr(WhoAmI(laptop), "/session/id");
  ASSERT_EQ(bob.machine.Cli({"sessions", "--revoke", laptop_session}).exit_code, 0);
  ASSERT_EQ(bob.machine.Cli({"passwd", "--password-stdin"}, "bob password one\nbob password two\n")
                .exit_code,
            0);
  // An unknown email, for the admin login list.
  EXPECT_EQ(portal_
                .Post("/api/v1/login",
                      json::object{{"email", "ghost@example.com"}, {"auth_key", B64(RandomBytes(32))}})
                .status,
            401);

  // Bob's own history: newest first, with results and reasons, from 127.0.0.1.
  const json::array logins = JArr(CliJson(bob.machine.Cli({"logins", "--json"})), "/logins");
  std::vector<std::string> results;
  std::int64_t previous_id = INT64_MAX;
  for (const auto& e : logins) {
    results.push_back(JStr(e, "/result") + "/" + JStr(e, "/reason"));
    EXPECT_EQ(JStr(e, "/ip"), "127.0.0.1");
    EXPECT_EQ(JStr(e, "/email"), "bob@example.com") << "only bob's own history";
    const std::int64_t id = JInt(e, "/id");
    EXPECT_LT(id, previous_id) << "newest first";
    previous_id = id;
  }
  DropRegistrationEntry(results);
  EXPECT_EQ(results, (std::vector<std::string>{"success/ok", "failure/wrong_credentials"}));

  // Admin views are for admins.
  for (const char* path : {"/api/v1/admin/audit", "/api/v1/admin/logins"}) {
    const HttpReply r = portal_.Request("GET", path, "", bob_token);
    EXPECT_EQ(r.status, 403) << path << ": " << r.body;
    EXPECT_EQ(ErrorCode(r), "forbidden") << path;
    EXPECT_EQ(portal_.Request("GET", path).status, 401) << path;
  }

  const HttpReply audit = portal_.Request("GET", "/api/v1/admin/audit", "", owner_token);
  ASSERT_EQ(audit.status, 200) << audit.body;
  const json::array events = JArr(ParseJson(audit.body), "/events");
  for (const auto& e : events) {
    EXPECT_EQ(Keys(e), (std::set<std::string>{"id", "time", "actor", "action", "target", "ip",
                                              "result", "detail"}))
        << json::serialize(e);
    EXPECT_TRUE(e.at("detail").is_object()) << json::serialize(e);
  }
  // Events caused by a request carry its address; `strongroomd` itself (actor "system") has none.
  const auto expect_one = [&](const std::string& action, const std::string& actor,
                              const std::string& target, const std::string& result) {
    const auto found = Matching(events, action, actor, target, result);
    EXPECT_EQ(found.size(), 1u) << action << " actor=" << actor << " target=" << target
                                << " result=" << result << " in " << audit.body;
    if (actor != "system") {
      for (const auto& e : found) EXPECT_EQ(JStr(e, "/ip"), "127.0.0.1") << json::serialize(e);
    }
  };
  expect_one("portal.create", "system", "", "success");
  expect_one("invitation.create", "system", "bob@example.com", "success");
  expect_one("user.register", owner.user_id, owner.user_id, "success");
  expect_one("user.register", bob.user_id, bob.user_id, "success");
  expect_one("session.login", bob.user_id, bob.user_id, "success");
  expect_one("session.login", "", bob.user_id, "failure");
  expect_one("session.login", "", "ghost@example.com", "failure");
  expect_one("session.revoke", bob.user_id, laptop_session, "success");
  expect_one("user.password_change", bob.user_id, bob.user_id, "success");
  const auto failures = Matching(events, "session.login", "", bob.user_id, "failure");
  if (!failures.empty()) {
    EXPECT_TRUE(JStr(failures[0], "/actor") == "anonymous" ||
                JStr(failures[0], "/actor") == bob.user_id)
        << json::serialize(failures[0]);
  }
  // No secret in any detail.
  EXPECT_EQ(audit.body.find(owner_token), std::string::npos);
  EXPECT_EQ(audit.body.find(bob_token), std::string::npos);

  // Filters.
  const auto query = [&](const std::string& q) {
    const HttpReply r = portal_.Request("GET", "/api/v1/admin/audit?" + q, "", owner_token);
    EXPECT_EQ(r.status, 200) << q << ": " << r.body;
    return JArr(ParseJson(r.body), "/events");
  };
  const json::array logins_only = query("action=session.login");
  EXPECT_EQ(logins_only.size(), Matching(events, "session.login", "", "", "").size());
  EXPECT_EQ(Matching(logins_only, "session.login", "", "", "").size(), logins_only.size());
  const json::array bobs = query("actor=" + bob.user_id);
  EXPECT_EQ(bobs.size(), Matching(events, "", bob.user_id, "", "").size());
  EXPECT_EQ(Matching(bobs, "", bob.user_id, "", "").size(), bobs.size());
  EXPECT_GE(Matching(bobs, "user.register", "", "", "").size(), 1u);
  const json::array one = query("limit=1");
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(JInt(one[0], "/id"), JInt(events[0], "/id")) << "newest first";

  const auto change = Matching(events, "user.password_change", bob.user_id, "", "success");
  ASSERT_EQ(change.size(), 1u);
  const std::string t = JStr(change[0], "/time");
  const std::int64_t change_id = JInt(change[0], "/id");
  const json::array since = query("from=" + t);
  const json::array before = query("to=" + t);
  EXPECT_FALSE(since.empty());
  EXPECT_FALSE(before.empty());
  EXPECT_EQ(since.size() + before.size(), events.size()) << "from inclusive, to exclusive";
  bool change_in_since = false;
  for (const auto& e : since) {
    EXPECT_GE(JStr(e, "/time"), t);
    change_in_since |= JInt(e, "/id") == change_id;
  }
  EXPECT_TRUE(change_in_since);
  for (const auto& e : before) {
    EXPECT_LT(JStr(e, "/time"), t);
    EXPECT_NE(JInt(e, "/id"), change_id);
  }
  EXPECT_TRUE(query("from=" + t + "&to=" + t).empty());
  EXPECT_EQ(portal_.Request("GET", "/api/v1/admin/audit?from=yesterday", "", owner_token).status,
            400);

  // Every user's login history for the admin, with user ids (absent for unknown emails).
  const HttpReply all = portal_.Request("GET", "/api/v1/admin/logins", "", owner_token);
  ASSERT_EQ(all.status, 200) << all.body;
  bool ghost_seen = false;
  for (const auto& e : JArr(ParseJson(all.body), "/logins")) {
    if (JStr(e, "/email") == "ghost@example.com") {
      ghost_seen = true;
      EXPECT_EQ(At(e, "/user_id"), nullptr) << json::serialize(e);
      EXPECT_EQ(JStr(e, "/reason"), "unknown_email");
    } else {
      EXPECT_NE(At(e, "/user_id"), nullptr) << json::serialize(e);
    }
  }
  EXPECT_TRUE(ghost_seen) << all.body;
  const HttpReply bob_logins =
      portal_.Request("GET", "/api/v1/admin/logins?user=" + bob.user_id, "", owner_token);
  ASSERT_EQ(bob_logins.status, 200) << bob_logins.body;
  const json::array bob_list = JArr(ParseJson(bob_logins.body), "/logins");
  EXPECT_EQ(bob_list.size(), logins.size());
  for (const auto& e : bob_list) EXPECT_EQ(JStr(e, "/user_id"), bob.user_id);

  // Nothing changes or deletes entries.
  for (const char* method : {"DELETE", "PUT", "PATCH", "POST"}) {
    for (const std::string path : {"/api/v1/admin/audit", "/api/v1/admin/audit/1",
                                   "/api/v1/admin/logins", "/api/v1/me/logins"}) {
      const HttpReply r = portal_.Request(method, path, "{}", owner_token);
      EXPECT_TRUE(r.status == 404 || r.status == 405) << method << " " << path << ": " << r.status;
    }
  }
  const HttpReply after = portal_.Request("GET", "/api/v1/admin/audit", "", owner_token);
  EXPECT_EQ(JArr(ParseJson(after.body), "/events").size(), events.size());
}

// --- 9. public keys ----------------------------------------------------------------------

TEST_F(AccountsTest, PublicKeyLookupByEmailAndId) {
  Account owner = RegisterOwner("owner@example.com", "owner password one");
  Account bob = Register("bob@example.com", "bob password one");
  ASSERT_FALSE(owner.user_id.empty());
  ASSERT_FALSE(bob.user_id.empty());

  const json::value key = CliJson(bob.machine.Cli({"key", "owner@example.com", "--json"}));
  EXPECT_EQ(JStr(key, "/fingerprint"), owner.fingerprint);
  EXPECT_EQ(JStr(key, "/user_id"), owner.user_id);
  ExpectCliError(bob.machine.Cli({"key", "nobody@example.com"}), "not_found");

  const std::string token = TokenOf(bob.machine);
  const auto check = [&](const HttpReply& r) {
    ASSERT_EQ(r.status, 200) << r.body;
    const json::value v = ParseJson(r.body);
    EXPECT_EQ(Keys(v), (std::set<std::string>{"user_id", "email", "display_name",
                                              "public_bundle", "fingerprint"}));
    EXPECT_EQ(JStr(v, "/user_id"), owner.user_id);
    EXPECT_EQ(JStr(v, "/email"), "owner@example.com");
    EXPECT_EQ(JStr(v, "/fingerprint"), owner.fingerprint);
    auto bundle = crypto::PublicBundle::Parse(UnB64(JStr(v, "/public_bundle")));
    ASSERT_TRUE(bundle.has_value()) << "the served bundle must verify";
    EXPECT_EQ(bundle->user_id(), owner.user_id);
    EXPECT_EQ(bundle->DisplayFingerprint(), owner.fingerprint);
  };
  check(portal_.Request("GET", "/api/v1/users/" + owner.user_id + "/public-key", "", token));
  check(portal_.Request("GET", "/api/v1/public-keys?email=owner%40example.com", "", token));
  check(portal_.Request("GET", "/api/v1/public-keys?email=owner@example.com", "", token));

  EXPECT_EQ(portal_.Request("GET", "/api/v1/users/u-nobody/public-key", "", token).status, 404);
  for (const std::string& path : {"/api/v1/users/" + owner.user_id + "/public-key",
                                 std::string("/api/v1/public-keys?email=owner@example.com")}) {
    const HttpReply anonymous = portal_.Request("GET", path);
    EXPECT_EQ(anonymous.status, 401) << path;
    EXPECT_EQ(ErrorCode(anonymous), "unauthenticated");
    const HttpReply bad_token = portal_.Request("GET", path, "", "not-a-session-token");
    EXPECT_EQ(bad_token.status, 401) << path;
  }
}

// --- 10. zero knowledge ------------------------------------------------------------------

struct Needle {
  std::string what;
  std::string bytes;
};

// Adds a binary secret in the forms it could leak in: raw, base64url, hex.
void AddBinary(std::vector<Needle>& needles, const std::string& what,
               std::span<const std::uint8_t> bytes) {
  needles.push_back({what + " (raw)", AsString(bytes)});
  needles.push_back({what + " (base64url)", B64(bytes)});
  needles.push_back({what + " (hex)", crypto::HexEncode(bytes)});
}

// Every regular file under `dir`, and how many.
void ExpectNoNeedleIn(const std::string& name, const std::string& content,
                      const std::vector<Needle>& needles) {
  for (const auto& n : needles) {
    ASSERT_GE(n.bytes.size(), 8u) << n.what;
    EXPECT_EQ(content.find(n.bytes), std::string::npos) << n.what << " found in " << name;
  }
}

std::size_t ScanTree(const std::string& dir, const std::vector<Needle>& needles) {
  std::size_t files = 0;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    ++files;
    ExpectNoNeedleIn(entry.path().string(), ReadFile(entry.path()), needles);
  }
  return files;
}

TEST_F(AccountsTest, NoPasswordsKeysOrTokensInTheDataDirectoryOrLogs) {
  std::vector<Needle> needles;
  const auto add_text = [&](const std::string& what, const std::string& text) {
    needles.push_back({what, text});
  };
  // Auth keys for `password` under the parameters the server hands out right now.
  const auto add_auth_key = [&](const std::string& what, const std::string& password) {
    auto keys = crypto::DerivePasswordKeys(password, KdfFromJson(Prelogin("owner@example.com").at("kdf")));
    ASSERT_TRUE(keys.has_value());
    AddBinary(needles, what + " auth key", keys->auth_key.bytes());
    AddBinary(needles, what + " key encryption key", keys->key_encryption_key.bytes());
  };
  const auto add_recovery = [&](const std::string& what, const std::string& code) {
    add_text(what + " recovery code", code);
    std::string compact = code;
    std::erase(compact, '-');
    add_text(what + " recovery code without dashes", compact);
    auto key = crypto::RecoveryKey::FromCode(code);
    ASSERT_TRUE(key.has_value()) << code;
    AddBinary(needles, what + " recovery key", key->bytes());
    AddBinary(needles, what + " recovery auth key", crypto::RecoveryAuthKey(*key).bytes());
  };

  const std::string p1 = "first password Zq81", p2 = "second password Wx72",
                    p3 = "third password Vr63";
  Account owner = RegisterOwner("owner@example.com", p1);
  ASSERT_FALSE(owner.user_id.empty());
  add_text("setup token", portal_.setup_token());
  add_text("password 1", p1);
  ASSERT_NO_FATAL_FAILURE(add_auth_key("password 1", p1));
  ASSERT_NO_FATAL_FAILURE(add_recovery("first", owner.recovery_code));
  add_text("registration session token", TokenOf(owner.machine));

  CliMachine laptop;
  ASSERT_EQ(Login(laptop, "owner@example.com", p1).exit_code, 0);
  add_text("laptop session token", TokenOf(laptop));

  ASSERT_EQ(laptop.Cli({"passwd", "--password-stdin"}, p1 + "\n" + p2 + "\n").exit_code, 0);
  add_text("password 2", p2);
  ASSERT_NO_FATAL_FAILURE(add_auth_key("password 2", p2));

  const std::string invitation = portal_.Invite("bob@example.com");
  add_text("invitation token", invitation);

  CliMachine rescue;
  const json::value recovered = CliJson(
      rescue.Cli({"recover", "--server", portal_.url(), "--email", "owner@example.com",
                  "--recovery-code-stdin", "--password-stdin", "--json"},
                 owner.recovery_code + "\n" + p3 + "\n"));
  ASSERT_FALSE(JStr(recovered, "/recovery_code").empty());
  add_text("password 3", p3);
  ASSERT_NO_FATAL_FAILURE(add_recovery("second", JStr(recovered, "/recovery_code")));
  add_text("recovery session token", TokenOf(rescue));

  // The identity's secret keys, opened here as a client would.
  Bytes auth3;
  const HttpSignIn s = SignInOverHttp("owner@example.com", p3, &auth3);
  ASSERT_EQ(s.reply.status, 200) << s.reply.body;
  AddBinary(needles, "password 3 auth key", auth3);
  add_text("http session token", s.token);
  auto identity = crypto::OpenPrivateBundle(UnB64(JStr(s.body, "/private_bundle")), p3);
  ASSERT_TRUE(identity.has_value());
  Bytes secret = identity->ExportSecret();
  ASSERT_GE(secret.size(), 64u);
  const std::span<const std::uint8_t> keys = std::span(secret).last(64);
  AddBinary(needles, "identity secret export", secret);
  AddBinary(needles, "identity secret keys (64 bytes)", keys);
  AddBinary(needles, "x25519 secret key", keys.first(32));
  AddBinary(needles, "ed25519 seed", keys.last(32));
  add_text("identity file line", std::string(crypto::kIdentityTextPrefix) + B64(secret));

  // While the server runs (the WAL holds the latest writes) ...
  {
    SCOPED_TRACE("server running");
    const std::size_t files = ScanTree(portal_.data_dir(), needles);
    EXPECT_GE(files, 2u) << "expected at least the database and its WAL";
    // In WAL mode the log exists while the server has the database open. (If it is missing,
    // something deleted it under the running server: see `strongroomd invite` above.)
    EXPECT_TRUE(fs::exists(portal_.data_dir() + "/strongroom.db-wal"));
  }
  // ... and after a clean stop (the WAL checkpointed into the database), with the full log.
  ASSERT_EQ(portal_.Stop(), 0);
  {
    SCOPED_TRACE("server stopped");
    ScanTree(portal_.data_dir(), needles);
    // Positive control: the scan sees stored bytes as they are (the public bundle is stored).
    std::string everything;
    for (const auto& entry : fs::recursive_directory_iterator(portal_.data_dir())) {
      if (entry.is_regular_file()) everything += ReadFile(entry.path());
    }
    EXPECT_NE(everything.find(AsString(identity->public_bundle().Serialize())), std::string::npos)
        << "the scan should find the (public) bundle bytes in the database";
    const std::string log = portal_.Log();
    EXPECT_GT(log.size(), 0u) << "the debug log should say something";
    ExpectNoNeedleIn("the server log", log, needles);
  }
  crypto::Wipe(secret);
}

// --- 11. strongroomd check ---------------------------------------------------------------

TEST_F(AccountsTest, CheckFindsAStrayBlob) {
  Account owner = RegisterOwner("owner@example.com", "owner password one");
  ASSERT_FALSE(owner.user_id.empty());
  ASSERT_EQ(portal_.Stop(), 0);

  const auto check = [&] {
    return RunProcess({STRONGROOMD_PATH, "check", "--data-dir", portal_.data_dir()}, "", 60s);
  };
  const RunResult healthy = check();
  EXPECT_EQ(healthy.exit_code, 0) << Describe(healthy);

  // A file shaped like a blob (valid id, in its fan-out directory) that no row names.
  const fs::path fan_out = fs::path(portal_.data_dir()) / "blobs" / "ab";
  fs::create_directories(fan_out);
  { std::ofstream(fan_out / "abcdef0123456789") << "not a real blob"; }
  const RunResult stray = check();
  EXPECT_NE(stray.exit_code, 0) << Describe(stray);
  EXPECT_NE((stray.out + stray.err).find("abcdef0123456789"), std::string::npos) << Describe(stray);

  fs::remove(fan_out / "abcdef0123456789");
  const RunResult clean_again = check();
  EXPECT_EQ(clean_again.exit_code, 0) << Describe(clean_again);
}

}  // namespace
}  // namespace strongroom::testing

// --- portal security settings (issue 6) ----------------------------------------------------

namespace strongroom::testing {
namespace {

// The allow-list admits 127.0.0.1 and refuses a client bound to 127.0.0.2, for sign-in
// (before the key is even checked) and for API use with a valid session; rules for one role
// replace the general rules for that role only; an admin cannot lock themself out.
TEST_F(AccountsTest, IpAllowListAdmitsListedAddressesForSignInAndApiUse) {
  const Account owner = RegisterOwner("owner@example.com", "owner password 1");
  const Account bob = Register("bob@example.com", "bob password 1");
  const std::string owner_token = SignInOverHttp(owner.email, owner.password).token;
  const std::string bob_token = SignInOverHttp(bob.email, bob.password).token;
  ASSERT_FALSE(owner_token.empty());
  ASSERT_FALSE(bob_token.empty());
  // The control: before any rule, 127.0.0.2 is served like anyone.
  EXPECT_EQ(portal_.RequestFrom("127.0.0.2", "GET", "/api/v1/me", "", bob_token).status, 200);

  HttpReply r = portal_.PutSetting(owner_token, "access.ip_allowlist", json::array{"10.0.0.0/8"});
  EXPECT_EQ(r.status, 409) << r.body;
  EXPECT_EQ(ErrorCode(r), "would_lock_out");
  r = portal_.PutSetting(owner_token, "access.ip_allowlist", json::array{"10.0.0.1/8"});
  EXPECT_EQ(r.status, 400) << r.body;
  r = portal_.PutSetting(owner_token, "access.ip_allowlist", json::array{"127.0.0.1"});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::serialize(ParseJson(r.body).at("access.ip_allowlist")), R"(["127.0.0.1/32"])");

  EXPECT_EQ(portal_.RequestFrom("127.0.0.1", "GET", "/api/v1/me", "", bob_token).status, 200);
  r = portal_.RequestFrom("127.0.0.2", "GET", "/api/v1/me", "", bob_token);
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_EQ(ErrorCode(r), "ip_not_allowed");
  EXPECT_NE(r.body.find("127.0.0.2"), std::string::npos) << r.body;
  // Sign-in from 127.0.0.2 is refused before the key is checked: a wrong key gets the same.
  const json::object wrong_key{{"email", bob.email}, {"auth_key", B64(RandomBytes(32))}};
  r = portal_.RequestFrom("127.0.0.2", "POST", "/api/v1/login", json::serialize(wrong_key));
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_EQ(ErrorCode(r), "ip_not_allowed");
  // ... and recorded, with the address, in the login history.
  const HttpReply logins =
      portal_.Request("GET", "/api/v1/admin/logins?ip=127.0.0.2", "", owner_token);
  ASSERT_EQ(logins.status, 200) << logins.body;
  const json::array history = JArr(ParseJson(logins.body), "/logins");
  ASSERT_FALSE(history.empty()) << logins.body;
  EXPECT_EQ(JStr(history[0], "/reason"), "ip_not_allowed");
  EXPECT_EQ(JStr(history[0], "/result"), "refused");
  EXPECT_EQ(JStr(history[0], "/ip"), "127.0.0.2");
  const HttpReply denied =
      portal_.Request("GET", "/api/v1/admin/audit?action=access.denied", "", owner_token);
  ASSERT_EQ(denied.status, 200);
  EXPECT_EQ(JArr(ParseJson(denied.body), "/events").size(), 1u) << denied.body;

  // Users only from 127.0.0.2; everyone else (admins, the owner) from 127.0.0.1.
  r = portal_.PutSetting(owner_token, "access.ip_allowlist",
                         json::array{"127.0.0.1", "user:127.0.0.2"});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(portal_.RequestFrom("127.0.0.2", "GET", "/api/v1/me", "", bob_token).status, 200);
  EXPECT_EQ(portal_.RequestFrom("127.0.0.1", "GET", "/api/v1/me", "", bob_token).status, 403);
  EXPECT_EQ(portal_.RequestFrom("127.0.0.2", "GET", "/api/v1/me", "", owner_token).status, 403);
  EXPECT_EQ(portal_.RequestFrom("127.0.0.1", "GET", "/api/v1/me", "", owner_token).status, 200);

  // Cleared: everyone again.
  ASSERT_EQ(portal_.PutSetting(owner_token, "access.ip_allowlist", json::array{}).status, 200);
  EXPECT_EQ(portal_.RequestFrom("127.0.0.3", "GET", "/api/v1/me", "", owner_token).status, 200);
}

// Trusted mail domains: without an invitation, an email in a trusted domain may register (as
// a user) when the setting is on; other emails, or any email when it is off, may not.
TEST_F(AccountsTest, TrustedDomainsAdmitSelfRegistrationAsConfigured) {
  const Account owner = RegisterOwner("owner@example.com", "owner password 1");
  const std::string owner_token = SignInOverHttp(owner.email, owner.password).token;
  ASSERT_FALSE(owner_token.empty());
  HttpReply r = portal_.Post("/api/v1/register", RegistrationBody("", "dana@trusted.example"));
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_EQ(ErrorCode(r), "invitation_required");

  ASSERT_EQ(portal_.PutSetting(owner_token, "registration.trusted_domains",
                               json::array{"Trusted.Example"}).status, 200);
  r = portal_.Post("/api/v1/register", RegistrationBody("", "dana@trusted.example"));
  EXPECT_EQ(r.status, 403) << "listed but not enabled: " << r.body;
  ASSERT_EQ(portal_.PutSetting(owner_token, "registration.trusted_domains_enabled", true).status,
            200);
  r = portal_.Post("/api/v1/register", RegistrationBody("", "dana@trusted.example"));
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(JStr(ParseJson(r.body), "/user/role"), "user");
  r = portal_.Post("/api/v1/register", RegistrationBody("", "eve@other.example"));
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_EQ(ErrorCode(r), "invitation_required");
  r = portal_.Post("/api/v1/register", RegistrationBody("", "eve@sub.trusted.example"));
  EXPECT_EQ(r.status, 403) << "a subdomain is another domain: " << r.body;
  // Through the CLI, without --invite.
  Account carol;
  const RunResult cli = carol.machine.Cli({"register", "--server", portal_.url(), "--email",
                                           "carol@trusted.example", "--password-stdin", "--json"},
                                          "carol's password 1\n");
  EXPECT_EQ(cli.exit_code, 0) << Describe(cli);

  ASSERT_EQ(portal_.PutSetting(owner_token, "registration.trusted_domains_enabled", false).status,
            200);
  r = portal_.Post("/api/v1/register", RegistrationBody("", "fred@trusted.example"));
  EXPECT_EQ(r.status, 403) << r.body;
}

// The password policy: published to everyone, enforced by the client at registration and at
// a password change (the server never sees the password).
TEST_F(AccountsTest, PasswordPolicyIsPublishedAndEnforcedByTheClient) {
  const Account owner = RegisterOwner("owner@example.com", "owner password 1");
  const std::string owner_token = SignInOverHttp(owner.email, owner.password).token;
  HttpReply r = portal_.Request("GET", "/api/v1/password-policy");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, R"({"min_length":12,"required_classes":[],"not_email":true})");
  ASSERT_EQ(portal_.PutSetting(owner_token, "password.min_length", 14).status, 200);
  ASSERT_EQ(portal_.PutSetting(owner_token, "password.required_classes",
                               json::array{"digit", "upper"}).status, 200);
  r = portal_.Request("GET", "/api/v1/password-policy");
  EXPECT_EQ(r.body, R"({"min_length":14,"required_classes":["digit","upper"],"not_email":true})");

  // Registration: refused with every broken rule named, then accepted.
  CliMachine m;
  const std::string invitation = portal_.Invite("gina@example.com");
  const auto reg = [&](const std::string& password) {
    return m.Cli({"register", "--server", portal_.url(), "--invite", invitation, "--email",
                  "gina@example.com", "--password-stdin"},
                 password + "\n");
  };
  RunResult cli = reg("short1A12");
  EXPECT_EQ(cli.exit_code, 2) << Describe(cli);
  EXPECT_NE(cli.err.find("at least 14 characters"), std::string::npos) << Describe(cli);
  cli = reg("long enough but lower only");
  EXPECT_EQ(cli.exit_code, 2) << Describe(cli);
  EXPECT_NE(cli.err.find("a digit (0-9) and an upper-case letter (A-Z)"), std::string::npos)
      << Describe(cli);
  cli = reg("GINA@example.com");
  EXPECT_EQ(cli.exit_code, 2) << Describe(cli);
  EXPECT_NE(cli.err.find("not your email address"), std::string::npos) << Describe(cli);
  cli = reg("Long Enough Password 2");
  ASSERT_EQ(cli.exit_code, 0) << Describe(cli);

  // A password change is held to the same policy.
  cli = m.Cli({"passwd", "--password-stdin"}, "Long Enough Password 2\nweakweakweakweak\n");
  EXPECT_EQ(cli.exit_code, 2) << Describe(cli);
  EXPECT_NE(cli.err.find("policy"), std::string::npos) << Describe(cli);
  cli = m.Cli({"passwd", "--password-stdin"}, "Long Enough Password 2\nAnother Good One 3\n");
  EXPECT_EQ(cli.exit_code, 0) << Describe(cli);
}

// Session lifetime is an admin setting: a new session's expiry follows it.
TEST_F(AccountsTest, SessionLifetimeSettingSetsNewSessionsExpiry) {
  const Account owner = RegisterOwner("owner@example.com", "owner password 1");
  const std::string owner_token = SignInOverHttp(owner.email, owner.password).token;
  ASSERT_EQ(portal_.PutSetting(owner_token, "session.lifetime_s", 3600).status, 200);
  HttpReply bad = portal_.PutSetting(owner_token, "session.idle_timeout_s", 30);
  EXPECT_EQ(bad.status, 400) << bad.body;
  const HttpSignIn s = SignInOverHttp(owner.email, owner.password);
  ASSERT_EQ(s.reply.status, 200) << s.reply.body;
  const std::string expires = JStr(s.body, "/session/expires_at");
  // RFC 3339 UTC: compare with now + 1 h, to the minute.
  const std::time_t now = std::time(nullptr) + 3600;
  char expected[32];
  std::strftime(expected, sizeof expected, "%Y-%m-%dT%H:%M", std::gmtime(&now));
  EXPECT_EQ(expires.substr(0, 16), std::string(expected)) << expires;
}

// The idle timeout is enforced by the server on every request. A session is made to look idle
// by moving its last_seen_at back in the database (as time passing would, without the wait):
// the server's 60-second minimum plus its minute of grace would make a real wait take minutes.
TEST_F(AccountsTest, IdleTimeoutEndsSessionsUnusedForLongerAndZeroTurnsItOff) {
  const Account owner = RegisterOwner("owner@example.com", "owner password 1");
  const std::string owner_token = SignInOverHttp(owner.email, owner.password).token;
  const Account bob = Register("bob@example.com", "bob password 12");
  ASSERT_EQ(portal_.PutSetting(owner_token, "session.idle_timeout_s", 60).status, 200);
  const std::string idle = SignInOverHttp(bob.email, bob.password).token;
  const std::string recent = SignInOverHttp(bob.email, bob.password).token;
  ASSERT_EQ(portal_.Request("GET", "/api/v1/me", "", idle).status, 200);
  ASSERT_EQ(portal_.Request("GET", "/api/v1/me", "", recent).status, 200);
  const auto session_ids = [&](const std::string& token) {
    const HttpReply r = portal_.Request("GET", "/api/v1/me/sessions", "", token);
    EXPECT_EQ(r.status, 200) << r.body;
    std::string current;
    for (const auto& v : JArr(ParseJson(r.body), "/sessions")) {
      if (v.as_object().at("current").as_bool()) current = JStr(v, "/id");
    }
    return current;
  };
  const std::string idle_id = session_ids(idle);
  const std::string recent_id = session_ids(recent);
  ASSERT_FALSE(idle_id.empty());
  ASSERT_FALSE(recent_id.empty());
  // Ages the session by `ms` as stored; the server's session cache (1 s) then forgets it.
  const auto age = [&](const std::string& id, std::int64_t ms) {
    const RunResult r = RunProcess(
        {"/usr/bin/sqlite3", "-cmd", ".timeout 10000", portal_.data_dir() + "/strongroom.db",
         "UPDATE sessions SET last_seen_at = last_seen_at - " + std::to_string(ms) +
             " WHERE id = '" + id + "'; SELECT changes();"},
        "", 60s);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    ASSERT_EQ(r.out, "1\n") << "no such session: " << id;
  };
  // 60 s of timeout plus the minute of grace (last_seen_at moves at most once a minute).
  ASSERT_NO_FATAL_FAILURE(age(idle_id, 125'000));
  ASSERT_NO_FATAL_FAILURE(age(recent_id, 90'000));
  std::this_thread::sleep_for(1500ms);

  const HttpReply ended = portal_.Request("GET", "/api/v1/me", "", idle);
  EXPECT_EQ(ended.status, 401) << ended.body;
  EXPECT_EQ(ErrorCode(ended), "unauthenticated");
  EXPECT_NE(ended.body.find("time without use"), std::string::npos) << ended.body;
  EXPECT_EQ(portal_.Request("GET", "/api/v1/me", "", idle).status, 401)
      << "revoked, not only refused";
  EXPECT_EQ(portal_.Request("GET", "/api/v1/me", "", recent).status, 200) << "within the timeout";

  // 0: no idle timeout; a session unused for ten days still works.
  ASSERT_EQ(portal_.PutSetting(owner_token, "session.idle_timeout_s", 0).status, 200);
  ASSERT_NO_FATAL_FAILURE(age(recent_id, 10LL * 24 * 3600 * 1000));
  std::this_thread::sleep_for(1500ms);
  EXPECT_EQ(portal_.Request("GET", "/api/v1/me", "", recent).status, 200);
}

}  // namespace
}  // namespace strongroom::testing
