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

}  // namespace sg::console
