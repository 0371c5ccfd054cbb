// Direct access to the server's SQLite database, for tests that look behind the API or play a
// malicious server by editing rows under a running strongroomd.
//
// The connection is opened read-write next to the server's own (the database is in WAL mode,
// so both may use it), waits up to 10 s for a lock, and never checkpoints or removes the WAL
// when it closes: the server keeps the database as it had it. Values keep their SQLite storage
// class (NULL, INTEGER, TEXT, BLOB), so a row read can be written back exactly, even into a
// STRICT table. Every error (cannot open, bad SQL, a failed step) is a non-fatal test failure
// that names the SQL.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

struct sqlite3;

namespace strongroom::testing {

class Database {
 public:
  // A BLOB value (TEXT is a std::string).
  struct Blob {
    std::string bytes;
  };
  using Value = std::variant<std::nullptr_t, std::int64_t, std::string, Blob>;
  using Row = std::vector<Value>;

  // Opens the database file at `path` (which must exist).
  explicit Database(const std::string& path);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // Runs one statement with `params` bound to ?1, ?2, ...; the rows it returned.
  std::vector<Row> Query(const std::string& sql, const std::vector<Value>& params = {});
  // Runs one statement, ignoring any rows.
  void Exec(const std::string& sql, const std::vector<Value>& params = {});
  // The single TEXT value of a one-row, one-column query ("" and a failure otherwise).
  std::string Text(const std::string& sql, const std::vector<Value>& params = {});
  // The single INTEGER value of a one-row, one-column query (-1 and a failure otherwise).
  std::int64_t Int(const std::string& sql, const std::vector<Value>& params = {});

 private:
  sqlite3* db_ = nullptr;
};

}  // namespace strongroom::testing
