#include "console/pg_store_rows.h"

namespace sg::console {

namespace {

uint64_t u64(const PgResult& r, int row, int col) {
  return static_cast<uint64_t>(r.int64(row, col));
}

}  // namespace

EndpointRecord endpointRow(const PgResult& r, int row) {
  EndpointRecord e;
  e.name = r.text(row, 0);
  e.labels = labelsFrom(r.text(row, 1));
  e.credential_hash = r.text(row, 2);
  e.enrolled_at_ms = r.int64(row, 3);
  e.revoked = r.boolean(row, 4);
  e.isolated = r.boolean(row, 5);
  e.allowed_peers = stringsFrom(r.text(row, 6));
  e.applied_version = u64(r, row, 7);
  e.last_report_seq = u64(r, row, 8);
  e.last_heartbeat_ms = r.int64(row, 9);
  return e;
}

EnrollmentTokenRecord enrollmentRow(const PgResult& r, int row) {
  return EnrollmentTokenRecord{r.text(row, 0), labelsFrom(r.text(row, 1)), r.int64(row, 2),
                               r.boolean(row, 3)};
}

ApiTokenRecord apiTokenRow(const PgResult& r, int row) {
  auto role = parseRole(r.text(row, 2));
  return ApiTokenRecord{r.text(row, 0), r.text(row, 1), role.ok() ? *role : Role::kViewer,
                        r.int64(row, 3), r.boolean(row, 4)};
}

FloodRecord floodRow(const PgResult& r, int row) {
  return FloodRecord{u64(r, row, 0),  r.text(row, 1),  r.boolean(row, 2),
                     r.int64(row, 3), r.int64(row, 4), r.text(row, 5)};
}

GlobalBlockRecord blockRow(const PgResult& r, int row) {
  GlobalBlockRecord b;
  b.source = r.text(row, 0);
  if (!r.isNull(row, 1)) b.expires_at_ms = r.int64(row, 1);
  b.added_by = r.text(row, 2);
  b.reason = r.text(row, 3);
  b.version = u64(r, row, 4);
  b.added_at_ms = r.int64(row, 5);
  return b;
}

Policy policyRow(const PgResult& r, int row) {
  Policy p;
  p.name = r.text(row, 0);
  p.selector = labelsFrom(r.text(row, 1));
  p.profile.name = p.name;
  p.profile.threshold = static_cast<uint32_t>(r.int64(row, 2));
  p.profile.window_ms = u64(r, row, 3);
  p.profile.block_duration_ms = u64(r, row, 4);
  auto enforcer = parseEnforcer(r.text(row, 5));
  p.profile.enforcer = enforcer.ok() ? *enforcer : EnforcerKind::kXdp;
  p.revision = u64(r, row, 6);
  return p;
}

IncidentRecord incidentRow(const PgResult& r, int row) {
  return IncidentRecord{u64(r, row, 0), u64(r, row, 1),  r.text(row, 2),
                        r.text(row, 3), r.int64(row, 4), r.text(row, 5)};
}

AuditRecord auditRow(const PgResult& r, int row) {
  return AuditRecord{u64(r, row, 0), r.int64(row, 1), r.text(row, 2),
                     r.text(row, 3), r.text(row, 4),  r.text(row, 5)};
}

std::string pgUpsert(const char* table, const char* columns, const char* key, int count) {
  std::string values, updates;
  for (int i = 1; i <= count; ++i) values += (i > 1 ? ",$" : "$") + std::to_string(i);
  std::string rest = columns;
  for (size_t start = 0; start < rest.size();) {
    size_t end = rest.find(',', start);
    if (end == std::string::npos) end = rest.size();
    std::string col = rest.substr(start, end - start);
    col.erase(0, col.find_first_not_of(' '));
    if (col != key) updates += (updates.empty() ? "" : ", ") + col + " = EXCLUDED." + col;
    start = end + 1;
  }
  return std::string("INSERT INTO ") + table + " (" + columns + ") VALUES (" + values +
         ") ON CONFLICT (" + key + ") DO UPDATE SET " + updates;
}

}  // namespace sg::console
