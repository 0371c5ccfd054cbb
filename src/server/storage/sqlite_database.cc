#include "server/storage/sqlite_database.h"

#include <spdlog/spdlog.h>
#include <sqlite3.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <exception>
#include <mutex>
#include <thread>
#include <utility>

namespace strongroom::storage {
namespace {

// How long a statement waits for another connection's lock before failing.
constexpr std::chrono::milliseconds kBusyTimeout{5000};

// Maps an SQLite (extended) result code. Constraint violations are the caller's business:
// a duplicate key is already_exists, a reference to a missing row not_found, any other
// constraint invalid_argument. Everything else is the storage failing. SQLite's messages may
// quote data, so they are logged at debug level only and never returned.
boost::system::error_code MapError(sqlite3* db, int rc) {
  spdlog::debug("sqlite error {}: {}", rc, db != nullptr ? sqlite3_errmsg(db) : "");
  switch (rc) {
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY:
      return errc::already_exists;
    case SQLITE_CONSTRAINT_FOREIGNKEY:
      return errc::not_found;
    default:
      break;
  }
  if ((rc & 0xff) == SQLITE_CONSTRAINT) return errc::invalid_argument;
  return errc::io_error;
}

std::int64_t NowSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

// --- Statement ------------------------------------------------------------------------------

Statement::Statement(Statement&& other) noexcept
    : db_(other.db_), stmt_(std::exchange(other.stmt_, nullptr)), bind_error_(other.bind_error_) {}

Statement::~Statement() {
  sqlite3_finalize(stmt_);
}

Statement& Statement::Bind(int index, std::int64_t value) {
  if (sqlite3_bind_int64(stmt_, index, value) != SQLITE_OK) bind_error_ = errc::internal;
  return *this;
}

Statement& Statement::Bind(int index, std::string_view text) {
  if (sqlite3_bind_text64(stmt_, index, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8) !=
      SQLITE_OK) {
    bind_error_ = errc::internal;
  }
  return *this;
}

Statement& Statement::BindBlob(int index, std::span<const std::uint8_t> bytes) {
  // A zero-length blob is still a blob, not NULL: give SQLite a non-null pointer.
  static const std::uint8_t kEmpty = 0;
  if (sqlite3_bind_blob64(stmt_, index, bytes.empty() ? &kEmpty : bytes.data(), bytes.size(),
                          SQLITE_TRANSIENT) != SQLITE_OK) {
    bind_error_ = errc::internal;
  }
  return *this;
}

Statement& Statement::BindNull(int index) {
  if (sqlite3_bind_null(stmt_, index) != SQLITE_OK) bind_error_ = errc::internal;
  return *this;
}

result<bool> Statement::Step() {
  // result<bool> cannot be built implicitly from an error_code (bool would be ambiguous).
  if (!bind_error_) return result<bool>(boost::system::in_place_error, bind_error_.error());
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return result<bool>(boost::system::in_place_error, MapError(db_, rc));
}

std::int64_t Statement::ColumnInt(int index) const {
  return sqlite3_column_int64(stmt_, index);
}

std::string Statement::ColumnText(int index) const {
  const auto* p = sqlite3_column_text(stmt_, index);
  const int n = sqlite3_column_bytes(stmt_, index);
  return p == nullptr ? std::string()
                      : std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(n));
}

std::vector<std::uint8_t> Statement::ColumnBlob(int index) const {
  const auto* p = static_cast<const std::uint8_t*>(sqlite3_column_blob(stmt_, index));
  const int n = sqlite3_column_bytes(stmt_, index);
  return p == nullptr ? std::vector<std::uint8_t>() : std::vector<std::uint8_t>(p, p + n);
}

bool Statement::ColumnIsNull(int index) const {
  return sqlite3_column_type(stmt_, index) == SQLITE_NULL;
}

void Statement::Reset() noexcept {
  if (stmt_ == nullptr) return;  // Moved from.
  // sqlite3_reset repeats the error of the last step, which the caller has already seen.
  (void)sqlite3_reset(stmt_);
  (void)sqlite3_clear_bindings(stmt_);
  bind_error_ = {};
}

// --- CachedStatement ------------------------------------------------------------------------

CachedStatement::CachedStatement(Statement uncached)
    : owned_(std::move(uncached)), statement_(&*owned_) {}

CachedStatement::CachedStatement(CachedStatement&& other) noexcept
    : owned_(std::move(other.owned_)),
      statement_(owned_ ? &*owned_ : std::exchange(other.statement_, nullptr)),
      lent_(std::exchange(other.lent_, nullptr)) {
  other.statement_ = nullptr;
  other.owned_.reset();
}

CachedStatement::~CachedStatement() {
  if (statement_ != nullptr) statement_->Reset();
  if (lent_ != nullptr) *lent_ = false;
}

// --- SqliteDatabase -------------------------------------------------------------------------

result<std::unique_ptr<SqliteDatabase>> SqliteDatabase::Open(const std::string& path) {
  // SQLite's allocation statistics take a process-wide mutex on every malloc and free; under
  // load, threads serving requests queue on it. Nothing here reads those statistics. Must run
  // before SQLite initialises; if something initialised it first, the call fails harmlessly.
  static std::once_flag configure_once;
  std::call_once(configure_once, [] { (void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); });
  // Create the file ourselves so it is never, even briefly, readable by others; SQLite then
  // gives -wal and -shm the same mode. Only when it does not exist yet: close() of *any*
  // descriptor of a file drops every POSIX lock this process holds on it, so opening and
  // closing an existing database behind SQLite's back would silently release the locks of
  // this process's other connections — and another process (`strongroomd invite`) could then
  // checkpoint and delete the WAL under a running server.
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno != ENOENT) return errc::io_error;
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0) {
      ::close(fd);  // A new, empty file: nobody holds locks on it yet.
    } else if (errno != EEXIST) {  // EEXIST: another process created it first; fine.
      return errc::io_error;
    }
  }
  sqlite3* db = nullptr;
  const int rc =
      sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    auto ec = MapError(db, rc);
    sqlite3_close(db);
    return ec;
  }
  std::unique_ptr<SqliteDatabase> database(new SqliteDatabase(db));
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, static_cast<int>(kBusyTimeout.count()));
  // Turning a new database to WAL needs an exclusive lock, and SQLite answers "database is
  // locked" at once instead of calling the busy handler when waiting could deadlock — which
  // it can when several processes (or stores) open a new file together. Retry for as long as
  // the busy timeout, as every other statement would wait.
  const auto give_up = std::chrono::steady_clock::now() + kBusyTimeout;
  for (;;) {
    const int wal = sqlite3_exec(db, "PRAGMA journal_mode = WAL", nullptr, nullptr, nullptr);
    if (wal == SQLITE_OK) break;
    if ((wal & 0xff) != SQLITE_BUSY || std::chrono::steady_clock::now() >= give_up) {
      return MapError(db, wal);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  for (const char* pragma :
       {"PRAGMA synchronous = FULL", "PRAGMA foreign_keys = ON", "PRAGMA secure_delete = ON"}) {
    if (auto r = database->Execute(pragma); !r) return r.error();
  }
  // journal_mode is the one setting that can silently not take (e.g. on some filesystems).
  auto mode = database->Pragma("journal_mode");
  if (!mode) return mode.error();
  if (*mode != "wal") return errc::io_error;
  return database;
}

SqliteDatabase::~SqliteDatabase() {
  cache_.clear();  // Finalize every statement first, so the close is immediate.
  sqlite3_close_v2(db_);
}

result<void> SqliteDatabase::Execute(std::string_view sql) {
  const std::string text(sql);
  const int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return MapError(db_, rc);
  return {};
}

result<Statement> SqliteDatabase::Prepare(std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  const int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                    SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) return MapError(db_, rc);
  return Statement(db_, stmt);
}

result<CachedStatement> SqliteDatabase::Cached(std::string_view sql) {
  if (auto it = cache_.find(sql); it != cache_.end()) {
    if (it->second->lent) return errc::internal;
    it->second->lent = true;
    return CachedStatement(&it->second->statement, &it->second->lent);
  }
  auto stmt = Prepare(sql);
  if (!stmt) return stmt.error();
  if (cache_.size() >= kMaxCachedStatements) return CachedStatement(std::move(*stmt));
  auto& entry = cache_[std::string(sql)];
  entry = std::make_unique<CacheEntry>(std::move(*stmt));
  entry->lent = true;
  return CachedStatement(&entry->statement, &entry->lent);
}

std::int64_t SqliteDatabase::Changes() const noexcept {
  return sqlite3_changes64(db_);
}

void SqliteDatabase::SetWalHook(WalHook hook) {
  wal_hook_ = std::move(hook);
  if (wal_hook_) {
    sqlite3_wal_hook(db_, &SqliteDatabase::OnWal, this);
  } else {
    sqlite3_wal_autocheckpoint(db_, 1000);  // SQLite's default.
  }
}

int SqliteDatabase::OnWal(void* self, sqlite3* /*db*/, const char* /*name*/, int frames) {
  auto* database = static_cast<SqliteDatabase*>(self);
  // The commit has happened whatever the hook does; an exception must not unwind through C.
  try {
    database->wal_hook_(*database, frames);
  } catch (const std::exception& e) {
    spdlog::error("sqlite: write-ahead log hook failed: {}", e.what());
  }
  return SQLITE_OK;
}

result<void> SqliteDatabase::Checkpoint() {
  const int rc = sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr,
                                           nullptr);
  // BUSY: another connection is checkpointing right now, which is what was wanted.
  if (rc != SQLITE_OK && (rc & 0xff) != SQLITE_BUSY) return MapError(db_, rc);
  return {};
}

bool SqliteDatabase::InTransaction() const noexcept {
  return sqlite3_get_autocommit(db_) == 0;
}

result<void> SqliteDatabase::Transaction(const std::function<result<void>()>& body) {
  // BEGIN and COMMIT run on every write: cached, so they are not parsed each time.
  auto run = [this](std::string_view sql) -> result<void> {
    auto s = Cached(sql);
    if (!s) return s.error();
    auto r = (*s)->Step();
    if (!r) return r.error();
    return {};
  };
  if (auto r = run("BEGIN IMMEDIATE"); !r) return r;
  auto r = body();
  if (!r) {
    (void)run("ROLLBACK");
    return r;
  }
  if (auto c = run("COMMIT"); !c) {
    (void)run("ROLLBACK");
    return c;
  }
  return {};
}

result<std::string> SqliteDatabase::Pragma(std::string_view name) {
  auto stmt = Prepare("PRAGMA " + std::string(name));
  if (!stmt) return stmt.error();
  auto row = stmt->Step();
  if (!row) return row.error();
  if (!*row) return std::string();
  return stmt->ColumnText(0);
}

result<int> SqliteDatabase::SchemaVersion() {
  if (auto r = Execute("CREATE TABLE IF NOT EXISTS schema_migrations ("
                       " version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
                       " applied_at INTEGER NOT NULL) STRICT");
      !r) {
    return r.error();
  }
  auto stmt = Prepare("SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
  if (!stmt) return stmt.error();
  auto row = stmt->Step();
  if (!row) return row.error();
  return static_cast<int>(stmt->ColumnInt(0));
}

result<void> SqliteDatabase::Migrate(std::span<const Migration> migrations) {
  for (std::size_t i = 0; i < migrations.size(); ++i) {
    if (migrations[i].version != static_cast<int>(i) + 1) return errc::invalid_argument;
  }
  auto current = SchemaVersion();
  if (!current) return current.error();
  if (*current > static_cast<int>(migrations.size())) return errc::unsupported_version;
  for (const Migration& m : migrations.subspan(static_cast<std::size_t>(*current))) {
    bool applied = false;
    auto r = Transaction([&]() -> result<void> {
      // Read the version again under the write lock: another process opening the same file
      // may have applied this migration since we looked, and running it twice would fail.
      auto now = SchemaVersion();
      if (!now) return now.error();
      if (*now >= m.version) return {};
      if (auto e = Execute(m.sql); !e) return e;
      auto record = Prepare(
          "INSERT INTO schema_migrations (version, name, applied_at)"
          " VALUES (?1, ?2, ?3)");
      if (!record) return record.error();
      record->Bind(1, std::int64_t{m.version}).Bind(2, m.name).Bind(3, NowSeconds());
      auto done = record->Step();
      if (!done) return done.error();
      applied = true;
      return {};
    });
    if (!r) return r;
    if (applied) spdlog::info("database migrated to version {} ({})", m.version, m.name);
  }
  // A newer build may have migrated past us while we waited.
  auto final_version = SchemaVersion();
  if (!final_version) return final_version.error();
  if (*final_version > static_cast<int>(migrations.size())) return errc::unsupported_version;
  return {};
}

result<std::vector<std::string>> SqliteDatabase::CheckIntegrity() {
  std::vector<std::string> problems;
  auto integrity = Prepare("PRAGMA integrity_check");
  if (!integrity) return integrity.error();
  for (;;) {
    auto row = integrity->Step();
    if (!row) return row.error();
    if (!*row) break;
    const std::string line = integrity->ColumnText(0);
    if (line != "ok") problems.push_back("integrity_check: " + line);
  }
  auto fk = Prepare("PRAGMA foreign_key_check");
  if (!fk) return fk.error();
  for (;;) {
    auto row = fk->Step();
    if (!row) return row.error();
    if (!*row) break;
    problems.push_back("foreign_key_check: row " + std::to_string(fk->ColumnInt(1)) + " of " +
                       fk->ColumnText(0) + " refers to a missing row in " + fk->ColumnText(2));
  }
  return problems;
}

}  // namespace strongroom::storage
