#include "support/database.h"

#include <gtest/gtest.h>

#include <sqlite3.h>

#include <type_traits>

namespace strongroom::testing {

Database::Database(const std::string& path) {
  if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
    ADD_FAILURE() << "cannot open " << path << ": " << sqlite3_errmsg(db_);
    return;
  }
  sqlite3_busy_timeout(db_, 10000);
  // Never checkpoint or remove the WAL the server is using when this connection closes.
  sqlite3_db_config(db_, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
}

Database::~Database() {
  sqlite3_close(db_);
}

std::vector<Database::Row> Database::Query(const std::string& sql,
                                           const std::vector<Value>& params) {
  std::vector<Row> rows;
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
    ADD_FAILURE() << "bad SQL: " << sql << ": " << sqlite3_errmsg(db_);
    return rows;
  }
  for (std::size_t i = 0; i < params.size(); ++i) {
    const int at = static_cast<int>(i + 1);
    std::visit(
        [&](const auto& v) {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, std::nullptr_t>) {
            sqlite3_bind_null(stmt, at);
          } else if constexpr (std::is_same_v<T, std::int64_t>) {
            sqlite3_bind_int64(stmt, at, v);
          } else if constexpr (std::is_same_v<T, std::string>) {
            sqlite3_bind_text(stmt, at, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
          } else {
            sqlite3_bind_blob(stmt, at, v.bytes.data(), static_cast<int>(v.bytes.size()),
                              SQLITE_TRANSIENT);
          }
        },
        params[i]);
  }
  int rc = 0;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    Row row;
    for (int c = 0; c < sqlite3_column_count(stmt); ++c) {
      switch (sqlite3_column_type(stmt, c)) {
        case SQLITE_NULL:
          row.emplace_back(nullptr);
          break;
        case SQLITE_INTEGER:
          row.emplace_back(static_cast<std::int64_t>(sqlite3_column_int64(stmt, c)));
          break;
        case SQLITE_BLOB: {
          const auto* p = static_cast<const char*>(sqlite3_column_blob(stmt, c));
          row.emplace_back(Blob{std::string(
              p == nullptr ? "" : p, static_cast<std::size_t>(sqlite3_column_bytes(stmt, c)))});
          break;
        }
        default: {
          const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt, c));
          row.emplace_back(std::string(p == nullptr ? "" : p,
                                       static_cast<std::size_t>(sqlite3_column_bytes(stmt, c))));
        }
      }
    }
    rows.push_back(std::move(row));
  }
  if (rc != SQLITE_DONE) ADD_FAILURE() << "SQL failed: " << sql << ": " << sqlite3_errmsg(db_);
  sqlite3_finalize(stmt);
  return rows;
}

void Database::Exec(const std::string& sql, const std::vector<Value>& params) {
  (void)Query(sql, params);
}

std::string Database::Text(const std::string& sql, const std::vector<Value>& params) {
  const auto rows = Query(sql, params);
  if (rows.size() != 1 || rows[0].size() != 1 || !std::holds_alternative<std::string>(rows[0][0])) {
    ADD_FAILURE() << "expected one text value from " << sql;
    return {};
  }
  return std::get<std::string>(rows[0][0]);
}

std::int64_t Database::Int(const std::string& sql, const std::vector<Value>& params) {
  const auto rows = Query(sql, params);
  if (rows.size() != 1 || rows[0].size() != 1 ||
      !std::holds_alternative<std::int64_t>(rows[0][0])) {
    ADD_FAILURE() << "expected one integer from " << sql;
    return -1;
  }
  return std::get<std::int64_t>(rows[0][0]);
}

}  // namespace strongroom::testing
