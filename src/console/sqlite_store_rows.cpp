#include "console/sqlite_store_rows.h"

#include <nlohmann/json.hpp>

namespace sg::console {

using nlohmann::json;

std::string labelsText(const Labels& labels) { return json(labels).dump(); }

Labels labelsFrom(const std::string& text) {
  json j = json::parse(text, nullptr, false);
  Labels out;
  if (!j.is_object()) return out;
  for (const auto& [k, v] : j.items()) {
    if (v.is_string()) out[k] = v.get<std::string>();
  }
  return out;
}

std::string stringsText(const std::vector<std::string>& list) { return json(list).dump(); }

std::vector<std::string> stringsFrom(const std::string& text) {
  json j = json::parse(text, nullptr, false);
  std::vector<std::string> out;
  if (!j.is_array()) return out;
  for (const auto& v : j) {
    if (v.is_string()) out.push_back(v.get<std::string>());
  }
  return out;
}

const char* const kEndpointColumns =
    "name, labels, credential_hash, enrolled_at_ms, revoked, isolated, allowed_peers,"
    " applied_version, last_report_seq, last_heartbeat_ms";
const char* const kEnrollmentColumns = "token_hash, labels, expires_at_ms, used";
const char* const kApiTokenColumns = "token_hash, name, role, created_at_ms, revoked";
const char* const kFloodColumns = "id, source, active, started_at_ms, last_seen_ms, body";
const char* const kBlockColumns = "source, expires_at_ms, added_by, reason, version, added_at_ms";
const char* const kPolicyColumns =
    "name, selector, threshold, window_ms, block_duration_ms, enforcer, revision";
const char* const kIncidentColumns =
    "id, flood_id, note, created_by, created_at_ms, webhook_status";
const char* const kAuditColumns = "id, at_ms, actor, action, target, details";

EndpointRecord endpointRow(const Statement& s) {
  EndpointRecord r;
  r.name = s.text(0);
  r.labels = labelsFrom(s.text(1));
  r.credential_hash = s.text(2);
  r.enrolled_at_ms = s.int64(3);
  r.revoked = s.int64(4) != 0;
  r.isolated = s.int64(5) != 0;
  r.allowed_peers = stringsFrom(s.text(6));
  r.applied_version = static_cast<uint64_t>(s.int64(7));
  r.last_report_seq = static_cast<uint64_t>(s.int64(8));
  r.last_heartbeat_ms = s.int64(9);
  return r;
}

EnrollmentTokenRecord enrollmentRow(const Statement& s) {
  return EnrollmentTokenRecord{s.text(0), labelsFrom(s.text(1)), s.int64(2), s.int64(3) != 0};
}

ApiTokenRecord apiTokenRow(const Statement& s) {
  auto role = parseRole(s.text(2));
  return ApiTokenRecord{s.text(0), s.text(1), role.ok() ? *role : Role::kViewer, s.int64(3),
                        s.int64(4) != 0};
}

FloodRecord floodRow(const Statement& s) {
  return FloodRecord{static_cast<uint64_t>(s.int64(0)),
                     s.text(1),
                     s.int64(2) != 0,
                     s.int64(3),
                     s.int64(4),
                     s.text(5)};
}

GlobalBlockRecord blockRow(const Statement& s) {
  GlobalBlockRecord r;
  r.source = s.text(0);
  if (!s.isNull(1)) r.expires_at_ms = s.int64(1);
  r.added_by = s.text(2);
  r.reason = s.text(3);
  r.version = static_cast<uint64_t>(s.int64(4));
  r.added_at_ms = s.int64(5);
  return r;
}

Policy policyRow(const Statement& s) {
  Policy p;
  p.name = s.text(0);
  p.selector = labelsFrom(s.text(1));
  p.profile.name = p.name;
  p.profile.threshold = static_cast<uint32_t>(s.int64(2));
  p.profile.window_ms = static_cast<uint64_t>(s.int64(3));
  p.profile.block_duration_ms = static_cast<uint64_t>(s.int64(4));
  auto enforcer = parseEnforcer(s.text(5));
  p.profile.enforcer = enforcer.ok() ? *enforcer : EnforcerKind::kXdp;
  p.revision = static_cast<uint64_t>(s.int64(6));
  return p;
}

IncidentRecord incidentRow(const Statement& s) {
  return IncidentRecord{static_cast<uint64_t>(s.int64(0)),
                        static_cast<uint64_t>(s.int64(1)),
                        s.text(2),
                        s.text(3),
                        s.int64(4),
                        s.text(5)};
}

AuditRecord auditRow(const Statement& s) {
  return AuditRecord{
      static_cast<uint64_t>(s.int64(0)), s.int64(1), s.text(2), s.text(3), s.text(4), s.text(5)};
}

}  // namespace sg::console
