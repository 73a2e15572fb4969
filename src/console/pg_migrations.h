// The PostgreSQL schema as numbered migrations, as for SQLite
// (sqlite_migrations.h): a released migration is never edited, a change is a
// new number. Every console migrates at start; a transaction-scoped advisory
// lock makes concurrent starts on one database take turns, so each migration
// runs once, in its own transaction, recorded in schema_migrations. A database
// from a newer build is refused rather than written.
#pragma once

#include <vector>

#include "console/pg_conn.h"
#include "console/sqlite_migrations.h"

namespace sg::console {

const std::vector<Migration>& pgMigrations();
Result<void> migratePg(PgConn& conn);

}  // namespace sg::console
