// A thin, checked layer over one SQLite database file. Internal to strongroom_server: the
// metadata store (and only it) is built on this.
//
// Opening sets what every Strongroom database relies on:
//   journal_mode = WAL      readers never block the writer, and a crash loses no commit
//   synchronous  = FULL     a commit is durable when it returns
//   foreign_keys = ON       rows never point at rows that do not exist
//   busy_timeout = 5000 ms  concurrent writers wait instead of failing at once
// and applies versioned migrations (Migrate): each in its own transaction, recorded in
// `schema_migrations`, never twice. A database written by a newer build (a version this build
// does not know) is refused rather than used: downgrading would misread it.
//
// Thread-safety: one SqliteDatabase is one connection; use it from one thread at a time.
#pragma once

#include "strongroom/error.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
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

 private:
  friend class SqliteDatabase;
  Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  sqlite3* db_;
  sqlite3_stmt* stmt_;
  result<void> bind_error_ = {};
};

class SqliteDatabase {
 public:
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
  // Runs `body` in a transaction (BEGIN IMMEDIATE): committed if it succeeds, rolled back
  // if it fails.
  [[nodiscard]] result<void> Transaction(const std::function<result<void>()>& body);

  // PRAGMA integrity_check and foreign_key_check: an empty list means healthy.
  [[nodiscard]] result<std::vector<std::string>> CheckIntegrity();
  // The value of a PRAGMA that returns one row (for tests and `strongroomd check`).
  [[nodiscard]] result<std::string> Pragma(std::string_view name);

 private:
  explicit SqliteDatabase(sqlite3* db) : db_(db) {}
  sqlite3* db_;
};

}  // namespace strongroom::storage
