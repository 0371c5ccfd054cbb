#include "server/storage/sqlite_database.h"

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace strongroom::storage {
namespace {

namespace fs = std::filesystem;

constexpr Migration kV1{
    1, "people", "CREATE TABLE people (id INTEGER PRIMARY KEY, email TEXT UNIQUE NOT NULL) STRICT"};
constexpr Migration kV2{2, "notes",
                        "CREATE TABLE notes (id INTEGER PRIMARY KEY,"
                        " person INTEGER NOT NULL REFERENCES people(id)) STRICT"};
constexpr Migration kV3{3, "index", "CREATE INDEX notes_person ON notes(person)"};

class SqliteDatabaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "strongroom-sqlite-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/strongroom.db";
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::unique_ptr<SqliteDatabase> OpenDb() {
    auto db = SqliteDatabase::Open(path_);
    EXPECT_TRUE(db) << db.error().message();
    return db ? std::move(*db) : nullptr;
  }

  std::string dir_, path_;
};

TEST_F(SqliteDatabaseTest, OpenConfiguresDurabilityAndPrivacy) {
  auto db = OpenDb();
  ASSERT_TRUE(db);
  EXPECT_EQ(*db->Pragma("journal_mode"), "wal");
  EXPECT_EQ(*db->Pragma("foreign_keys"), "1");
  EXPECT_EQ(*db->Pragma("synchronous"), "2");  // FULL
  struct stat st {};
  ASSERT_EQ(stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(SqliteDatabaseTest, MigrationsApplyOnceInOrderAndSurviveReopening) {
  const Migration both[] = {kV1, kV2};
  {
    auto db = OpenDb();
    ASSERT_TRUE(db->Migrate(both));
    EXPECT_EQ(*db->SchemaVersion(), 2);
  }
  auto db = OpenDb();
  // Applying again is a no-op (re-running CREATE TABLE would fail).
  ASSERT_TRUE(db->Migrate(both));
  const Migration three[] = {kV1, kV2, kV3};
  ASSERT_TRUE(db->Migrate(three));
  EXPECT_EQ(*db->SchemaVersion(), 3);
}

TEST_F(SqliteDatabaseTest, ADatabaseFromANewerBuildIsRefused) {
  const Migration three[] = {kV1, kV2, kV3};
  ASSERT_TRUE(OpenDb()->Migrate(three));
  const Migration two[] = {kV1, kV2};
  EXPECT_EQ(OpenDb()->Migrate(two).error(), errc::unsupported_version);
}

TEST_F(SqliteDatabaseTest, MigrationListMustBeContiguous) {
  const Migration gap[] = {kV1, kV3};
  EXPECT_EQ(OpenDb()->Migrate(gap).error(), errc::invalid_argument);
}

TEST_F(SqliteDatabaseTest, AFailedMigrationLeavesNothingBehind) {
  constexpr Migration broken{2, "broken", "CREATE TABLE half (x INTEGER); THIS IS NOT SQL"};
  const Migration list[] = {kV1, broken};
  auto db = OpenDb();
  EXPECT_FALSE(db->Migrate(list));
  EXPECT_EQ(*db->SchemaVersion(), 1);
  auto probe = db->Prepare("SELECT count(*) FROM sqlite_master WHERE name = 'half'");
  ASSERT_TRUE(probe);
  ASSERT_TRUE(*probe->Step());
  EXPECT_EQ(probe->ColumnInt(0), 0) << "the failed migration's first statement was kept";
}

TEST_F(SqliteDatabaseTest, ConstraintViolationsMapToErrorCodes) {
  auto db = OpenDb();
  const Migration list[] = {kV1, kV2};
  ASSERT_TRUE(db->Migrate(list));
  auto insert = [&](std::string_view email) {
    auto s = db->Prepare("INSERT INTO people (email) VALUES (?1)");
    EXPECT_TRUE(s);
    s->Bind(1, email);
    return s->Step();
  };
  ASSERT_TRUE(insert("a@example.com"));
  EXPECT_EQ(insert("a@example.com").error(), errc::already_exists);
  auto orphan = db->Prepare("INSERT INTO notes (person) VALUES (999)");
  ASSERT_TRUE(orphan);
  EXPECT_EQ(orphan->Step().error(), errc::not_found);
}

TEST_F(SqliteDatabaseTest, TransactionsCommitOrRollBackWhole) {
  auto db = OpenDb();
  const Migration list[] = {kV1};
  ASSERT_TRUE(db->Migrate(list));
  auto count = [&] {
    auto s = db->Prepare("SELECT count(*) FROM people");
    EXPECT_TRUE(*s->Step());
    return s->ColumnInt(0);
  };
  auto add = [&](std::string_view email) -> result<void> {
    auto s = db->Prepare("INSERT INTO people (email) VALUES (?1)");
    if (!s) return s.error();
    s->Bind(1, email);
    auto r = s->Step();
    if (!r) return r.error();
    return {};
  };
  EXPECT_FALSE(db->Transaction([&]() -> result<void> {
    if (auto r = add("x@example.com"); !r) return r;
    return add("x@example.com");  // Duplicate: the whole transaction rolls back.
  }));
  EXPECT_EQ(count(), 0);
  ASSERT_TRUE(db->Transaction([&]() -> result<void> {
    if (auto r = add("x@example.com"); !r) return r;
    return add("y@example.com");
  }));
  EXPECT_EQ(count(), 2);
  // Blobs round-trip exactly, the empty one included (and it is not NULL).
  ASSERT_TRUE(db->Execute("CREATE TABLE b (v BLOB)"));
  for (const std::vector<std::uint8_t>& v :
       {std::vector<std::uint8_t>{}, std::vector<std::uint8_t>{0, 1, 255}}) {
    auto ins = db->Prepare("INSERT INTO b (v) VALUES (?1)");
    ins->BindBlob(1, v);
    ASSERT_TRUE(ins->Step());
    auto sel = db->Prepare("SELECT v FROM b WHERE rowid = last_insert_rowid()");
    ASSERT_TRUE(*sel->Step());
    EXPECT_FALSE(sel->ColumnIsNull(0));
    EXPECT_EQ(sel->ColumnBlob(0), v);
  }
}

TEST_F(SqliteDatabaseTest, IntegrityCheckPassesWhenHealthyAndCatchesCorruption) {
  {
    auto db = OpenDb();
    const Migration list[] = {kV1};
    ASSERT_TRUE(db->Migrate(list));
    ASSERT_TRUE(
        db->Execute("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n"
                    " WHERE i < 2000) INSERT INTO people (email)"
                    " SELECT 'user' || i || '@example.com' FROM n"));
    auto problems = db->CheckIntegrity();
    ASSERT_TRUE(problems);
    EXPECT_TRUE(problems->empty());
    ASSERT_TRUE(db->Execute("PRAGMA wal_checkpoint(TRUNCATE)"));
  }
  // Overwrite a page in the middle of the file.
  {
    std::fstream f(path_, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(fs::file_size(path_) / 2));
    const std::string junk(4096, '\x5a');
    f.write(junk.data(), static_cast<std::streamsize>(junk.size()));
  }
  auto db = SqliteDatabase::Open(path_);
  if (!db) SUCCEED() << "corruption refused at open";
  if (!db) return;
  auto problems = (*db)->CheckIntegrity();
  EXPECT_TRUE(!problems || !problems->empty()) << "corruption went unnoticed";
}

}  // namespace
}  // namespace strongroom::storage
