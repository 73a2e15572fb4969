// Rows of the PostgreSQL store <-> records. The tables have SQLite's columns
// (sqlite_store_rows.h: the column lists and the JSON text of label maps and
// string lists are shared), with BOOLEAN and BIGINT types.
#pragma once

#include "console/pg_conn.h"
#include "console/sqlite_store_rows.h"

namespace sg::console {

EndpointRecord endpointRow(const PgResult& r, int row);
EnrollmentTokenRecord enrollmentRow(const PgResult& r, int row);
ApiTokenRecord apiTokenRow(const PgResult& r, int row);
FloodRecord floodRow(const PgResult& r, int row);
GlobalBlockRecord blockRow(const PgResult& r, int row);
Policy policyRow(const PgResult& r, int row);
IncidentRecord incidentRow(const PgResult& r, int row);
AuditRecord auditRow(const PgResult& r, int row);

// Helpers of the store's statements.
inline PgParam pgU64(uint64_t v) { return pgInt(static_cast<int64_t>(v)); }
// INSERT ... ON CONFLICT (key) DO UPDATE of every column: "insert or replace".
std::string pgUpsert(const char* table, const char* columns, const char* key, int count);

// In a PgStore read returning one record by key: the record, or kNotFound naming it.
#define SG_PG_ONE(rows, what)                                               \
  do {                                                                      \
    if (!(rows).ok()) return (rows).error();                                \
    if ((rows)->empty()) return makeError(Errc::kNotFound, "no " + (what)); \
    return std::move((rows)->front());                                      \
  } while (0)

}  // namespace sg::console
