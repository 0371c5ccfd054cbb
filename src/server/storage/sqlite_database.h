// A thin, checked layer over one SQLite database file. Internal to strongroom_server: the
// metadata store (and only it) is built on this.
//
// Opening sets what every Strongroom database relies on:
//   journal_mode = WAL      readers never block the writer, and a crash loses no commit
//   synchronous  = FULL     a commit is durable when it returns
//   foreign_keys = ON       rows never point at rows that do not exist
//   busy_timeout = 5000 ms  concurrent writers wait instead of failing at once
// and applies versioned migrations (Migrate): each in its own transaction, recorded in
// `schema_migrations`, never twice (the version is re-read under the write lock, so several
// processes opening a new file at once apply each migration once between them). A database written
// by a newer build (a version this build does not know) is refused rather than used: downgrading
// would misread it.
//
// Statements: Prepare() makes a one-off statement; Cached() lends one from the connection's
// cache, so hot queries are parsed and planned once per connection rather than per call.
//
// Thread-safety: one SqliteDatabase is one connection; use it (and its statements) from one
// thread at a time.
#pragma once

#include "strongroom/error.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

struct sqlite3;
struct sqlite3_stmt;

namespace strongroom::storage {

struct Migration {
  int version;            // 1, 2, 3, ... in order, never reused.
  std::string_view name;  // For people reading schema_migrations.
  std::string_view sql;   // One or more statements.
};

// A prepared statement. Bind with 1-based indexes, then Step until it returns false.
class Statement {
 public:
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&&) = delete;
  ~Statement();

  Statement& Bind(int index, std::int64_t value);
  Statement& Bind(int index, std::string_view text);
  Statement& BindBlob(int index, std::span<const std::uint8_t> bytes);
  Statement& BindNull(int index);

  // Advances: true when a row is available, false when done. Errors: io_error (or
  // already_exists for a UNIQUE/PRIMARY KEY violation).
  [[nodiscard]] result<bool> Step();
  [[nodiscard]] std::int64_t ColumnInt(int index) const;
  [[nodiscard]] std::string ColumnText(int index) const;
  [[nodiscard]] std::vector<std::uint8_t> ColumnBlob(int index) const;
  [[nodiscard]] bool ColumnIsNull(int index) const;

  // Makes the statement ready to run again: rewinds it, clears every binding (to NULL) and
  // any bind error. Rewinding also ends the read a partly stepped SELECT holds open.
  void Reset() noexcept;

 private:
  friend class SqliteDatabase;
  Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  sqlite3* db_;
  sqlite3_stmt* stmt_;
  result<void> bind_error_ = {};
};

// A statement lent by SqliteDatabase::Cached() for one use. When the loan ends (this
// handle is destroyed) the statement is Reset(): a SELECT stepped to its first row only
// would otherwise keep the connection's read transaction, and so its snapshot, open, and
// every later read on the connection would see stale data. A loan must end before its
// SqliteDatabase is destroyed.
class CachedStatement {
 public:
  CachedStatement(CachedStatement&& other) noexcept;
  CachedStatement& operator=(CachedStatement&&) = delete;
  ~CachedStatement();

  Statement& operator*() noexcept { return *statement_; }
  Statement* operator->() noexcept { return statement_; }

 private:
  friend class SqliteDatabase;
  CachedStatement(Statement* cached, bool* lent) : statement_(cached), lent_(lent) {}
  explicit CachedStatement(Statement uncached);
  std::optional<Statement> owned_;  // Set when the cache was full: finalized at the end.
  Statement* statement_;
  bool* lent_ = nullptr;  // The cache entry's "in use" flag, cleared when the loan ends.
};

class SqliteDatabase {
 public:
  // Cached() keeps at most this many statements per connection; beyond it, statements are
  // prepared per use. Callers pass only SQL fixed at compile time (or assembled from fixed
  // fragments), so the set of texts is small and this is a safety net, not a policy.
  static constexpr std::size_t kMaxCachedStatements = 128;

  // Opens (creating if needed, mode 0600) and configures the database at `path`.
  [[nodiscard]] static result<std::unique_ptr<SqliteDatabase>> Open(const std::string& path);
  ~SqliteDatabase();
  SqliteDatabase(const SqliteDatabase&) = delete;
  SqliteDatabase& operator=(const SqliteDatabase&) = delete;

  // Applies every migration newer than the database's version, in order.
  // errc::unsupported_version if the database is newer than the newest migration given;
  // errc::invalid_argument if the list is not 1, 2, 3, ...
  [[nodiscard]] result<void> Migrate(std::span<const Migration> migrations);
  // The highest migration applied (0 for a new database).
  [[nodiscard]] result<int> SchemaVersion();

  // Runs SQL without results (DDL, PRAGMA). Never pass user data here: use Prepare().
  [[nodiscard]] result<void> Execute(std::string_view sql);
  [[nodiscard]] result<Statement> Prepare(std::string_view sql);
  // Lends the cached statement for `sql` (preparing and caching it on first use), keyed by
  // the text's content. Never pass user data in `sql`: bind it. errc::internal if the same
  // text is already on loan (a caller bug: one statement cannot run twice at once).
  [[nodiscard]] result<CachedStatement> Cached(std::string_view sql);
  // Rows changed by the most recent INSERT, UPDATE or DELETE on this connection.
  [[nodiscard]] std::int64_t Changes() const noexcept;
  // True between BEGIN and COMMIT/ROLLBACK (SQLite's autocommit mode is off).
  [[nodiscard]] bool InTransaction() const noexcept;
  // Runs `body` in a transaction (BEGIN IMMEDIATE: the write lock is taken at the start, so
  // the body never fails midway for want of it): committed if it succeeds, rolled back if it
  // fails.
  [[nodiscard]] result<void> Transaction(const std::function<result<void>()>& body);

  // Called on this connection's thread after each of its commits, with the number of frames
  // (pages) now in the write-ahead log. Setting a hook turns off SQLite's automatic checkpoint
  // on this connection: the caller decides when and where the log is copied back (see
  // SqliteMetadataStore). An empty function restores the automatic checkpoint.
  using WalHook = std::function<void(SqliteDatabase& db, int wal_frames)>;
  void SetWalHook(WalHook hook);
  // A PASSIVE checkpoint: copies as much of the write-ahead log into the database as it can
  // without waiting for any reader or writer, and syncs it. io_error if it failed.
  [[nodiscard]] result<void> Checkpoint();

  // PRAGMA integrity_check and foreign_key_check: an empty list means healthy.
  [[nodiscard]] result<std::vector<std::string>> CheckIntegrity();
  // The value of a PRAGMA that returns one row (for tests and `strongroomd check`).
  [[nodiscard]] result<std::string> Pragma(std::string_view name);

 private:
  explicit SqliteDatabase(sqlite3* db) : db_(db) {}

  struct TextHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };
  struct CacheEntry {
    explicit CacheEntry(Statement s) : statement(std::move(s)) {}
    Statement statement;
    bool lent = false;
  };

  static int OnWal(void* self, sqlite3* db, const char* name, int frames);

  sqlite3* db_;
  WalHook wal_hook_;
  // Entries are heap-allocated so loans keep valid pointers while the map rehashes.
  std::unordered_map<std::string, std::unique_ptr<CacheEntry>, TextHash, std::equal_to<>> cache_;
};

}  // namespace strongroom::storage
