// A thin RAII layer over the SQLite C API: one connection, prepared
// statements, errors as Result (with SQLite's message). Not thread-safe: its
// owner (SqliteStore) serialises access.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "core/result.h"

struct sqlite3;
struct sqlite3_stmt;

namespace sg::console {

class Statement {
 public:
  Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  Statement(Statement&& other) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  Statement& operator=(Statement&&) = delete;
  ~Statement();

  // Parameters are 1-based, as in SQLite.
  Statement& bind(int index, const std::string& text);
  Statement& bind(int index, int64_t value);
  Statement& bind(int index, std::optional<int64_t> value);  // nullopt: NULL
  // True when a row is ready, false when done.
  Result<bool> step();
  // Runs to completion (statements without rows).
  Result<void> run();
  // Ready to run again with new bindings (one statement for many rows).
  void reset();

  int64_t int64(int col) const;
  std::string text(int col) const;
  bool isNull(int col) const;

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_;
};

class SqliteDb {
 public:
  static Result<std::unique_ptr<SqliteDb>> open(const std::string& path);
  SqliteDb(const SqliteDb&) = delete;
  SqliteDb& operator=(const SqliteDb&) = delete;
  ~SqliteDb();

  Result<void> exec(const std::string& sql);  // one or more statements, no rows
  Result<Statement> prepare(const std::string& sql);
  int64_t lastInsertId() const;
  int changes() const;  // rows changed by the last statement

 private:
  explicit SqliteDb(sqlite3* db) : db_(db) {}
  sqlite3* db_;
};

Error sqliteError(sqlite3* db, const std::string& what);

}  // namespace sg::console
