// The REST API's JSON (docs/api.md), made from ConsoleService's views. Field
// names are stable: the dashboard, `syn-guard ctl` and scripts read them.
// Times are RFC 3339 UTC strings with milliseconds ("2026-11-30T05:51:25.123Z"),
// null for "never"/"not yet"; durations are strings parseDuration reads ("5s").
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "console/service.h"

namespace sg::console::api {

// Unix ms -> "2026-11-30T05:51:25.123Z".
std::string rfc3339Ms(int64_t unix_ms);
// 0 -> null, else rfc3339Ms.
nlohmann::json timeOrNull(int64_t unix_ms);

nlohmann::json endpointJson(const EndpointView& e);
// The view's state, or the one its other fields give ("offline", "isolated", "quiet").
std::string endpointState(const EndpointView& e);
nlohmann::json floodJson(const FloodView& f);
nlohmann::json blockJson(const BlockView& b);
nlohmann::json incidentJson(const IncidentRecord& i);
nlohmann::json policyJson(const Policy& p);
nlohmann::json auditJson(const AuditRecord& a);

// {"kind": kind, "resourceVersion": "N", "items": items}
nlohmann::json listJson(const char* kind, uint64_t resource_version, nlohmann::json items);

// Serialises for a response body (invalid UTF-8 replaced, never a throw).
std::string dumpJson(const nlohmann::json& j);

}  // namespace sg::console::api
