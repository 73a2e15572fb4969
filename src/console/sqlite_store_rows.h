// Rows of the SQLite store <-> records: the column order of each SELECT the
// store runs, and the JSON text of label maps and string lists.
#pragma once

#include <string>
#include <vector>

#include "console/sqlite_db.h"
#include "console/store.h"

namespace sg::console {

std::string labelsText(const Labels& labels);
Labels labelsFrom(const std::string& text);  // "" or bad JSON: empty
std::string stringsText(const std::vector<std::string>& list);
std::vector<std::string> stringsFrom(const std::string& text);

// Column lists of the SELECTs, in the order the readers expect.
extern const char* const kEndpointColumns;
extern const char* const kEnrollmentColumns;
extern const char* const kApiTokenColumns;
extern const char* const kFloodColumns;
extern const char* const kBlockColumns;
extern const char* const kPolicyColumns;
extern const char* const kIncidentColumns;
extern const char* const kAuditColumns;

EndpointRecord endpointRow(const Statement& s);
EnrollmentTokenRecord enrollmentRow(const Statement& s);
ApiTokenRecord apiTokenRow(const Statement& s);
FloodRecord floodRow(const Statement& s);
GlobalBlockRecord blockRow(const Statement& s);
Policy policyRow(const Statement& s);
IncidentRecord incidentRow(const Statement& s);
AuditRecord auditRow(const Statement& s);

}  // namespace sg::console
