// The SQLite schema as numbered migrations. A migration is never edited once
// released: a change is a new migration with the next number. On open, the
// store applies those not yet in schema_migrations, each in its own
// transaction; a database from a newer build (a number this build does not
// know) is refused rather than written.
#pragma once

#include <string>
#include <vector>

#include "console/sqlite_db.h"

namespace sg::console {

struct Migration {
  int version;
  const char* sql;
};

const std::vector<Migration>& sqliteMigrations();
Result<void> migrateSqlite(SqliteDb& db);

}  // namespace sg::console
