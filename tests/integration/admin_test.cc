// Administration end to end (issue 6, "Roles and groups"): the real strongroomd on loopback
// with a fresh data directory per test; users registered over HTTP with keys made by the
// crypto core; the real strongroom CLI for the admin commands.
//
// Covered: the role matrix (every /api/v1/admin route, taken from the server's own route
// table, against no session, a user, an admin and the owner); deactivation (sessions end at
// once, sign-in refused and recorded, reactivation); revoking a user's sessions; roles (only
// the owner makes or unmakes admins, the owner's role and state never change); groups
// (names unique regardless of case, members, counts, paging, deletion); the audit entries of
// all of it; and `strongroom admin users|groups|audit|logins`.
//
// Cost: the client side of Argon2id runs once per process (every test user shares one
// password, which the server cannot tell); the CLI signs in with it where a test needs it.
#include "support/bytes_util.h"
#include "support/cli_machine.h"
#include "support/http_client.h"
#include "support/json_util.h"
#include "support/oath.h"
#include "support/portal.h"
#include "support/process.h"
#include "support/registration.h"
#include "support/text_util.h"

#include "server/router.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <algorithm>
#include <map>
#include <set>

namespace strongroom::testing {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

constexpr const char* kPassword = "an admin test password";

// --- small utilities ---------------------------------------------------------------------

std::string Replace(std::string s, const std::string& from, const std::string& to) {
  for (auto at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) {
    s.replace(at, from.size(), to);
  }
  return s;
}

std::vector<std::string> Strings(const json::array& a) {
  std::vector<std::string> out;
  for (const auto& v : a) out.push_back(v.is_string() ? std::string(v.as_string()) : "<?>");
  return out;
}

// A registered user and the session registration gave them.
struct User {
  std::string email;
  std::string user_id;
  std::string token;
};

// Whether `path` (without a query) matches a route `pattern` as the router does: {x} is one
// non-empty segment.
bool MatchesPattern(std::string_view pattern, std::string path) {
  path = path.substr(0, path.find('?'));
  const auto split = [](std::string_view s) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start <= s.size()) {
      const auto end = s.find('/', start);
      out.emplace_back(s.substr(start, end == std::string_view::npos ? s.npos : end - start));
      if (end == std::string_view::npos) break;
      start = end + 1;
    }
    return out;
  };
  const auto p = split(pattern);
  const auto q = split(path);
  if (p.size() != q.size()) return false;
  for (std::size_t i = 0; i < p.size(); ++i) {
    const bool param = p[i].size() > 2 && p[i].front() == '{';
    if (param ? q[i].empty() : p[i] != q[i]) return false;
  }
  return true;
}

// --- the fixture -------------------------------------------------------------------------

class AdminTest : public ::testing::Test {
 protected:
  void SetUp() override {
    PortalOptions options;
    options.rate_limits = false;
    options.user_agent = "admin-test";
    ASSERT_NO_FATAL_FAILURE(portal_.Start(options));
    owner_ = RegisterUser(portal_.setup_token(), "owner@example.com");
    ASSERT_FALSE(owner_.token.empty());
    admin_ = RegisterUser(Invite("adam@example.com", "admin"), "adam@example.com");
    admin2_ = RegisterUser(Invite("alba@example.com", "admin"), "alba@example.com");
    user_ = RegisterUser(Invite("ursula@example.com"), "ursula@example.com");
    tina_ = RegisterUser(Invite("tina@example.com"), "tina@example.com");
    for (const User* u : {&admin_, &admin2_, &user_, &tina_}) ASSERT_FALSE(u->token.empty());
  }

  void TearDown() override { portal_.FinishTest(8000); }

  std::string Invite(const std::string& email, const std::string& role = "user") {
    const HttpReply r =
        Post(owner_, "/api/v1/admin/invitations", json::object{{"email", email}, {"role", role}});
    EXPECT_EQ(r.status, 201) << r.body;
    return r.status == 201 ? JStr(ParseJson(r.body), "/token") : std::string();
  }

  // Registers over HTTP with the shared password (Argon2id once per process).
  User RegisterUser(const std::string& invitation, const std::string& email) {
    const HttpRegistration r =
        RegisterOverHttp(portal_, invitation, email, SharedPasswordKeysFor(kPassword));
    return {r.email, r.user_id, r.token};
  }

  // POST /api/v1/login with the shared password's auth key.
  HttpReply Login(const std::string& email) {
    const SharedPasswordKeys& pk = SharedPasswordKeysFor(kPassword);
    return portal_.Request("POST", "/api/v1/login",
                           json::serialize(json::object{
                               {"email", email}, {"auth_key", B64(pk.keys->auth_key.bytes())}}));
  }
  // A new session of `email`, or "" (with a test failure) when sign-in fails.
  std::string NewSession(const std::string& email) {
    const HttpReply r = Login(email);
    EXPECT_EQ(r.status, 200) << r.body;
    return r.status == 200 ? JStr(ParseJson(r.body), "/session/token") : std::string();
  }

  HttpReply Api(const User& u, const std::string& method, const std::string& target,
                const std::string& body = "") {
    return portal_.Request(method, target, body, u.token);
  }
  HttpReply Post(const User& u, const std::string& target, const json::value& body) {
    return Api(u, "POST", target, json::serialize(body));
  }
  // Turns on two-factor sign-in for `u` (begin, then confirm with an oathtool code).
  void EnrolTwoFactor(const User& u) {
    const HttpReply begun = Post(u, "/api/v1/me/2fa/begin", json::object{});
    ASSERT_EQ(begun.status, 200) << begun.body;
    const std::string code = OathtoolCode(JStr(ParseJson(begun.body), "/secret"), CurrentStep());
    const HttpReply confirmed = Post(u, "/api/v1/me/2fa/confirm", json::object{{"totp", code}});
    ASSERT_EQ(confirmed.status, 200) << confirmed.body;
  }

  int MeStatus(const std::string& token) {
    return portal_.Request("GET", "/api/v1/me", "", token).status;
  }

  // The audit entries with this action (newest first), read as the owner.
  json::array AuditOf(const std::string& action) {
    const HttpReply r = Api(owner_, "GET", "/api/v1/admin/audit?limit=1000&action=" + action);
    EXPECT_EQ(r.status, 200) << r.body;
    return JArr(ParseJson(r.body), "/events");
  }
  // How many of `events` have this actor, target and result.
  static std::size_t Count(const json::array& events, const std::string& actor,
                           const std::string& target, const std::string& result) {
    return static_cast<std::size_t>(std::count_if(events.begin(), events.end(), [&](auto& e) {
      return JStr(e, "/actor") == actor && JStr(e, "/target") == target &&
             JStr(e, "/result") == result;
    }));
  }

  json::value UserView(const std::string& ref) {
    const HttpReply r = Api(owner_, "GET", "/api/v1/admin/users/" + ref);
    EXPECT_EQ(r.status, 200) << ref << ": " << r.body;
    return ParseJson(r.body);
  }

  Portal portal_;
  User owner_, admin_, admin2_, user_, tina_;
};

// --- the role matrix ---------------------------------------------------------------------

// One request on an admin route and what an admin and the owner must get for it (every user
// gets 403 forbidden, and no session 401 unauthenticated). "{who}" in the path or body is
// replaced by the caller's name, so each caller acts on its own objects.
struct MatrixRow {
  std::string method;
  std::string pattern;  // The route it exercises, as in the server's route table.
  std::string path;
  std::string body;
  int admin;
  int owner;
};

TEST_F(AdminTest, RoleMatrixCoversEveryAdminRouteForEveryRole) {
  const std::string tina = "tina%40example.com";
  const std::string owner = "owner%40example.com";
  const std::string alba = "alba%40example.com";
  const std::string users = "/api/v1/admin/users";
  const std::string groups = "/api/v1/admin/groups";
  const std::vector<MatrixRow> rows = {
      {"GET", "/api/v1/admin/audit", "/api/v1/admin/audit", "", 200, 200},
      {"GET", "/api/v1/admin/logins", "/api/v1/admin/logins", "", 200, 200},
      {"POST", "/api/v1/admin/invitations", "/api/v1/admin/invitations",
       R"({"email":"inv-{who}@example.com","role":"user"})", 201, 201},
      // Only the owner invites admins.
      {"POST", "/api/v1/admin/invitations", "/api/v1/admin/invitations",
       R"({"email":"inv-admin-{who}@example.com","role":"admin"})", 403, 201},
      {"GET", "/api/v1/admin/settings", "/api/v1/admin/settings", "", 200, 200},
      {"PUT", "/api/v1/admin/settings", "/api/v1/admin/settings",
       R"({"key":"room.enabled","value":true})", 200, 200},
      {"GET", users, users, "", 200, 200},
      {"GET", users + "/{user}", users + "/" + tina, "", 200, 200},
      {"GET", users + "/{user}", users + "/" + tina_.user_id, "", 200, 200},
      {"POST", users + "/{user}/deactivate", users + "/" + tina + "/deactivate", "", 200, 200},
      {"POST", users + "/{user}/reactivate", users + "/" + tina + "/reactivate", "", 200, 200},
      {"POST", users + "/{user}/revoke-sessions", users + "/" + tina + "/revoke-sessions", "", 200,
       200},
      // Only the owner makes or unmakes admins.
      {"PUT", users + "/{user}/role", users + "/" + tina + "/role", R"({"role":"admin"})", 403,
       200},
      {"PUT", users + "/{user}/role", users + "/" + tina + "/role", R"({"role":"user"})", 403, 200},
      // Nobody changes the owner's role or state: an admin may not (403), the owner cannot
      // (409: the portal must keep its owner).
      {"PUT", users + "/{user}/role", users + "/" + owner + "/role", R"({"role":"user"})", 403,
       409},
      {"POST", users + "/{user}/deactivate", users + "/" + owner + "/deactivate", "", 403, 409},
      {"POST", users + "/{user}/revoke-sessions", users + "/" + owner + "/revoke-sessions", "", 403,
       -1},  // The owner's own: tested last, below (it ends the owner's session).
      // Only the owner changes another admin's account.
      {"POST", users + "/{user}/deactivate", users + "/" + alba + "/deactivate", "", 403, 200},
      {"POST", users + "/{user}/reactivate", users + "/" + alba + "/reactivate", "", 403, 200},
      {"POST", users + "/{user}/revoke-sessions", users + "/" + alba + "/revoke-sessions", "", 403,
       200},
      // Tina enrolled below: the admin removes her second factor, after which the owner finds
      // none (409 2fa_not_enabled). An admin's is the owner's to reset; one's own nobody's.
      {"POST", users + "/{user}/reset-2fa", users + "/" + tina + "/reset-2fa", "", 200, 409},
      {"POST", users + "/{user}/reset-2fa", users + "/" + alba + "/reset-2fa", "", 403, 409},
      {"POST", users + "/{user}/reset-2fa", users + "/" + owner + "/reset-2fa", "", 403, 403},
      {"GET", groups, groups, "", 200, 200},
      {"POST", groups, groups, R"({"name":"matrix-{who}"})", 201, 201},
      {"GET", groups + "/{name}", groups + "/matrix-{who}", "", 200, 200},
      {"POST", groups + "/{name}/members", groups + "/matrix-{who}/members",
       R"({"user":"tina@example.com"})", 200, 200},
      {"DELETE", groups + "/{name}/members/{user}", groups + "/matrix-{who}/members/" + tina, "",
       200, 200},
      {"DELETE", groups + "/{name}", groups + "/matrix-{who}", "", 200, 200},
  };

  // The table covers the server's whole admin surface, and only routes that exist.
  std::set<std::pair<std::string, std::string>> admin_routes;
  for (const auto& route : server::Routes()) {
    if (!route.pattern.starts_with("/api/v1/admin/")) continue;
    admin_routes.emplace(std::string(boost::beast::http::to_string(route.method)),
                         std::string(route.pattern));
  }
  ASSERT_GE(admin_routes.size(), 17u);
  std::set<std::pair<std::string, std::string>> covered;
  for (const auto& row : rows) {
    EXPECT_TRUE(admin_routes.contains({row.method, row.pattern}))
        << row.method << " " << row.pattern << " is in the matrix but not a route";
    EXPECT_TRUE(MatchesPattern(row.pattern, row.path)) << row.path << " vs " << row.pattern;
    covered.emplace(row.method, row.pattern);
  }
  for (const auto& route : admin_routes) {
    EXPECT_TRUE(covered.contains(route))
        << route.first << " " << route.second
        << " has no row in the role matrix: add one (what a user, an admin and the owner get)";
  }

  ASSERT_NO_FATAL_FAILURE(EnrolTwoFactor(tina_));
  EXPECT_TRUE(JBool(UserView(tina), "/user/two_factor"));

  struct Caller {
    std::string who;
    std::string token;
  };
  const std::vector<Caller> callers = {
      {"none", ""}, {"user", user_.token}, {"admin", admin_.token}, {"owner", owner_.token}};
  for (const auto& row : rows) {
    for (const auto& caller : callers) {
      const std::string path = Replace(row.path, "{who}", caller.who);
      const std::string body = Replace(row.body, "{who}", caller.who);
      const std::string what = caller.who + ": " + row.method + " " + path + " " + body;
      int expected = caller.who == "none"    ? 401
                     : caller.who == "user"  ? 403
                     : caller.who == "admin" ? row.admin
                                             : row.owner;
      if (expected < 0) continue;
      const HttpReply r = portal_.Request(row.method, path, body, caller.token);
      EXPECT_EQ(r.status, expected) << what << "\n" << r.body;
      if (expected == 401) {
        EXPECT_EQ(ErrorCode(r), "unauthenticated") << what;
      } else if (expected == 403) {
        EXPECT_EQ(ErrorCode(r), "forbidden") << what;
      } else if (expected == 409) {
        EXPECT_EQ(ErrorCode(r), path.ends_with("/reset-2fa") ? "2fa_not_enabled" : "last_owner")
            << what;
      }
    }
  }

  // The matrix left everyone as they were: the owner the owner, the admins admins, tina a
  // user (made admin and back by the owner only), everyone active.
  EXPECT_EQ(JStr(UserView(owner), "/user/role"), "owner");
  EXPECT_TRUE(JBool(UserView(owner), "/user/active"));
  EXPECT_EQ(JStr(UserView(alba), "/user/role"), "admin");
  EXPECT_TRUE(JBool(UserView(alba), "/user/active"));
  EXPECT_EQ(JStr(UserView(tina), "/user/role"), "user");
  EXPECT_TRUE(JBool(UserView(tina), "/user/active"));
  EXPECT_TRUE(JArr(UserView(tina), "/user/groups").empty());
  const auto roles = AuditOf("user.role");
  EXPECT_EQ(Count(roles, owner_.user_id, tina_.user_id, "success"), 2u);
  EXPECT_EQ(Count(roles, admin_.user_id, tina_.user_id, "denied"), 2u);
  EXPECT_EQ(Count(roles, admin_.user_id, owner_.user_id, "denied"), 1u);
  EXPECT_EQ(Count(roles, owner_.user_id, owner_.user_id, "denied"), 1u);
  EXPECT_FALSE(JBool(UserView(tina), "/user/two_factor"));
  const auto resets = AuditOf("user.2fa_reset");
  EXPECT_EQ(Count(resets, admin_.user_id, tina_.user_id, "success"), 1u);
  EXPECT_EQ(Count(resets, admin_.user_id, owner_.user_id, "denied"), 1u);
  EXPECT_EQ(Count(resets, owner_.user_id, owner_.user_id, "denied"), 1u);

  // An admin cannot act on its own account either; its session survives the attempts.
  const std::string adam = "/api/v1/admin/users/adam%40example.com";
  EXPECT_API_ERROR(Api(admin_, "POST", adam + "/deactivate"), 403, "forbidden");
  EXPECT_API_ERROR(Api(admin_, "PUT", adam + "/role", R"({"role":"user"})"), 403, "forbidden");
  EXPECT_API_ERROR(Api(admin_, "POST", adam + "/revoke-sessions"), 403, "forbidden");
  EXPECT_API_ERROR(Api(admin_, "POST", adam + "/reset-2fa"), 403, "forbidden");
  EXPECT_EQ(MeStatus(admin_.token), 200);

  // The owner may end its own sessions (signing out everywhere), this one included.
  const HttpReply own = Api(owner_, "POST", "/api/v1/admin/users/" + owner + "/revoke-sessions");
  ASSERT_EQ(own.status, 200) << own.body;
  EXPECT_GE(JInt(ParseJson(own.body), "/revoked_sessions"), 1);
  EXPECT_EQ(MeStatus(owner_.token), 401);
}

// --- users -------------------------------------------------------------------------------

TEST_F(AdminTest, UsersAreListedPagedAndShownWithoutCredentials) {
  const HttpReply all = Api(admin_, "GET", "/api/v1/admin/users");
  ASSERT_EQ(all.status, 200) << all.body;
  std::vector<std::string> emails;
  for (const auto& u : JArr(ParseJson(all.body), "/users")) {
    emails.push_back(JStr(u, "/email"));
    EXPECT_EQ(Keys(u), (std::set<std::string>{"id", "email", "display_name", "role", "active",
                                              "created_at", "updated_at", "groups", "two_factor"}))
        << json::serialize(u);
  }
  EXPECT_EQ(emails,
            (std::vector<std::string>{"adam@example.com", "alba@example.com", "owner@example.com",
                                      "tina@example.com", "ursula@example.com"}));
  const auto page = [&](const std::string& query) {
    const HttpReply r = Api(admin_, "GET", "/api/v1/admin/users?" + query);
    EXPECT_EQ(r.status, 200) << query << ": " << r.body;
    std::vector<std::string> out;
    for (const auto& u : JArr(ParseJson(r.body), "/users")) out.push_back(JStr(u, "/email"));
    return out;
  };
  EXPECT_EQ(page("limit=2"), (std::vector<std::string>{"adam@example.com", "alba@example.com"}));
  EXPECT_EQ(page("limit=2&after=alba%40example.com"),
            (std::vector<std::string>{"owner@example.com", "tina@example.com"}));
  EXPECT_EQ(page("limit=2&after=tina%40example.com"),
            (std::vector<std::string>{"ursula@example.com"}));
  EXPECT_API_ERROR(Api(admin_, "GET", "/api/v1/admin/users?limit=0"), 400, "invalid_request");
  EXPECT_API_ERROR(Api(admin_, "GET", "/api/v1/admin/users?limit=1001"), 400, "invalid_request");

  // One user, by email (any case) or id, with sessions but no credentials.
  const json::value by_email = UserView("Tina%40Example.COM");
  const json::value by_id = UserView(tina_.user_id);
  EXPECT_EQ(JStr(by_email, "/user/id"), tina_.user_id);
  EXPECT_EQ(json::serialize(by_email.at("user")), json::serialize(by_id.at("user")));
  EXPECT_EQ(JStr(by_email, "/user/role"), "user");
  EXPECT_TRUE(JBool(by_email, "/user/active"));
  const json::array sessions = JArr(by_email, "/sessions");
  ASSERT_EQ(sessions.size(), 1u);
  EXPECT_EQ(Keys(sessions[0]), (std::set<std::string>{"id", "created_at", "last_seen_at",
                                                      "expires_at", "ip", "user_agent"}));
  EXPECT_EQ(JStr(sessions[0], "/ip"), "127.0.0.1");
  EXPECT_EQ(Keys(by_email), (std::set<std::string>{"user", "sessions"}));
  for (const char* secret : {"verifier", "bundle", "kdf", "token"}) {
    EXPECT_EQ(all.body.find(secret), std::string::npos) << secret;
    EXPECT_EQ(json::serialize(by_email).find(secret), std::string::npos) << secret;
  }
  EXPECT_EQ(json::serialize(by_email).find(tina_.token), std::string::npos);

  // Unknown, malformed and badly encoded names are all "no such user".
  for (const std::string ref :
       {"nobody%40example.com", "u-0000", "Not%20an%20id", "%zz", "a%40b%40c"}) {
    EXPECT_API_ERROR(Api(admin_, "GET", "/api/v1/admin/users/" + ref), 404, "not_found");
    EXPECT_API_ERROR(Api(admin_, "POST", "/api/v1/admin/users/" + ref + "/deactivate"), 404,
                     "not_found");
  }
}

TEST_F(AdminTest, DeactivationEndsEverySessionAtOnceAndRefusesSignInUntilReactivated) {
  const std::string second = NewSession(tina_.email);
  ASSERT_FALSE(second.empty());
  // Both sessions in use (so a session cache holds them) right before the deactivation.
  ASSERT_EQ(MeStatus(tina_.token), 200);
  ASSERT_EQ(MeStatus(second), 200);

  const HttpReply off = Api(admin_, "POST", "/api/v1/admin/users/tina%40example.com/deactivate");
  ASSERT_EQ(off.status, 200) << off.body;
  const json::value answer = ParseJson(off.body);
  EXPECT_EQ(JInt(answer, "/revoked_sessions"), 2);
  EXPECT_FALSE(JBool(answer, "/user/active"));
  EXPECT_EQ(JStr(answer, "/user/id"), tina_.user_id);
  // At once: the very next request of either session.
  EXPECT_API_ERROR(portal_.Request("GET", "/api/v1/me", "", tina_.token), 401, "unauthenticated");
  EXPECT_API_ERROR(portal_.Request("GET", "/api/v1/me", "", second), 401, "unauthenticated");

  // Sign-in is refused (with the right password) and recorded as refused.
  EXPECT_API_ERROR(Login(tina_.email), 403, "account_disabled");
  const HttpReply logins = Api(admin_, "GET", "/api/v1/admin/logins?user=" + tina_.user_id);
  ASSERT_EQ(logins.status, 200) << logins.body;
  const json::array attempts = JArr(ParseJson(logins.body), "/logins");
  ASSERT_FALSE(attempts.empty());
  EXPECT_EQ(JStr(attempts[0], "/result"), "refused");
  EXPECT_EQ(JStr(attempts[0], "/reason"), "account_disabled");
  EXPECT_EQ(JStr(attempts[0], "/ip"), "127.0.0.1");

  const json::value view = UserView("tina%40example.com");
  EXPECT_FALSE(JBool(view, "/user/active"));
  EXPECT_TRUE(JArr(view, "/sessions").empty());
  EXPECT_EQ(JStr(view, "/user/updated_at"), JStr(answer, "/user/updated_at"));
  EXPECT_GT(JStr(view, "/user/updated_at"), JStr(view, "/user/created_at"));
  EXPECT_EQ(Count(AuditOf("user.deactivate"), admin_.user_id, tina_.user_id, "success"), 1u);
  // Other accounts are untouched.
  EXPECT_EQ(MeStatus(user_.token), 200);

  // Deactivating again is harmless; reactivation allows sign-in, not the old sessions.
  EXPECT_EQ(Api(admin_, "POST", "/api/v1/admin/users/tina%40example.com/deactivate").status, 200);
  const HttpReply on = Api(admin_, "POST", "/api/v1/admin/users/" + tina_.user_id + "/reactivate");
  ASSERT_EQ(on.status, 200) << on.body;
  EXPECT_TRUE(JBool(ParseJson(on.body), "/user/active"));
  EXPECT_EQ(MeStatus(tina_.token), 401);
  const std::string fresh = NewSession(tina_.email);
  ASSERT_FALSE(fresh.empty());
  EXPECT_EQ(MeStatus(fresh), 200);
  EXPECT_EQ(Count(AuditOf("user.reactivate"), admin_.user_id, tina_.user_id, "success"), 1u);
}

TEST_F(AdminTest, RevokingAUsersSessionsEndsAllOfThemAndNothingElse) {
  std::vector<std::string> tokens{tina_.token, NewSession(tina_.email), NewSession(tina_.email)};
  for (const auto& t : tokens) ASSERT_EQ(MeStatus(t), 200);
  EXPECT_EQ(JArr(UserView("tina%40example.com"), "/sessions").size(), 3u);

  const HttpReply r = Api(admin_, "POST", "/api/v1/admin/users/tina%40example.com/revoke-sessions");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(JInt(ParseJson(r.body), "/revoked_sessions"), 3);
  for (const auto& t : tokens) EXPECT_EQ(MeStatus(t), 401);
  EXPECT_TRUE(JArr(UserView("tina%40example.com"), "/sessions").empty());
  EXPECT_TRUE(JBool(UserView("tina%40example.com"), "/user/active")) << "still an account";
  EXPECT_EQ(MeStatus(user_.token), 200) << "another user's session";
  EXPECT_EQ(MeStatus(admin_.token), 200) << "the caller's session";
  EXPECT_EQ(Count(AuditOf("user.sessions_revoke"), admin_.user_id, tina_.user_id, "success"), 1u);

  // The user signs in again as usual; a second revocation finds that one session.
  const std::string again = NewSession(tina_.email);
  ASSERT_EQ(MeStatus(again), 200);
  const HttpReply r2 =
      Api(owner_, "POST", "/api/v1/admin/users/" + tina_.user_id + "/revoke-sessions");
  ASSERT_EQ(r2.status, 200) << r2.body;
  EXPECT_EQ(JInt(ParseJson(r2.body), "/revoked_sessions"), 1);
  EXPECT_EQ(MeStatus(again), 401);
  EXPECT_API_ERROR(Api(admin_, "POST", "/api/v1/admin/users/ghost%40example.com/revoke-sessions"),
                   404, "not_found");
}

TEST_F(AdminTest, OnlyTheOwnerMakesAdminsAndTheOwnerAlwaysStays) {
  const std::string tina = "/api/v1/admin/users/tina%40example.com";
  ASSERT_EQ(Api(tina_, "GET", "/api/v1/admin/users").status, 403);
  // An admin may not make another admin.
  EXPECT_API_ERROR(Api(admin_, "PUT", tina + "/role", R"({"role":"admin"})"), 403, "forbidden");
  EXPECT_EQ(Api(tina_, "GET", "/api/v1/admin/users").status, 403);

  // The owner may; the new admin's existing session has the role at once.
  const HttpReply up = Api(owner_, "PUT", tina + "/role", R"({"role":"admin"})");
  ASSERT_EQ(up.status, 200) << up.body;
  EXPECT_EQ(JStr(ParseJson(up.body), "/user/role"), "admin");
  EXPECT_EQ(JStr(ParseJson(up.body), "/user/updated_at"),
            JStr(UserView("tina%40example.com"), "/user/updated_at"));
  EXPECT_EQ(Api(tina_, "GET", "/api/v1/admin/users").status, 200);
  // Now an admin: other admins may not change the account any more.
  EXPECT_API_ERROR(Api(admin_, "POST", tina + "/deactivate"), 403, "forbidden");
  EXPECT_API_ERROR(Api(admin_, "PUT", tina + "/role", R"({"role":"user"})"), 403, "forbidden");
  EXPECT_API_ERROR(Api(admin_, "POST", tina + "/revoke-sessions"), 403, "forbidden");
  EXPECT_EQ(MeStatus(tina_.token), 200);
  // Nor may the new admin touch the owner.
  EXPECT_API_ERROR(
      Api(tina_, "PUT", "/api/v1/admin/users/owner%40example.com/role", R"({"role":"user"})"), 403,
      "forbidden");
  EXPECT_API_ERROR(Api(tina_, "POST", "/api/v1/admin/users/owner%40example.com/deactivate"), 403,
                   "forbidden");

  // Demoted by the owner: the admin endpoints close at once.
  const HttpReply down = Api(owner_, "PUT", tina + "/role", R"({"role":"user"})");
  ASSERT_EQ(down.status, 200) << down.body;
  EXPECT_API_ERROR(Api(tina_, "GET", "/api/v1/admin/users"), 403, "forbidden");
  EXPECT_EQ(MeStatus(tina_.token), 200) << "a role change keeps the sessions";
  std::vector<json::value> changes;  // The successful ones, newest first.
  for (const auto& e : AuditOf("user.role")) {
    if (JStr(e, "/result") == "success") changes.push_back(e);
  }
  ASSERT_EQ(changes.size(), 2u);
  for (const auto& e : changes) {
    EXPECT_EQ(JStr(e, "/actor"), owner_.user_id);
    EXPECT_EQ(JStr(e, "/target"), tina_.user_id);
  }
  EXPECT_EQ(JStr(changes[0], "/detail/from"), "admin");
  EXPECT_EQ(JStr(changes[0], "/detail/to"), "user");
  EXPECT_EQ(JStr(changes[1], "/detail/from"), "user");
  EXPECT_EQ(JStr(changes[1], "/detail/to"), "admin");
  // The refusals are there too: who tried what on whom.
  EXPECT_EQ(Count(AuditOf("user.role"), admin_.user_id, tina_.user_id, "denied"), 2u);
  EXPECT_EQ(Count(AuditOf("user.role"), tina_.user_id, owner_.user_id, "denied"), 1u);

  // Nobody becomes owner by assignment; the owner's role and state never change.
  EXPECT_API_ERROR(Api(owner_, "PUT", tina + "/role", R"({"role":"owner"})"), 400,
                   "invalid_request");
  EXPECT_API_ERROR(Api(owner_, "PUT", tina + "/role", R"({"role":"root"})"), 400,
                   "invalid_request");
  EXPECT_API_ERROR(Api(owner_, "PUT", tina + "/role", R"({})"), 400, "invalid_request");
  const std::string self = "/api/v1/admin/users/owner%40example.com";
  EXPECT_API_ERROR(Api(owner_, "PUT", self + "/role", R"({"role":"admin"})"), 409, "last_owner");
  EXPECT_API_ERROR(Api(owner_, "POST", self + "/deactivate"), 409, "last_owner");
  EXPECT_API_ERROR(Api(admin_, "PUT", self + "/role", R"({"role":"user"})"), 403, "forbidden");
  EXPECT_API_ERROR(Api(admin_, "POST", self + "/deactivate"), 403, "forbidden");
  EXPECT_EQ(JStr(UserView("owner%40example.com"), "/user/role"), "owner");
  EXPECT_EQ(MeStatus(owner_.token), 200);
  EXPECT_EQ(Count(AuditOf("user.deactivate"), admin_.user_id, owner_.user_id, "denied"), 1u);
  EXPECT_EQ(Count(AuditOf("user.deactivate"), owner_.user_id, owner_.user_id, "denied"), 1u);
}

// --- groups ------------------------------------------------------------------------------

TEST_F(AdminTest, GroupsAreCreatedFilledListedEmptiedAndDeleted) {
  const std::string groups = "/api/v1/admin/groups";
  const HttpReply made = Post(admin_, groups, json::object{{"name", "Sales"}});
  ASSERT_EQ(made.status, 201) << made.body;
  EXPECT_EQ(JStr(ParseJson(made.body), "/group/name"), "Sales");
  EXPECT_EQ(JInt(ParseJson(made.body), "/group/members"), 0);
  EXPECT_EQ(JStr(ParseJson(made.body), "/group/created_by"), admin_.user_id);
  // Unique regardless of case; bounded and clean names.
  EXPECT_API_ERROR(Post(owner_, groups, json::object{{"name", "sales"}}), 409, "group_exists");
  for (const std::string& bad :
       std::vector<std::string>{"", " Sales", "Sales ", "tab\there", std::string(65, 'x')}) {
    const HttpReply r = Post(admin_, groups, json::object{{"name", bad}});
    EXPECT_EQ(r.status, 400) << "'" << bad << "': " << r.body;
    EXPECT_EQ(ErrorCode(r), "invalid_request") << bad;
  }
  EXPECT_API_ERROR(Post(admin_, groups, json::object{{"title", "x"}}), 400, "invalid_request");
  ASSERT_EQ(Post(admin_, groups, json::object{{"name", "Engineering Team"}}).status, 201);
  ASSERT_EQ(Post(admin_, groups, json::object{{"name", std::string(64, 'z')}}).status, 201);

  // Members by email or id.
  const HttpReply added =
      Post(admin_, groups + "/Sales/members", json::object{{"user", "Tina@Example.com"}});
  ASSERT_EQ(added.status, 200) << added.body;
  EXPECT_EQ(JInt(ParseJson(added.body), "/group/members"), 1);
  const HttpReply added2 =
      Post(admin_, groups + "/sales/members", json::object{{"user", user_.user_id}});
  ASSERT_EQ(added2.status, 200) << added2.body;
  EXPECT_EQ(JInt(ParseJson(added2.body), "/group/members"), 2);
  ASSERT_EQ(Post(admin_, groups + "/Engineering%20Team/members",
                 json::object{{"user", "tina@example.com"}})
                .status,
            200);
  EXPECT_API_ERROR(Post(admin_, groups + "/Sales/members", json::object{{"user", tina_.email}}),
                   409, "already_member");
  EXPECT_API_ERROR(
      Post(admin_, groups + "/Sales/members", json::object{{"user", "ghost@example.com"}}), 404,
      "not_found");
  EXPECT_API_ERROR(Post(admin_, groups + "/Nope/members", json::object{{"user", tina_.email}}), 404,
                   "not_found");

  // Listed by name ignoring case, with counts; paged.
  const HttpReply list = Api(admin_, "GET", groups);
  ASSERT_EQ(list.status, 200) << list.body;
  std::vector<std::string> names;
  std::vector<std::int64_t> counts;
  for (const auto& g : JArr(ParseJson(list.body), "/groups")) {
    names.push_back(JStr(g, "/name"));
    counts.push_back(JInt(g, "/members"));
    EXPECT_EQ(Keys(g), (std::set<std::string>{"name", "members", "created_at", "created_by"}));
  }
  EXPECT_EQ(names, (std::vector<std::string>{"Engineering Team", "Sales", std::string(64, 'z')}));
  EXPECT_EQ(counts, (std::vector<std::int64_t>{1, 2, 0}));
  const HttpReply second_page = Api(admin_, "GET", groups + "?limit=1&after=engineering%20team");
  ASSERT_EQ(second_page.status, 200) << second_page.body;
  const json::array one = JArr(ParseJson(second_page.body), "/groups");
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(JStr(one[0], "/name"), "Sales");

  // One group with its members (by email), each with all of its groups.
  const HttpReply shown = Api(admin_, "GET", groups + "/SALES");
  ASSERT_EQ(shown.status, 200) << shown.body;
  const json::value group = ParseJson(shown.body);
  EXPECT_EQ(JStr(group, "/group/name"), "Sales");
  const json::array members = JArr(group, "/members");
  ASSERT_EQ(members.size(), 2u);
  EXPECT_EQ(JStr(members[0], "/email"), "tina@example.com");
  EXPECT_EQ(Strings(JArr(members[0], "/groups")),
            (std::vector<std::string>{"Engineering Team", "Sales"}));
  EXPECT_EQ(JStr(members[1], "/email"), "ursula@example.com");
  EXPECT_EQ(Strings(JArr(UserView("tina%40example.com"), "/user/groups")),
            (std::vector<std::string>{"Engineering Team", "Sales"}));
  EXPECT_API_ERROR(Api(admin_, "GET", groups + "/Nope"), 404, "not_found");

  // Removing: members by email or id; not a member is 404.
  const HttpReply removed = Api(admin_, "DELETE", groups + "/Sales/members/" + user_.user_id);
  ASSERT_EQ(removed.status, 200) << removed.body;
  EXPECT_EQ(JInt(ParseJson(removed.body), "/group/members"), 1);
  EXPECT_API_ERROR(Api(admin_, "DELETE", groups + "/Sales/members/" + user_.user_id), 404,
                   "not_found");
  EXPECT_API_ERROR(Api(admin_, "DELETE", groups + "/Sales/members/ghost%40example.com"), 404,
                   "not_found");
  EXPECT_API_ERROR(Api(admin_, "DELETE", groups + "/Nope/members/tina%40example.com"), 404,
                   "not_found");

  // Deleting a group ends its memberships, never its members.
  const HttpReply deleted = Api(owner_, "DELETE", groups + "/sales");
  ASSERT_EQ(deleted.status, 200) << deleted.body;
  EXPECT_API_ERROR(Api(admin_, "GET", groups + "/Sales"), 404, "not_found");
  EXPECT_API_ERROR(Api(admin_, "DELETE", groups + "/Sales"), 404, "not_found");
  EXPECT_EQ(Strings(JArr(UserView("tina%40example.com"), "/user/groups")),
            (std::vector<std::string>{"Engineering Team"}));
  EXPECT_EQ(MeStatus(tina_.token), 200);

  // Every change is in the audit trail, under the name as created.
  EXPECT_EQ(Count(AuditOf("group.create"), admin_.user_id, "Sales", "success"), 1u);
  EXPECT_EQ(Count(AuditOf("group.add"), admin_.user_id, "Sales", "success"), 2u);
  EXPECT_EQ(Count(AuditOf("group.remove"), admin_.user_id, "Sales", "success"), 1u);
  const json::array deletes = AuditOf("group.delete");
  EXPECT_EQ(Count(deletes, owner_.user_id, "Sales", "success"), 1u);
  ASSERT_FALSE(deletes.empty());
  EXPECT_EQ(JInt(deletes[0], "/detail/members"), 1);
  const json::array adds = AuditOf("group.add");
  ASSERT_FALSE(adds.empty());
  EXPECT_EQ(JStr(adds.back(), "/detail/user"), tina_.user_id);
}

// --- the CLI -----------------------------------------------------------------------------

TEST_F(AdminTest, CliAdministersUsersGroupsAndReadsTheLogs) {
  CliMachine owner_machine;
  const auto login = [&](const CliMachine& m, const std::string& email) {
    const RunResult r =
        m.Cli({"login", "--server", portal_.url(), "--email", email, "--password-stdin"},
              std::string(kPassword) + "\n");
    ASSERT_EQ(r.exit_code, 0) << Describe(r);
  };
  ASSERT_NO_FATAL_FAILURE(login(owner_machine, "owner@example.com"));
  const auto cli = [&](std::vector<std::string> args) { return owner_machine.Cli(args); };

  // users list: a table, and JSON for scripts.
  const RunResult table = cli({"admin", "users", "list"});
  ASSERT_EQ(table.exit_code, 0) << Describe(table);
  EXPECT_TRUE(table.out.starts_with("EMAIL")) << table.out;
  for (const char* email : {"adam@example.com", "owner@example.com", "tina@example.com"}) {
    EXPECT_NE(table.out.find(email), std::string::npos) << email << "\n" << table.out;
  }
  const json::array users = JArr(CliJson(cli({"admin", "users", "list", "--json"})), "/users");
  ASSERT_EQ(users.size(), 5u);
  EXPECT_EQ(JStr(users[2], "/email"), "owner@example.com");
  EXPECT_EQ(JStr(users[2], "/role"), "owner");

  // deactivate / reactivate, and what the user sees meanwhile.
  ASSERT_EQ(MeStatus(tina_.token), 200);
  const RunResult off = cli({"admin", "users", "deactivate", "tina@example.com"});
  ASSERT_EQ(off.exit_code, 0) << Describe(off);
  EXPECT_EQ(off.out, "Deactivated tina@example.com; 1 session(s) signed out.\n");
  EXPECT_EQ(MeStatus(tina_.token), 401);
  const RunResult shown = cli({"admin", "users", "show", "tina@example.com"});
  ASSERT_EQ(shown.exit_code, 0) << Describe(shown);
  EXPECT_NE(shown.out.find("status: deactivated\n"), std::string::npos) << shown.out;
  EXPECT_NE(shown.out.find("sessions: 0\n"), std::string::npos) << shown.out;
  EXPECT_NE(shown.out.find("user id: " + tina_.user_id + "\n"), std::string::npos) << shown.out;
  EXPECT_EQ(Login(tina_.email).status, 403);
  const RunResult on = cli({"admin", "users", "reactivate", "tina@example.com"});
  ASSERT_EQ(on.exit_code, 0) << Describe(on);
  EXPECT_EQ(on.out, "Reactivated tina@example.com.\n");
  const std::string tina_session = NewSession(tina_.email);
  ASSERT_EQ(MeStatus(tina_session), 200);

  // role: admin and back; "owner" is not a role to give (a usage error, nothing sent).
  const RunResult up = cli({"admin", "users", "role", "tina@example.com", "admin"});
  ASSERT_EQ(up.exit_code, 0) << Describe(up);
  EXPECT_EQ(up.out, "Role of tina@example.com: admin.\n");
  EXPECT_EQ(portal_.Request("GET", "/api/v1/admin/users", "", tina_session).status, 200);
  const json::value down =
      CliJson(cli({"admin", "users", "role", tina_.user_id, "user", "--json"}));
  EXPECT_EQ(JStr(down, "/user/role"), "user");
  EXPECT_EQ(cli({"admin", "users", "role", "tina@example.com", "owner"}).exit_code, 2);
  ExpectCliError(cli({"admin", "users", "role", "owner@example.com", "user"}), "last_owner");
  ExpectCliError(cli({"admin", "users", "show", "ghost@example.com"}), "not_found");

  // revoke-sessions
  const RunResult revoked = cli({"admin", "users", "revoke-sessions", "tina@example.com"});
  ASSERT_EQ(revoked.exit_code, 0) << Describe(revoked);
  EXPECT_EQ(revoked.out, "Revoked 1 session(s) of tina@example.com.\n");
  EXPECT_EQ(MeStatus(tina_session), 401);

  // groups: create, add, show, remove, list, delete.
  const RunResult created = cli({"admin", "groups", "create", "Sales Team"});
  ASSERT_EQ(created.exit_code, 0) << Describe(created);
  EXPECT_EQ(created.out, "Created group Sales Team.\n");
  ExpectCliError(cli({"admin", "groups", "create", "sales team"}), "group_exists");
  const RunResult added = cli({"admin", "groups", "add", "Sales Team", "tina@example.com"});
  ASSERT_EQ(added.exit_code, 0) << Describe(added);
  EXPECT_EQ(added.out, "Added tina@example.com to Sales Team (1 members).\n");
  ASSERT_EQ(cli({"admin", "groups", "add", "sales team", "ursula@example.com"}).exit_code, 0);
  ExpectCliError(cli({"admin", "groups", "add", "Sales Team", "ghost@example.com"}), "not_found");
  const RunResult group = cli({"admin", "groups", "show", "Sales Team"});
  ASSERT_EQ(group.exit_code, 0) << Describe(group);
  EXPECT_TRUE(group.out.starts_with("group: Sales Team\nmembers: 2\n")) << group.out;
  EXPECT_NE(group.out.find("tina@example.com"), std::string::npos) << group.out;
  EXPECT_NE(group.out.find("ursula@example.com"), std::string::npos) << group.out;
  const json::value group_json = CliJson(cli({"admin", "groups", "show", "Sales Team", "--json"}));
  EXPECT_EQ(JArr(group_json, "/members").size(), 2u);
  const RunResult removed = cli({"admin", "groups", "remove", "Sales Team", "ursula@example.com"});
  ASSERT_EQ(removed.exit_code, 0) << Describe(removed);
  EXPECT_EQ(removed.out, "Removed ursula@example.com from Sales Team (1 members).\n");
  const json::array listed = JArr(CliJson(cli({"admin", "groups", "list", "--json"})), "/groups");
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(JStr(listed[0], "/name"), "Sales Team");
  EXPECT_EQ(JInt(listed[0], "/members"), 1);
  const RunResult group_table = cli({"admin", "groups", "list"});
  ASSERT_EQ(group_table.exit_code, 0);
  EXPECT_TRUE(group_table.out.starts_with("NAME")) << group_table.out;
  const json::value user_json =
      CliJson(cli({"admin", "users", "show", "tina@example.com", "--json"}));
  EXPECT_EQ(Strings(JArr(user_json, "/user/groups")), std::vector<std::string>{"Sales Team"});
  const RunResult deleted = cli({"admin", "groups", "delete", "Sales Team"});
  ASSERT_EQ(deleted.exit_code, 0) << Describe(deleted);
  EXPECT_EQ(deleted.out, "Deleted group Sales Team.\n");
  ExpectCliError(cli({"admin", "groups", "show", "Sales Team"}), "not_found");

  // audit, filtered by action and by actor (an email is looked up to its id).
  const json::array deactivations =
      JArr(CliJson(cli({"admin", "audit", "--action", "user.deactivate", "--json"})), "/events");
  ASSERT_EQ(deactivations.size(), 1u);
  EXPECT_EQ(JStr(deactivations[0], "/actor"), owner_.user_id);
  EXPECT_EQ(JStr(deactivations[0], "/target"), tina_.user_id);
  const json::array by_owner = JArr(
      CliJson(cli({"admin", "audit", "--actor", "owner@example.com", "--limit", "3", "--json"})),
      "/events");
  ASSERT_EQ(by_owner.size(), 3u);
  for (const auto& e : by_owner) EXPECT_EQ(JStr(e, "/actor"), owner_.user_id);
  EXPECT_EQ(JStr(by_owner[0], "/action"), "group.delete") << "newest first";
  const RunResult audit_table = cli({"admin", "audit", "--action", "group.create"});
  ASSERT_EQ(audit_table.exit_code, 0) << Describe(audit_table);
  EXPECT_TRUE(audit_table.out.starts_with("ID")) << audit_table.out;
  EXPECT_NE(audit_table.out.find("Sales Team"), std::string::npos) << audit_table.out;
  const std::string future = "2999-01-01T00:00:00Z";
  EXPECT_TRUE(
      JArr(CliJson(cli({"admin", "audit", "--from", future, "--json"})), "/events").empty());
  ExpectCliError(cli({"admin", "audit", "--from", "yesterday"}), "invalid_request");

  // logins, filtered by user (email) and by address.
  const json::array tina_logins =
      JArr(CliJson(cli({"admin", "logins", "--user", "tina@example.com", "--json"})), "/logins");
  ASSERT_GE(tina_logins.size(), 2u);
  for (const auto& l : tina_logins) EXPECT_EQ(JStr(l, "/user_id"), tina_.user_id);
  EXPECT_EQ(JStr(tina_logins.back(), "/reason"), "registration");
  bool refused = false;
  for (const auto& l : tina_logins) refused |= JStr(l, "/reason") == "account_disabled";
  EXPECT_TRUE(refused) << "the refused sign-in while deactivated";
  const RunResult logins_table = cli({"admin", "logins", "--ip", "127.0.0.1", "--limit", "2"});
  ASSERT_EQ(logins_table.exit_code, 0) << Describe(logins_table);
  EXPECT_TRUE(logins_table.out.starts_with("TIME")) << logins_table.out;
  EXPECT_EQ(std::count(logins_table.out.begin(), logins_table.out.end(), '\n'), 3)
      << logins_table.out;

  // A user is refused (403) and the command fails; `admin` alone is a usage error.
  CliMachine user_machine;
  ASSERT_NO_FATAL_FAILURE(login(user_machine, "ursula@example.com"));
  ExpectCliError(user_machine.Cli({"admin", "users", "list"}), "forbidden");
  ExpectCliError(user_machine.Cli({"admin", "audit"}), "forbidden");
  EXPECT_EQ(owner_machine.Cli({"admin"}).exit_code, 2);
  EXPECT_EQ(owner_machine.Cli({"admin", "users"}).exit_code, 2);
  EXPECT_EQ(owner_machine.Cli({"admin", "groups", "add", "x"}).exit_code, 2);
}

TEST_F(AdminTest, CliShowsAndSetsPortalSettingsAndResetsAUsersTwoFactor) {
  CliMachine owner_machine;
  {
    const RunResult r = owner_machine.Cli(
        {"login", "--server", portal_.url(), "--email", "owner@example.com", "--password-stdin"},
        std::string(kPassword) + "\n");
    ASSERT_EQ(r.exit_code, 0) << Describe(r);
  }
  const auto cli = [&](std::vector<std::string> args) { return owner_machine.Cli(args); };
  const auto stored = [&](const std::string& key) {
    const HttpReply r = Api(owner_, "GET", "/api/v1/admin/settings");
    EXPECT_EQ(r.status, 200) << r.body;
    const json::value all = ParseJson(r.body);
    const json::value* v = all.is_object() ? all.as_object().if_contains(key) : nullptr;
    return v ? *v : json::value();
  };

  // show: a table of every setting, and for scripts the server's own JSON.
  const RunResult table = cli({"admin", "settings", "show"});
  ASSERT_EQ(table.exit_code, 0) << Describe(table);
  EXPECT_TRUE(table.out.starts_with("KEY")) << table.out;
  EXPECT_NE(table.out.find("password.min_length"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("room.enabled"), std::string::npos) << table.out;
  EXPECT_EQ(CliJson(cli({"admin", "settings", "show", "--json"})),
            ParseJson(Api(owner_, "GET", "/api/v1/admin/settings").body));

  // set: a number, booleans in words, lists comma-separated or as JSON, "" for an empty list;
  // each answered with the value as stored.
  const RunResult length = cli({"admin", "settings", "set", "password.min_length", "14"});
  ASSERT_EQ(length.exit_code, 0) << Describe(length);
  EXPECT_EQ(length.out, "Set password.min_length = 14\n");
  EXPECT_EQ(stored("password.min_length"), json::value(14));
  const RunResult off = cli({"admin", "settings", "set", "room.enabled", "off"});
  ASSERT_EQ(off.exit_code, 0) << Describe(off);
  EXPECT_EQ(off.out, "Set room.enabled = false\n");
  EXPECT_EQ(stored("room.enabled"), json::value(false));
  ASSERT_EQ(cli({"admin", "settings", "set", "room.enabled", "true"}).exit_code, 0);
  EXPECT_EQ(stored("room.enabled"), json::value(true));
  const RunResult domains =
      cli({"admin", "settings", "set", "registration.trusted_domains", "Example.COM, example.org"});
  ASSERT_EQ(domains.exit_code, 0) << Describe(domains);
  EXPECT_EQ(domains.out, "Set registration.trusted_domains = example.com,example.org\n");
  EXPECT_EQ(stored("registration.trusted_domains"), (json::array{"example.com", "example.org"}));
  ASSERT_EQ(cli({"admin", "settings", "set", "password.required_classes", R"(["digit","upper"])"})
                .exit_code,
            0);
  EXPECT_EQ(stored("password.required_classes"), (json::array{"digit", "upper"}));
  ASSERT_EQ(cli({"admin", "settings", "set", "registration.trusted_domains", ""}).exit_code, 0);
  EXPECT_EQ(stored("registration.trusted_domains"), json::array());
  const json::value set_json =
      CliJson(cli({"admin", "settings", "set", "password.min_length", "12", "--json"}));
  EXPECT_EQ(set_json, ParseJson(Api(owner_, "GET", "/api/v1/admin/settings").body));

  // A value that cannot have the setting's type is a usage error, and nothing is sent; the
  // server judges everything else (range, unknown keys) and its refusal is the command's.
  const std::size_t changes = AuditOf("settings.change").size();
  const RunResult maybe = cli({"admin", "settings", "set", "room.enabled", "maybe"});
  EXPECT_EQ(maybe.exit_code, 2) << Describe(maybe);
  EXPECT_NE(maybe.err.find("room.enabled takes true or false"), std::string::npos)
      << Describe(maybe);
  EXPECT_EQ(cli({"admin", "settings", "set", "password.min_length", "twelve"}).exit_code, 2);
  EXPECT_EQ(cli({"admin", "settings", "set", "access.ip_allowlist", "10.0.0.0/8,,"}).exit_code, 2);
  EXPECT_EQ(AuditOf("settings.change").size(), changes) << "nothing was sent";
  ExpectCliError(cli({"admin", "settings", "set", "password.min_length", "3"}), "invalid_request");
  ExpectCliError(cli({"admin", "settings", "set", "room.colour", "blue"}), "invalid_request");
  EXPECT_EQ(stored("password.min_length"), json::value(12));
  EXPECT_EQ(cli({"admin", "settings"}).exit_code, 2);
  EXPECT_EQ(cli({"admin", "settings", "set", "room.enabled"}).exit_code, 2);

  // reset-2fa: for a user who lost the authenticator and the recovery codes.
  ASSERT_NO_FATAL_FAILURE(EnrolTwoFactor(tina_));
  const RunResult before = cli({"admin", "users", "show", "tina@example.com"});
  EXPECT_NE(before.out.find("two-factor: on\n"), std::string::npos) << before.out;
  const RunResult reset = cli({"admin", "users", "reset-2fa", "tina@example.com"});
  ASSERT_EQ(reset.exit_code, 0) << Describe(reset);
  EXPECT_EQ(reset.out,
            "Two-factor sign-in of tina@example.com removed; they enrol again with strongroom 2fa "
            "enable.\n");
  const RunResult after = cli({"admin", "users", "show", "tina@example.com"});
  EXPECT_NE(after.out.find("two-factor: off\n"), std::string::npos) << after.out;
  ExpectCliError(cli({"admin", "users", "reset-2fa", "tina@example.com"}), "2fa_not_enabled");
  ExpectCliError(cli({"admin", "users", "reset-2fa", "owner@example.com"}), "forbidden");
  // Tina signs in with her password alone again.
  EXPECT_EQ(Login(tina_.email).status, 200);

  // Users may do none of it.
  CliMachine user_machine;
  {
    const RunResult r = user_machine.Cli(
        {"login", "--server", portal_.url(), "--email", "ursula@example.com", "--password-stdin"},
        std::string(kPassword) + "\n");
    ASSERT_EQ(r.exit_code, 0) << Describe(r);
  }
  ExpectCliError(user_machine.Cli({"admin", "settings", "show"}), "forbidden");
  ExpectCliError(user_machine.Cli({"admin", "users", "reset-2fa", "tina@example.com"}),
                 "forbidden");
}

}  // namespace
}  // namespace strongroom::testing
