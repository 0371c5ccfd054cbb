// SqliteMetadataStore, InstrumentedMetadataStore and SessionCachingMetadataStore: the
// MetadataStore conformance suite for each, then what only SQLite can show (triggers below the
// interface, reopening, versions, file modes, several stores on one file), the statement cache
// of SqliteDatabase, the instrumenting decorator's reporting and the caching one's rules.
#include "metadata_store_conformance.h"
#include "server/storage/instrumented_metadata_store.h"
#include "server/storage/session_caching_metadata_store.h"
#include "server/storage/sqlite_database.h"
#include "server/storage/sqlite_metadata_store.h"

#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>
#include <utility>

namespace strongroom::storage::metadata_testing {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "strongroom-meta-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  [[nodiscard]] const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

template <std::size_t kConnections>
struct SqliteHarness {
  TempDir temp;
  result<std::unique_ptr<MetadataStore>> Open() {
    auto store = SqliteMetadataStore::Open((temp.path() / "metadata.db").string(), kConnections);
    if (!store) return store.error();
    return std::unique_ptr<MetadataStore>(std::move(*store));
  }
};

// What an InstrumentedMetadataStore reported, collected thread-safely.
struct Observations {
  struct Call {
    std::string operation;
    double seconds;
    bool ok;
  };
  std::mutex mutex;
  std::vector<Call> calls;  // Guarded by mutex.

  InstrumentedMetadataStore::Observer Observer() {
    return [this](std::string_view operation, double seconds, bool ok) {
      std::lock_guard<std::mutex> lock(mutex);
      calls.push_back({std::string(operation), seconds, ok});
    };
  }
};

bool IsOperationName(std::string_view name) {
  const auto names = MetadataStoreOperationNames();
  return std::find(names.begin(), names.end(), name) != names.end();
}

// The suite through the decorator: results must be exactly what SQLite's would be. At the
// end of each test, every report must name a real operation with a sane duration.
struct InstrumentedHarness {
  TempDir temp;
  Observations observations;
  result<std::unique_ptr<MetadataStore>> Open() {
    auto store = SqliteMetadataStore::Open((temp.path() / "metadata.db").string());
    if (!store) return store.error();
    return std::unique_ptr<MetadataStore>(std::make_unique<InstrumentedMetadataStore>(
        std::unique_ptr<MetadataStore>(std::move(*store)), observations.Observer()));
  }
  ~InstrumentedHarness() {
    EXPECT_FALSE(observations.calls.empty());
    for (const auto& call : observations.calls) {
      EXPECT_TRUE(IsOperationName(call.operation)) << call.operation;
      EXPECT_GE(call.seconds, 0.0) << call.operation;
      EXPECT_LT(call.seconds, 60.0) << call.operation;
    }
  }
};

// The suite through the session cache, with a TTL far longer than any test: every read after
// a write must be right because the write invalidated, never because an entry aged out.
struct SessionCachingHarness {
  TempDir temp;
  result<std::unique_ptr<MetadataStore>> Open() {
    auto store = SqliteMetadataStore::Open((temp.path() / "metadata.db").string());
    if (!store) return store.error();
    SessionCachingMetadataStore::Options options;
    options.ttl = std::chrono::hours(1);
    return std::unique_ptr<MetadataStore>(std::make_unique<SessionCachingMetadataStore>(
        std::unique_ptr<MetadataStore>(std::move(*store)), std::move(options)));
  }
};

}  // namespace

INSTANTIATE_TYPED_TEST_SUITE_P(Sqlite, MetadataStoreConformance,
                               ::testing::Types<SqliteHarness<4>>);
// One connection: every call queues for it, so the pool's waiting is exercised.
INSTANTIATE_TYPED_TEST_SUITE_P(SqliteOneConnection, MetadataStoreConformance,
                               ::testing::Types<SqliteHarness<1>>);
INSTANTIATE_TYPED_TEST_SUITE_P(InstrumentedSqlite, MetadataStoreConformance,
                               ::testing::Types<InstrumentedHarness>);
INSTANTIATE_TYPED_TEST_SUITE_P(SessionCachingSqlite, MetadataStoreConformance,
                               ::testing::Types<SessionCachingHarness>);

namespace {

// --- SQLite below the interface ----------------------------------------------------------------

class SqliteMetadataStoreTest : public ::testing::Test {
 protected:
  std::unique_ptr<SqliteMetadataStore> OpenStore(std::size_t connections = 4) {
    auto store = SqliteMetadataStore::Open(path_, connections);
    EXPECT_TRUE(store) << store.error().message();
    return store ? std::move(*store) : nullptr;
  }
  std::unique_ptr<SqliteDatabase> OpenRaw() {
    auto db = SqliteDatabase::Open(path_);
    EXPECT_TRUE(db) << db.error().message();
    return db ? std::move(*db) : nullptr;
  }
  static unsigned Mode(const std::string& p) {
    struct stat st {};
    EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
    return st.st_mode & 07777;
  }

  TempDir temp_;
  const std::string path_ = (temp_.path() / "metadata.db").string();
};

TEST_F(SqliteMetadataStoreTest, AuditAndLoginHistoryRefuseUpdateAndDeleteInTheDatabase) {
  auto store = OpenStore();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->AppendAudit(MakeAudit(kT0, "system", "portal.create")));
  ASSERT_TRUE(store->RecordLoginAttempt(MakeAttempt(kT0, "u", "192.0.2.1", "failure")));
  const auto audit_before = *store->QueryAudit({});
  const auto logins_before = *store->QueryLoginAttempts({});
  ASSERT_EQ(audit_before.size(), 1u);
  ASSERT_EQ(logins_before.size(), 1u);

  // Another connection to the same file, as any code (or person with sqlite3) would have.
  auto raw = OpenRaw();
  ASSERT_TRUE(raw);
  for (const char* sql : {
           "UPDATE audit_events SET actor = 'someone-else'",
           "UPDATE audit_events SET result = 'failure' WHERE id = 1",
           "DELETE FROM audit_events",  // No WHERE: SQLite's truncate shortcut must not skip
           "DELETE FROM audit_events WHERE id = 1",  // the triggers either.
           "UPDATE login_attempts SET result = 'success'",
           "DELETE FROM login_attempts",
           "DELETE FROM login_attempts WHERE id = 1",
           // Regression: REPLACE deletes the conflicting row without firing DELETE triggers.
           "REPLACE INTO audit_events (id, time, actor, action, target, ip, result, detail)"
           " VALUES (1, 0, 'x', 'x', '', '', 'success', '')",
           "INSERT OR REPLACE INTO login_attempts (id, time, email, ip, user_agent, result,"
           " reason) VALUES (1, 0, 'x', 'x', 'x', 'success', 'ok')",
           "INSERT INTO audit_events (id, time, actor, action, target, ip, result, detail)"
           " VALUES (1, 0, 'x', 'x', '', '', 'success', '')"
           " ON CONFLICT (id) DO UPDATE SET actor = excluded.actor",
       }) {
    EXPECT_FALSE(raw->Execute(sql)) << sql;
  }
  // Appending is still allowed: append-only, not read-only.
  EXPECT_TRUE(
      raw->Execute("INSERT INTO audit_events (time, actor, action, target, ip, result, detail)"
                   " VALUES (1, 'system', 'raw.insert', '', '', 'success', '')"));
  EXPECT_EQ(*store->QueryLoginAttempts({}), logins_before);
  const auto audit_after = *store->QueryAudit({});
  ASSERT_EQ(audit_after.size(), 2u);
  EXPECT_EQ(audit_after[1], audit_before[0]);
}

TEST_F(SqliteMetadataStoreTest, DataSurvivesCloseAndReopen) {
  const UserRecord alice = MakeUser("alice-id", "alice@example.com");
  const SessionRecord session = MakeSession("s1", "alice-id");
  {
    auto store = OpenStore();
    ASSERT_TRUE(store);
    ASSERT_TRUE(store->PutSetting("portal.name", "Acme"));
    ASSERT_TRUE(store->CreateInvitation(MakeInvitation("inv", alice.email)));
    ASSERT_TRUE(store->RegisterUser(MakeRegistration(alice, "inv")));
    ASSERT_TRUE(store->CreateSession(session));
    ASSERT_TRUE(store->RecordLoginAttempt(MakeAttempt(kT0, "alice-id", "192.0.2.1", "success")));
  }
  auto store = OpenStore(2);
  ASSERT_TRUE(store);
  EXPECT_EQ(*store->GetSetting("portal.name"), std::optional<std::string>("Acme"));
  EXPECT_EQ(*store->FindUserById("alice-id"), alice);
  EXPECT_EQ(*store->FindSession(session.token_digest, kT0), session);
  EXPECT_EQ(store->FindInvitation("inv")->used_by, std::optional<std::string>("alice-id"));
  EXPECT_EQ(store->QueryAudit({})->size(), 1u);
  EXPECT_EQ(store->QueryLoginAttempts({})->size(), 1u);
  // Ids continue after the reopen rather than restarting.
  const auto first_id = store->QueryAudit({})->front().id;
  ASSERT_TRUE(store->AppendAudit(MakeAudit(kT0, "system", "a.b")));
  EXPECT_GT(store->QueryAudit({})->front().id, first_id);
}

TEST_F(SqliteMetadataStoreTest, ADatabaseFromANewerBuildIsRefused) {
  ASSERT_TRUE(OpenStore());
  {
    auto raw = OpenRaw();
    ASSERT_TRUE(raw);
    ASSERT_TRUE(
        raw->Execute("INSERT INTO schema_migrations (version, name, applied_at)"
                     " VALUES ((SELECT max(version) + 1 FROM schema_migrations),"
                     " 'from the future', 0)"));
  }
  auto store = SqliteMetadataStore::Open(path_);
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error(), errc::unsupported_version);
}

TEST_F(SqliteMetadataStoreTest, FilesAreMode0600) {
  auto store = OpenStore();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->AppendAudit(MakeAudit(kT0, "system", "a.b")));
  EXPECT_EQ(Mode(path_), 0600u);
  // SQLite gives the write-ahead log and shared-memory index the database file's mode.
  EXPECT_EQ(Mode(path_ + "-wal"), 0600u);
  EXPECT_EQ(Mode(path_ + "-shm"), 0600u);
}

// The write-ahead log is checkpointed by the store's own thread, not inside the commit that
// filled it; and it stays bounded (SQLite's automatic checkpoint is off on the pool's
// connections, so without the store's checkpoints it would only grow).
TEST_F(SqliteMetadataStoreTest, CheckpointsRunOnTheStoresThreadAndKeepTheLogBounded) {
  auto store = OpenStore();
  ASSERT_TRUE(store);
  // About 50 pages a commit. Each value differs from the one it replaces in every byte: SQLite
  // does not rewrite a page whose content is unchanged.
  auto value = [](int i) { return std::string(200 * 1024, static_cast<char>('a' + i % 26)); };
  const std::string wal = path_ + "-wal";
  // At most kInlineCheckpointFrames frames, plus one commit's and the header, at <= 4 KiB a page.
  const std::uintmax_t bound =
      32 + static_cast<std::uintmax_t>(SqliteMetadataStore::kInlineCheckpointFrames + 100) *
               (4096 + 24);
  std::uintmax_t largest = 0;
  // 12,000 frames in all: three times what the bound holds.
  for (int i = 0; i < 240; ++i) {
    ASSERT_TRUE(store->PutSetting("bulk." + std::to_string(i % 8), value(i)));
    largest = std::max(largest, std::filesystem::file_size(wal));
  }
  EXPECT_LE(largest, bound);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (store->checkpoints() == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_GE(store->checkpoints(), 1u);
  // Everything written is there, through a fresh store.
  store.reset();
  store = OpenStore();
  ASSERT_TRUE(store);
  EXPECT_EQ(store->GetSetting("bulk.7")->value_or(""), value(239));
}

TEST_F(SqliteMetadataStoreTest, OpenRefusesZeroOrTooManyConnections) {
  EXPECT_EQ(SqliteMetadataStore::Open(path_, 0).error(), errc::invalid_argument);
  EXPECT_EQ(SqliteMetadataStore::Open(path_, SqliteMetadataStore::kMaxConnections + 1).error(),
            errc::invalid_argument);
  EXPECT_TRUE(SqliteMetadataStore::Open(path_, SqliteMetadataStore::kMaxConnections));
}

TEST_F(SqliteMetadataStoreTest, OpenFailsCleanlyOnAnUnusablePath) {
  auto store = SqliteMetadataStore::Open((temp_.path() / "missing-dir" / "x.db").string());
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error(), errc::io_error);
}

// Regression: Migrate read the schema version outside its transaction, so two processes
// starting on a new data directory could both run migration 1, and the second failed.
TEST_F(SqliteMetadataStoreTest, StoresOpeningANewFileTogetherAllSucceed) {
  for (int round = 0; round < 5; ++round) {
    const std::string path = (temp_.path() / ("race-" + std::to_string(round) + ".db")).string();
    constexpr int kOpeners = 4;
    Gate gate(kOpeners);
    std::vector<int> ok(kOpeners, 0);
    std::vector<std::thread> threads;
    for (int t = 0; t < kOpeners; ++t) {
      threads.emplace_back([&, t] {
        gate.Arrive();
        auto store = SqliteMetadataStore::Open(path, 1);
        ok[static_cast<std::size_t>(t)] = store && (*store)->Ping() ? 1 : 0;
      });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(std::count(ok.begin(), ok.end(), 1), kOpeners) << round;
  }
}

// The reason PutSettingIfAbsent exists: two processes on one data directory.
TEST_F(SqliteMetadataStoreTest, PutSettingIfAbsentHasOneWinnerAcrossStoresOnOneFile) {
  auto a = OpenStore();
  auto b = OpenStore();
  ASSERT_TRUE(a && b);
  for (int round = 0; round < 10; ++round) {
    const std::string key = "portal.id." + std::to_string(round);
    Gate gate(2);
    result<bool> won_a = false, won_b = false;
    std::thread ta([&] {
      gate.Arrive();
      won_a = a->PutSettingIfAbsent(key, "a");
    });
    std::thread tb([&] {
      gate.Arrive();
      won_b = b->PutSettingIfAbsent(key, "b");
    });
    ta.join();
    tb.join();
    ASSERT_TRUE(won_a && won_b);
    EXPECT_NE(*won_a, *won_b) << round;
    EXPECT_EQ(*a->GetSetting(key), std::optional<std::string>(*won_a ? "a" : "b"));
    EXPECT_EQ(*b->GetSetting(key), *a->GetSetting(key));
  }
}

TEST_F(SqliteMetadataStoreTest, EveryConnectionSeesTheOthersWrites) {
  // With a cached SELECT left unreset, a connection would keep reading its old snapshot.
  auto store = OpenStore(3);
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->CreateInvitation(MakeInvitation("inv", "alice@example.com")));
  ASSERT_TRUE(store->RegisterUser(MakeRegistration(MakeUser("a", "alice@example.com"), "inv")));
  for (int i = 0; i < 20; ++i) {
    const SessionRecord s = MakeSession("s" + std::to_string(i), "a");
    // Warm the connections' cached FindSession with a miss, then expect a hit, from several
    // threads at once (so, usually, on different connections).
    std::vector<std::thread> readers;
    std::atomic<int> misses{0};
    for (int r = 0; r < 3; ++r) {
      readers.emplace_back([&] {
        if (store->FindSession(s.token_digest, kT0).error() == errc::not_found) ++misses;
      });
    }
    for (auto& t : readers) t.join();
    EXPECT_EQ(misses.load(), 3);
    ASSERT_TRUE(store->CreateSession(s));
    readers.clear();
    std::atomic<int> hits{0};
    for (int r = 0; r < 3; ++r) {
      readers.emplace_back([&] {
        if (store->FindSession(s.token_digest, kT0)) ++hits;
      });
    }
    for (auto& t : readers) t.join();
    EXPECT_EQ(hits.load(), 3) << i;
  }
}

// --- SqliteDatabase: the statement cache -------------------------------------------------------

class SqliteStatementCacheTest : public SqliteMetadataStoreTest {
 protected:
  void SetUp() override {
    db_ = OpenRaw();
    ASSERT_TRUE(db_);
    ASSERT_TRUE(db_->Execute("CREATE TABLE t (x INTEGER NOT NULL) STRICT"));
    ASSERT_TRUE(db_->Execute("INSERT INTO t VALUES (1), (2), (3)"));
  }
  std::unique_ptr<SqliteDatabase> db_;
};

TEST_F(SqliteStatementCacheTest, ALoanEndsWithTheStatementResetAndUnbound) {
  constexpr std::string_view kSql = "SELECT count(*) FROM t WHERE x >= ?1";
  {
    auto s = db_->Cached(kSql);
    ASSERT_TRUE(s);
    (*s)->Bind(1, std::int64_t{2});
    ASSERT_TRUE(*(*s)->Step());
    EXPECT_EQ((*s)->ColumnInt(0), 2);
  }
  {
    // Same statement, bindings cleared: `x >= NULL` matches nothing.
    auto s = db_->Cached(std::string(kSql));  // Keyed by content, not address.
    ASSERT_TRUE(s);
    ASSERT_TRUE(*(*s)->Step());
    EXPECT_EQ((*s)->ColumnInt(0), 0);
  }
}

TEST_F(SqliteStatementCacheTest, AHalfReadSelectDoesNotPinTheSnapshot) {
  constexpr std::string_view kSql = "SELECT x FROM t ORDER BY x";
  {
    auto s = db_->Cached(kSql);
    ASSERT_TRUE(s);
    ASSERT_TRUE(*(*s)->Step());  // One row of three, then the loan ends.
  }
  EXPECT_FALSE(db_->InTransaction());
  auto other = OpenRaw();
  ASSERT_TRUE(other->Execute("INSERT INTO t VALUES (4)"));
  auto count = db_->Cached("SELECT count(*) FROM t");
  ASSERT_TRUE(count);
  ASSERT_TRUE(*(*count)->Step());
  EXPECT_EQ((*count)->ColumnInt(0), 4);
}

TEST_F(SqliteStatementCacheTest, TheSameTextCannotBeLentTwiceAtOnce) {
  auto first = db_->Cached("SELECT 1");
  ASSERT_TRUE(first);
  auto second = db_->Cached("SELECT 1");
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error(), errc::internal);
}

TEST_F(SqliteStatementCacheTest, BeyondTheCapStatementsStillWork) {
  for (std::size_t i = 0; i < SqliteDatabase::kMaxCachedStatements + 10; ++i) {
    auto s = db_->Cached("SELECT " + std::to_string(i));
    ASSERT_TRUE(s) << i;
    ASSERT_TRUE(*(*s)->Step());
    EXPECT_EQ((*s)->ColumnInt(0), static_cast<std::int64_t>(i));
  }
  // An uncached loan can be moved like a cached one.
  auto s = db_->Cached("SELECT 'moved'");
  ASSERT_TRUE(s);
  CachedStatement moved(std::move(*s));
  ASSERT_TRUE(*moved->Step());
  EXPECT_EQ(moved->ColumnText(0), "moved");
}

TEST_F(SqliteStatementCacheTest, ChangesCountsRowsOfTheLastWrite) {
  ASSERT_TRUE(db_->Execute("UPDATE t SET x = x + 10 WHERE x > 1"));
  EXPECT_EQ(db_->Changes(), 2);
  ASSERT_TRUE(db_->Execute("DELETE FROM t WHERE x = 999"));
  EXPECT_EQ(db_->Changes(), 0);
}

// --- Role names --------------------------------------------------------------------------------

TEST(RoleNameTest, RoundTripsAndRejectsEverythingElse) {
  for (Role role : {Role::owner, Role::admin, Role::user}) {
    EXPECT_EQ(ParseRole(RoleName(role)), role);
  }
  EXPECT_EQ(RoleName(Role::owner), "owner");
  EXPECT_EQ(RoleName(Role::admin), "admin");
  EXPECT_EQ(RoleName(Role::user), "user");
  EXPECT_EQ(RoleName(static_cast<Role>(9)), "");
  for (const char* bad : {"", "Owner", "ADMIN", "user ", "root", "0"}) {
    EXPECT_EQ(ParseRole(bad), std::nullopt) << bad;
  }
}

// --- InstrumentedMetadataStore -----------------------------------------------------------------

// Records which method was called and answers every call with `error` (or success when
// `error` is empty), so the decorator's forwarding and reporting can be checked per method.
class ScriptedStore final : public MetadataStore {
 public:
  explicit ScriptedStore(std::vector<std::string>& calls) : calls_(calls) {}
  boost::system::error_code error;

  result<std::optional<std::string>> GetSetting(std::string_view) override {
    return Answer("GetSetting", std::optional<std::string>("v"));
  }
  result<void> PutSetting(std::string_view, std::string_view) override {
    return Void("PutSetting");
  }
  result<bool> PutSettingIfAbsent(std::string_view, std::string_view) override {
    return Answer("PutSettingIfAbsent", true);
  }
  result<void> CreateInvitation(const InvitationRecord&) override {
    return Void("CreateInvitation");
  }
  result<InvitationRecord> FindInvitation(std::string_view) override {
    return Answer("FindInvitation", InvitationRecord{});
  }
  result<void> RegisterUser(const Registration&) override { return Void("RegisterUser"); }
  result<UserRecord> FindUserById(std::string_view) override {
    return Answer("FindUserById", UserRecord{});
  }
  result<UserRecord> FindUserByEmail(std::string_view) override {
    return Answer("FindUserByEmail", UserRecord{});
  }
  result<std::int64_t> CountUsers() override { return Answer("CountUsers", std::int64_t{7}); }
  result<void> ChangeCredentials(const CredentialChange&) override {
    return Void("ChangeCredentials");
  }
  result<void> CreateSession(const SessionRecord&) override { return Void("CreateSession"); }
  result<SessionRecord> FindSession(std::string_view, TimeMs) override {
    return Answer("FindSession", SessionRecord{});
  }
  result<SessionWithUser> FindSessionWithUser(std::string_view, TimeMs) override {
    return Answer("FindSessionWithUser", SessionWithUser{});
  }
  result<std::vector<SessionRecord>> ListSessions(std::string_view, TimeMs) override {
    return Answer("ListSessions", std::vector<SessionRecord>{});
  }
  result<void> TouchSession(std::string_view, TimeMs) override { return Void("TouchSession"); }
  result<bool> RevokeSession(std::string_view, std::string_view) override {
    return Answer("RevokeSession", true);
  }
  result<std::int64_t> RevokeOtherSessions(std::string_view, std::string_view) override {
    return Answer("RevokeOtherSessions", std::int64_t{2});
  }
  result<std::int64_t> DeleteExpiredSessions(TimeMs) override {
    return Answer("DeleteExpiredSessions", std::int64_t{3});
  }
  result<void> RecordLoginAttempt(const LoginAttempt&) override {
    return Void("RecordLoginAttempt");
  }
  result<FailureCount> AccountFailures(std::string_view, TimeMs) override {
    return Answer("AccountFailures", FailureCount{4, 5});
  }
  result<FailureCount> IpFailures(std::string_view, TimeMs) override {
    return Answer("IpFailures", FailureCount{6, 7});
  }
  result<std::vector<LoginAttempt>> QueryLoginAttempts(const LoginQuery&) override {
    return Answer("QueryLoginAttempts", std::vector<LoginAttempt>(2));
  }
  result<void> AppendAudit(const AuditEvent&) override { return Void("AppendAudit"); }
  result<std::vector<AuditEvent>> QueryAudit(const AuditQuery&) override {
    return Answer("QueryAudit", std::vector<AuditEvent>(3));
  }
  result<void> BeginTotp(const TotpRecord&, const AuditEvent&) override {
    return Void("BeginTotp");
  }
  result<TotpRecord> FindTotp(std::string_view) override {
    return Answer("FindTotp", TotpRecord{});
  }
  result<void> ConfirmTotp(const TotpConfirmation&) override { return Void("ConfirmTotp"); }
  result<bool> AcceptTotpStep(std::string_view, std::int64_t) override {
    return Answer("AcceptTotpStep", true);
  }
  result<bool> UseTotpRecoveryCode(std::string_view, std::string_view, TimeMs) override {
    return Answer("UseTotpRecoveryCode", true);
  }
  result<void> ReplaceTotpRecoveryCodes(std::string_view, const std::vector<std::string>&,
                                        const AuditEvent&) override {
    return Void("ReplaceTotpRecoveryCodes");
  }
  result<void> DeleteTotp(std::string_view, const AuditEvent&) override {
    return Void("DeleteTotp");
  }
  result<std::vector<UserSummary>> ListUsers(const PageQuery&) override {
    return Answer("ListUsers", std::vector<UserSummary>(2));
  }
  result<std::vector<std::string>> ListUserGroups(std::string_view) override {
    return Answer("ListUserGroups", std::vector<std::string>{"g"});
  }
  result<std::int64_t> ChangeUserAccess(const AccessChange&) override {
    return Answer("ChangeUserAccess", std::int64_t{4});
  }
  result<void> CreateGroup(const GroupRecord&, const AuditEvent&) override {
    return Void("CreateGroup");
  }
  result<GroupRecord> FindGroup(std::string_view) override {
    return Answer("FindGroup", GroupRecord{});
  }
  result<std::vector<GroupRecord>> ListGroups(const PageQuery&) override {
    return Answer("ListGroups", std::vector<GroupRecord>(1));
  }
  result<void> DeleteGroup(std::string_view, const AuditEvent&) override {
    return Void("DeleteGroup");
  }
  result<std::vector<UserSummary>> ListGroupMembers(std::string_view, const PageQuery&) override {
    return Answer("ListGroupMembers", std::vector<UserSummary>(1));
  }
  result<void> AddGroupMember(std::string_view, std::string_view, const AuditEvent&) override {
    return Void("AddGroupMember");
  }
  result<void> RemoveGroupMember(std::string_view, std::string_view, const AuditEvent&) override {
    return Void("RemoveGroupMember");
  }
  result<void> CreateRoomFolder(const RoomFolder&, const AuditEvent&) override { return Void("CreateRoomFolder"); }
  result<RoomFolder> FindRoomFolder(std::string_view) override {
    return Answer("FindRoomFolder", RoomFolder{});
  }
  result<RoomFolder> FindRoomRoot(std::string_view) override {
    return Answer("FindRoomRoot", RoomFolder{});
  }
  result<RoomListing> ListRoomFolder(std::string_view) override {
    return Answer("ListRoomFolder", RoomListing{});
  }
  result<void> UpdateRoomFolder(const RoomFolder&, const AuditEvent&) override { return Void("UpdateRoomFolder"); }
  result<void> DeleteRoomFolder(std::string_view, const AuditEvent&) override { return Void("DeleteRoomFolder"); }
  result<void> CreateRoomFile(const RoomFile&, const AuditEvent&) override { return Void("CreateRoomFile"); }
  result<RoomFile> FindRoomFile(std::string_view) override {
    return Answer("FindRoomFile", RoomFile{});
  }
  result<std::string> UpdateRoomFile(const RoomFile&, const AuditEvent&) override {
    return Answer("UpdateRoomFile", std::string("b"));
  }
  result<std::string> DeleteRoomFile(std::string_view, const AuditEvent&) override {
    return Answer("DeleteRoomFile", std::string("b"));
  }
  result<std::vector<RoomFile>> ListRoomSharedWith(std::string_view) override {
    return Answer("ListRoomSharedWith", std::vector<RoomFile>(1));
  }
  result<void> CreateRoomUpload(const RoomUpload&) override { return Void("CreateRoomUpload"); }
  result<RoomUpload> FindRoomUpload(std::string_view) override {
    return Answer("FindRoomUpload", RoomUpload{});
  }
  result<void> DeleteRoomUpload(std::string_view) override { return Void("DeleteRoomUpload"); }
  result<std::vector<RoomUpload>> ListExpiredRoomUploads(TimeMs, std::size_t) override {
    return Answer("ListExpiredRoomUploads", std::vector<RoomUpload>(1));
  }
  result<std::vector<CollabWriteResult>> AppendCollabUpdates(
      std::span<const CollabUpdate>) override {
    return Answer("AppendCollabUpdates", std::vector<CollabWriteResult>(1));
  }
  result<std::vector<CollabStoredFrame>> ReadCollabUpdates(std::string_view, std::int64_t,
                                                           std::size_t) override {
    return Answer("ReadCollabUpdates", std::vector<CollabStoredFrame>(1));
  }
  result<CollabLogState> FindCollabLog(std::string_view) override {
    return Answer("FindCollabLog", CollabLogState{});
  }
  result<CollabStoredFrame> FindCollabSnapshot(std::string_view) override {
    return Answer("FindCollabSnapshot", CollabStoredFrame{});
  }
  result<CollabWriteResult> StoreCollabSnapshot(const CollabSnapshotWrite&) override {
    return Answer("StoreCollabSnapshot", CollabWriteResult{});
  }
  result<std::vector<std::string>> ReferencedBlobIds() override {
    return Answer("ReferencedBlobIds", std::vector<std::string>{"b"});
  }
  result<void> Ping() override { return Void("Ping"); }
  result<std::vector<std::string>> CheckIntegrity() override {
    return Answer("CheckIntegrity", std::vector<std::string>{"p"});
  }

 private:
  template <class T>
  result<T> Answer(std::string_view name, T value) {
    calls_.emplace_back(name);
    if (error) return result<T>(boost::system::in_place_error, error);
    return value;
  }
  result<void> Void(std::string_view name) {
    calls_.emplace_back(name);
    if (error) return error;
    return {};
  }
  std::vector<std::string>& calls_;
};

// Calls every MetadataStore method once, in declaration order; returns how many succeeded.
int CallEveryMethod(MetadataStore& s) {
  int ok = 0;
  auto count = [&](const auto& r) { ok += r ? 1 : 0; };
  count(s.GetSetting("k"));
  count(s.PutSetting("k", "v"));
  count(s.PutSettingIfAbsent("k", "v"));
  count(s.CreateInvitation({}));
  count(s.FindInvitation("d"));
  count(s.RegisterUser({}));
  count(s.FindUserById("u"));
  count(s.FindUserByEmail("e"));
  count(s.CountUsers());
  count(s.ChangeCredentials({}));
  count(s.CreateSession({}));
  count(s.FindSession("d", 0));
  count(s.FindSessionWithUser("d", 0));
  count(s.ListSessions("u", 0));
  count(s.TouchSession("s", 0));
  count(s.RevokeSession("u", "s"));
  count(s.RevokeOtherSessions("u", "s"));
  count(s.DeleteExpiredSessions(0));
  count(s.RecordLoginAttempt({}));
  count(s.AccountFailures("u", 0));
  count(s.IpFailures("i", 0));
  count(s.QueryLoginAttempts({}));
  count(s.AppendAudit({}));
  count(s.QueryAudit({}));
  count(s.BeginTotp({}, {}));
  count(s.FindTotp("u"));
  count(s.ConfirmTotp({}));
  count(s.AcceptTotpStep("u", 1));
  count(s.UseTotpRecoveryCode("u", "d", 0));
  count(s.ReplaceTotpRecoveryCodes("u", {"d"}, {}));
  count(s.DeleteTotp("u", {}));
  count(s.ListUsers({}));
  count(s.ListUserGroups("u"));
  count(s.ChangeUserAccess({}));
  count(s.CreateGroup({}, {}));
  count(s.FindGroup("g"));
  count(s.ListGroups({}));
  count(s.DeleteGroup("g", {}));
  count(s.ListGroupMembers("g", {}));
  count(s.AddGroupMember("g", "u", {}));
  count(s.RemoveGroupMember("g", "u", {}));
  count(s.CreateRoomFolder({}, {}));
  count(s.FindRoomFolder("f"));
  count(s.FindRoomRoot("u"));
  count(s.ListRoomFolder("f"));
  count(s.UpdateRoomFolder({}, {}));
  count(s.DeleteRoomFolder("f", {}));
  count(s.CreateRoomFile({}, {}));
  count(s.FindRoomFile("f"));
  count(s.UpdateRoomFile({}, {}));
  count(s.DeleteRoomFile("f", {}));
  count(s.ListRoomSharedWith("u"));
  count(s.CreateRoomUpload({}));
  count(s.FindRoomUpload("u"));
  count(s.DeleteRoomUpload("u"));
  count(s.ListExpiredRoomUploads(0, 1));
  count(s.AppendCollabUpdates({}));
  count(s.ReadCollabUpdates("f", 0, 1));
  count(s.FindCollabLog("f"));
  count(s.FindCollabSnapshot("f"));
  count(s.StoreCollabSnapshot({}));
  count(s.ReferencedBlobIds());
  count(s.Ping());
  count(s.CheckIntegrity());
  return ok;
}

TEST(InstrumentedMetadataStoreTest, ForwardsAndReportsEveryOperationUnderItsName) {
  std::vector<std::string> inner_calls;
  auto inner = std::make_unique<ScriptedStore>(inner_calls);
  Observations seen;
  InstrumentedMetadataStore store(std::move(inner), seen.Observer());
  EXPECT_EQ(CallEveryMethod(store), 64);

  const auto names = MetadataStoreOperationNames();
  const std::vector<std::string> expected(names.begin(), names.end());
  EXPECT_EQ(inner_calls, expected) << "a method was not forwarded, or to the wrong method";
  std::vector<std::string> reported;
  for (const auto& c : seen.calls) {
    reported.push_back(c.operation);
    EXPECT_TRUE(c.ok) << c.operation;
    EXPECT_GE(c.seconds, 0.0);
  }
  EXPECT_EQ(reported, expected);
  EXPECT_EQ(std::set<std::string>(expected.begin(), expected.end()).size(), expected.size());
}

TEST(InstrumentedMetadataStoreTest, PassesValuesAndErrorsThroughUnchanged) {
  std::vector<std::string> calls;
  auto inner = std::make_unique<ScriptedStore>(calls);
  ScriptedStore* scripted = inner.get();
  InstrumentedMetadataStore store(std::move(inner), nullptr);  // No observer: still forwards.
  EXPECT_EQ(*store.CountUsers(), 7);
  EXPECT_EQ(store.AccountFailures("u", 0)->last_failure, 5);
  EXPECT_EQ(store.QueryAudit({})->size(), 3u);
  EXPECT_EQ(*store.CheckIntegrity(), std::vector<std::string>{"p"});
  scripted->error = errc::already_exists;
  EXPECT_EQ(store.CreateSession({}).error(), errc::already_exists);
  EXPECT_EQ(store.RevokeSession("u", "s").error(), errc::already_exists);
}

TEST(InstrumentedMetadataStoreTest, OnlyFailuresOfTheStoreCountAsNotOk) {
  const std::pair<errc, bool> cases[] = {
      {errc::not_found, true}, {errc::already_exists, true}, {errc::invalid_argument, false},
      {errc::io_error, false}, {errc::internal, false},      {errc::unsupported_version, false},
  };
  for (const auto& [code, expect_ok] : cases) {
    std::vector<std::string> calls;
    auto inner = std::make_unique<ScriptedStore>(calls);
    inner->error = code;
    Observations seen;
    InstrumentedMetadataStore store(std::move(inner), seen.Observer());
    EXPECT_EQ(CallEveryMethod(store), 0);
    ASSERT_EQ(seen.calls.size(), 64u);
    for (const auto& c : seen.calls) {
      EXPECT_EQ(c.ok, expect_ok) << error_name(code) << " " << c.operation;
    }
  }
}

TEST(InstrumentedMetadataStoreTest, ReportsRealDurationsAndOutcomesOverSqlite) {
  TempDir temp;
  auto sqlite = SqliteMetadataStore::Open((temp.path() / "m.db").string());
  ASSERT_TRUE(sqlite);
  Observations seen;
  InstrumentedMetadataStore store(std::unique_ptr<MetadataStore>(std::move(*sqlite)),
                                  seen.Observer());
  EXPECT_EQ(store.FindSession("nope", kT0).error(), errc::not_found);
  ASSERT_TRUE(store.CreateInvitation(MakeInvitation("inv", "a@example.com")));
  EXPECT_EQ(store.CreateInvitation(MakeInvitation("inv", "a@example.com")).error(),
            errc::already_exists);
  EXPECT_EQ(store.AppendAudit(MakeAudit(kT0, "system", "x", "", "bogus")).error(),
            errc::invalid_argument);
  ASSERT_EQ(seen.calls.size(), 4u);
  EXPECT_EQ(seen.calls[0].operation, "FindSession");
  EXPECT_TRUE(seen.calls[0].ok) << "a miss is an answer, not a database error";
  EXPECT_EQ(seen.calls[1].operation, "CreateInvitation");
  EXPECT_TRUE(seen.calls[1].ok);
  EXPECT_TRUE(seen.calls[2].ok);
  EXPECT_EQ(seen.calls[3].operation, "AppendAudit");
  EXPECT_FALSE(seen.calls[3].ok);
  // A committed write (an fsync) takes measurable time.
  EXPECT_GT(seen.calls[1].seconds, 0.0);
}


// --- SessionCachingMetadataStore ------------------------------------------------------------------

// A clock the test moves by hand.
struct ManualClock {
  SessionCachingMetadataStore::Clock::time_point now{};
  std::function<void()> on_read;  // Runs (outside the cache's lock) when set; see RaceTest.
  std::function<SessionCachingMetadataStore::Clock::time_point()> Function() {
    return [this] {
      if (on_read) std::exchange(on_read, nullptr)();
      return now;
    };
  }
};

// SQLite, instrumented so the test can count the reads that reach it, behind the cache.
class SessionCacheTest : public ::testing::Test {
 protected:
  void Open(std::size_t max_entries = 100) {
    auto sqlite = SqliteMetadataStore::Open((temp_.path() / "m.db").string());
    ASSERT_TRUE(sqlite);
    auto instrumented = std::make_unique<InstrumentedMetadataStore>(
        std::unique_ptr<MetadataStore>(std::move(*sqlite)), seen_.Observer());
    SessionCachingMetadataStore::Options options;
    options.ttl = std::chrono::milliseconds(1000);
    options.max_entries = max_entries;
    options.clock = clock_.Function();
    cache_ = std::make_unique<SessionCachingMetadataStore>(std::move(instrumented),
                                                           std::move(options));
    ASSERT_TRUE(cache_->CreateInvitation(MakeInvitation("inv", "alice@example.com")));
    ASSERT_TRUE(cache_->RegisterUser(
        MakeRegistration(MakeUser("alice-id", "alice@example.com"), "inv")));
  }
  // How many FindSessionWithUser calls reached SQLite.
  int DatabaseReads() {
    std::lock_guard<std::mutex> lock(seen_.mutex);
    return static_cast<int>(std::count_if(seen_.calls.begin(), seen_.calls.end(), [](auto& c) {
      return c.operation == "FindSessionWithUser";
    }));
  }
  void AddSession(const std::string& id) {
    ASSERT_TRUE(cache_->CreateSession(MakeSession(id, "alice-id", kT0, kT0 + kHour)));
  }

  TempDir temp_;
  Observations seen_;
  ManualClock clock_;
  std::unique_ptr<SessionCachingMetadataStore> cache_;
};

TEST_F(SessionCacheTest, RepeatReadsComeFromMemoryUntilTheTtlPasses) {
  ASSERT_NO_FATAL_FAILURE(Open());
  ASSERT_NO_FATAL_FAILURE(AddSession("s1"));
  const auto first = cache_->FindSessionWithUser("digest-of-s1", kT0);
  ASSERT_TRUE(first);
  EXPECT_EQ(DatabaseReads(), 1);
  clock_.now += std::chrono::milliseconds(999);
  for (int i = 0; i < 5; ++i) {
    auto again = cache_->FindSessionWithUser("digest-of-s1", kT0);
    ASSERT_TRUE(again);
    EXPECT_EQ(*again, *first);
  }
  EXPECT_EQ(DatabaseReads(), 1);
  clock_.now += std::chrono::milliseconds(1);  // Exactly the TTL: stale.
  ASSERT_TRUE(cache_->FindSessionWithUser("digest-of-s1", kT0));
  EXPECT_EQ(DatabaseReads(), 2);
}

TEST_F(SessionCacheTest, ACachedSessionStillExpiresOnTime) {
  ASSERT_NO_FATAL_FAILURE(Open());
  ASSERT_NO_FATAL_FAILURE(AddSession("s1"));
  ASSERT_TRUE(cache_->FindSessionWithUser("digest-of-s1", kT0));
  EXPECT_TRUE(cache_->FindSessionWithUser("digest-of-s1", kT0 + kHour - 1));
  EXPECT_EQ(cache_->FindSessionWithUser("digest-of-s1", kT0 + kHour).error(), errc::not_found);
  EXPECT_EQ(DatabaseReads(), 1) << "the expiry was decided from the cached row";
}

TEST_F(SessionCacheTest, MissesAreNeverCached) {
  ASSERT_NO_FATAL_FAILURE(Open());
  EXPECT_EQ(cache_->FindSessionWithUser("digest-of-s1", kT0).error(), errc::not_found);
  EXPECT_EQ(cache_->FindSessionWithUser("digest-of-s1", kT0).error(), errc::not_found);
  EXPECT_EQ(DatabaseReads(), 2);
  // A session created right after a miss is found at once.
  ASSERT_NO_FATAL_FAILURE(AddSession("s1"));
  EXPECT_TRUE(cache_->FindSessionWithUser("digest-of-s1", kT0));
}

TEST_F(SessionCacheTest, TouchUpdatesTheCachedRowWithoutEmptyingTheCache) {
  ASSERT_NO_FATAL_FAILURE(Open());
  ASSERT_NO_FATAL_FAILURE(AddSession("s1"));
  ASSERT_NO_FATAL_FAILURE(AddSession("s2"));
  ASSERT_TRUE(cache_->FindSessionWithUser("digest-of-s1", kT0));
  ASSERT_TRUE(cache_->FindSessionWithUser("digest-of-s2", kT0));
  ASSERT_TRUE(cache_->TouchSession("s1", kT0 + 60000));
  EXPECT_EQ(cache_->size(), 2u);
  EXPECT_EQ(cache_->FindSessionWithUser("digest-of-s1", kT0)->session.last_seen_at, kT0 + 60000);
  EXPECT_EQ(cache_->FindSessionWithUser("digest-of-s2", kT0)->session.last_seen_at, kT0);
  EXPECT_EQ(DatabaseReads(), 2);
}

TEST_F(SessionCacheTest, AWriteThatLandsDuringAReadKeepsThatReadOutOfTheCache) {
  ASSERT_NO_FATAL_FAILURE(Open());
  ASSERT_NO_FATAL_FAILURE(AddSession("s1"));
  // The clock is read right after the database answered and before the answer is stored:
  // revoke the session exactly there, as another thread could.
  clock_.on_read = [&] { ASSERT_TRUE(*cache_->RevokeSession("alice-id", "s1")); };
  EXPECT_TRUE(cache_->FindSessionWithUser("digest-of-s1", kT0)) << "read before the revoke";
  EXPECT_EQ(cache_->size(), 0u);
  EXPECT_EQ(cache_->FindSessionWithUser("digest-of-s1", kT0).error(), errc::not_found);
}

TEST_F(SessionCacheTest, StaysWithinItsBound) {
  ASSERT_NO_FATAL_FAILURE(Open(/*max_entries=*/3));
  for (const char* id : {"s1", "s2", "s3", "s4", "s5"}) ASSERT_NO_FATAL_FAILURE(AddSession(id));
  for (const char* d : {"digest-of-s1", "digest-of-s2", "digest-of-s3", "digest-of-s4",
                        "digest-of-s5"}) {
    ASSERT_TRUE(cache_->FindSessionWithUser(d, kT0)) << d;
    EXPECT_LE(cache_->size(), 3u);
  }
  EXPECT_GE(cache_->size(), 1u) << "the newest answer is kept";
  EXPECT_TRUE(cache_->FindSessionWithUser("digest-of-s5", kT0));
  EXPECT_EQ(DatabaseReads(), 5) << "the newest answer came from memory";
}

// Every method of the interface is classified: a new one that is not fails here until it is.
TEST(SessionCachingMetadataStoreTest, EveryWriteButTouchAndLogAppendsEmptiesTheCache) {
  std::vector<std::string> calls;
  SessionCachingMetadataStore::Options options;
  options.ttl = std::chrono::hours(1);
  SessionCachingMetadataStore cache(std::make_unique<ScriptedStore>(calls), std::move(options));
  // The scripted session expires at 0: read "before" that.
  const auto populate = [&] {
    ASSERT_TRUE(cache.FindSessionWithUser("d", -1));
    ASSERT_EQ(cache.size(), 1u);
  };
  const std::map<std::string, std::pair<std::function<void()>, bool>> methods = {
      // name -> (call, whether it must empty the cache)
      {"GetSetting", {[&] { (void)cache.GetSetting("k"); }, false}},
      {"PutSetting", {[&] { (void)cache.PutSetting("k", "v"); }, true}},
      {"PutSettingIfAbsent", {[&] { (void)cache.PutSettingIfAbsent("k", "v"); }, true}},
      {"CreateInvitation", {[&] { (void)cache.CreateInvitation({}); }, true}},
      {"FindInvitation", {[&] { (void)cache.FindInvitation("d"); }, false}},
      {"RegisterUser", {[&] { (void)cache.RegisterUser({}); }, true}},
      {"FindUserById", {[&] { (void)cache.FindUserById("u"); }, false}},
      {"FindUserByEmail", {[&] { (void)cache.FindUserByEmail("e"); }, false}},
      {"CountUsers", {[&] { (void)cache.CountUsers(); }, false}},
      {"ChangeCredentials", {[&] { (void)cache.ChangeCredentials({}); }, true}},
      {"CreateSession", {[&] { (void)cache.CreateSession({}); }, true}},
      {"FindSession", {[&] { (void)cache.FindSession("d", 0); }, false}},
      {"FindSessionWithUser", {[&] { (void)cache.FindSessionWithUser("d", -1); }, false}},
      {"ListSessions", {[&] { (void)cache.ListSessions("u", 0); }, false}},
      {"TouchSession", {[&] { (void)cache.TouchSession("s", 0); }, false}},
      {"RevokeSession", {[&] { (void)cache.RevokeSession("u", "s"); }, true}},
      {"RevokeOtherSessions", {[&] { (void)cache.RevokeOtherSessions("u", "s"); }, true}},
      {"DeleteExpiredSessions", {[&] { (void)cache.DeleteExpiredSessions(0); }, true}},
      {"RecordLoginAttempt", {[&] { (void)cache.RecordLoginAttempt({}); }, false}},
      {"AccountFailures", {[&] { (void)cache.AccountFailures("u", 0); }, false}},
      {"IpFailures", {[&] { (void)cache.IpFailures("i", 0); }, false}},
      {"QueryLoginAttempts", {[&] { (void)cache.QueryLoginAttempts({}); }, false}},
      {"AppendAudit", {[&] { (void)cache.AppendAudit({}); }, false}},
      {"QueryAudit", {[&] { (void)cache.QueryAudit({}); }, false}},
      {"BeginTotp", {[&] { (void)cache.BeginTotp({}, {}); }, false}},
      {"FindTotp", {[&] { (void)cache.FindTotp("u"); }, false}},
      {"ConfirmTotp", {[&] { (void)cache.ConfirmTotp({}); }, true}},
      {"AcceptTotpStep", {[&] { (void)cache.AcceptTotpStep("u", 1); }, false}},
      {"UseTotpRecoveryCode", {[&] { (void)cache.UseTotpRecoveryCode("u", "d", 0); }, false}},
      {"ReplaceTotpRecoveryCodes",
       {[&] { (void)cache.ReplaceTotpRecoveryCodes("u", {"d"}, {}); }, false}},
      {"DeleteTotp", {[&] { (void)cache.DeleteTotp("u", {}); }, true}},
      {"ListUsers", {[&] { (void)cache.ListUsers({}); }, false}},
      {"ListUserGroups", {[&] { (void)cache.ListUserGroups("u"); }, false}},
      // Role, deactivation and revoking a user's sessions change what a cached answer holds.
      {"ChangeUserAccess", {[&] { (void)cache.ChangeUserAccess({}); }, true}},
      {"CreateGroup", {[&] { (void)cache.CreateGroup({}, {}); }, false}},
      {"FindGroup", {[&] { (void)cache.FindGroup("g"); }, false}},
      {"ListGroups", {[&] { (void)cache.ListGroups({}); }, false}},
      {"DeleteGroup", {[&] { (void)cache.DeleteGroup("g", {}); }, false}},
      {"ListGroupMembers", {[&] { (void)cache.ListGroupMembers("g", {}); }, false}},
      {"AddGroupMember", {[&] { (void)cache.AddGroupMember("g", "u", {}); }, false}},
      {"RemoveGroupMember", {[&] { (void)cache.RemoveGroupMember("g", "u", {}); }, false}},
      {"CreateRoomFolder", {[&] { (void)cache.CreateRoomFolder({}, {}); }, false}},
      {"FindRoomFolder", {[&] { (void)cache.FindRoomFolder("f"); }, false}},
      {"FindRoomRoot", {[&] { (void)cache.FindRoomRoot("u"); }, false}},
      {"ListRoomFolder", {[&] { (void)cache.ListRoomFolder("f"); }, false}},
      {"UpdateRoomFolder", {[&] { (void)cache.UpdateRoomFolder({}, {}); }, false}},
      {"DeleteRoomFolder", {[&] { (void)cache.DeleteRoomFolder("f", {}); }, false}},
      {"CreateRoomFile", {[&] { (void)cache.CreateRoomFile({}, {}); }, false}},
      {"FindRoomFile", {[&] { (void)cache.FindRoomFile("f"); }, false}},
      {"UpdateRoomFile", {[&] { (void)cache.UpdateRoomFile({}, {}); }, false}},
      {"DeleteRoomFile", {[&] { (void)cache.DeleteRoomFile("f", {}); }, false}},
      {"ListRoomSharedWith", {[&] { (void)cache.ListRoomSharedWith("u"); }, false}},
      {"CreateRoomUpload", {[&] { (void)cache.CreateRoomUpload({}); }, false}},
      {"FindRoomUpload", {[&] { (void)cache.FindRoomUpload("u"); }, false}},
      {"DeleteRoomUpload", {[&] { (void)cache.DeleteRoomUpload("u"); }, false}},
      {"ListExpiredRoomUploads", {[&] { (void)cache.ListExpiredRoomUploads(0, 1); }, false}},
      {"AppendCollabUpdates", {[&] { (void)cache.AppendCollabUpdates({}); }, false}},
      {"ReadCollabUpdates", {[&] { (void)cache.ReadCollabUpdates("f", 0, 1); }, false}},
      {"FindCollabLog", {[&] { (void)cache.FindCollabLog("f"); }, false}},
      {"FindCollabSnapshot", {[&] { (void)cache.FindCollabSnapshot("f"); }, false}},
      {"StoreCollabSnapshot", {[&] { (void)cache.StoreCollabSnapshot({}); }, false}},
      {"ReferencedBlobIds", {[&] { (void)cache.ReferencedBlobIds(); }, false}},
      {"Ping", {[&] { (void)cache.Ping(); }, false}},
      {"CheckIntegrity", {[&] { (void)cache.CheckIntegrity(); }, false}},
  };
  const auto names = MetadataStoreOperationNames();
  ASSERT_EQ(methods.size(), names.size()) << "classify every MetadataStore method here";
  for (std::string_view name : names) {
    const auto it = methods.find(std::string(name));
    ASSERT_NE(it, methods.end()) << name << " is not classified";
    ASSERT_NO_FATAL_FAILURE(populate());
    calls.clear();
    it->second.first();
    if (name == "FindSessionWithUser") {
      EXPECT_TRUE(calls.empty()) << "a cached answer was read again";
    } else {
      EXPECT_EQ(calls, std::vector<std::string>{std::string(name)}) << "not forwarded: " << name;
    }
    EXPECT_EQ(cache.size(), it->second.second ? 0u : 1u) << name;
  }
}

TEST(SessionCachingMetadataStoreTest, AFailedWriteOrTouchStillEmptiesTheCache) {
  std::vector<std::string> calls;
  auto inner = std::make_unique<ScriptedStore>(calls);
  ScriptedStore* scripted = inner.get();
  SessionCachingMetadataStore cache(std::move(inner), {});
  ASSERT_TRUE(cache.FindSessionWithUser("d", -1));
  scripted->error = errc::io_error;
  EXPECT_EQ(cache.RevokeSession("u", "s").error(), errc::io_error);
  EXPECT_EQ(cache.size(), 0u);
  scripted->error = {};
  ASSERT_TRUE(cache.FindSessionWithUser("d", -1));
  scripted->error = errc::io_error;
  // The scripted session's id is "": touching it fails with the cached row's outcome unknown.
  EXPECT_EQ(cache.TouchSession("", 5).error(), errc::io_error);
  EXPECT_EQ(cache.size(), 0u);
  // And a failed read is passed through, not cached.
  EXPECT_EQ(cache.FindSessionWithUser("d", -1).error(), errc::io_error);
  EXPECT_EQ(cache.size(), 0u);
}

}  // namespace
}  // namespace strongroom::storage::metadata_testing
