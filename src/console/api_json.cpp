#include "console/api_json.h"

#include <cinttypes>
#include <cstdio>
#include <ctime>

#include "core/config.h"
#include "proto/field_reader.h"

namespace sg::console::api {

using nlohmann::json;

namespace {

// A console-monotonic time of a flood on the wall clock, through the pair
// (started_ns, started_at_ms) the view gives.
int64_t wallOf(const FloodView& f, uint64_t mono_ns) {
  const auto delta_ns = static_cast<int64_t>(mono_ns) - static_cast<int64_t>(f.flood.started_ns);
  return f.started_at_ms + delta_ns / 1'000'000;
}

json durationJson(uint64_t ms) {
  return formatDuration(std::chrono::milliseconds(static_cast<int64_t>(ms)));
}

}  // namespace

std::string rfc3339Ms(int64_t unix_ms) {
  int64_t secs = unix_ms / 1000;
  int64_t ms = unix_ms % 1000;
  if (ms < 0) {
    ms += 1000;
    secs -= 1;
  }
  const auto t = static_cast<time_t>(secs);
  struct tm utc {};
  gmtime_r(&t, &utc);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03" PRId64 "Z", utc.tm_year + 1900,
                utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, ms);
  return buf;
}

json timeOrNull(int64_t unix_ms) { return unix_ms == 0 ? json(nullptr) : json(rfc3339Ms(unix_ms)); }

std::string endpointState(const EndpointView& e) {
  if (!e.state.empty()) return e.state;
  if (!e.online) return "offline";
  return e.isolated ? "isolated" : "quiet";
}

json endpointJson(const EndpointView& e) {
  return json{{"name", e.name},
              {"labels", e.labels},
              {"online", e.online},
              {"revoked", e.revoked},
              {"policy", e.policy},
              {"policy_version", e.policy_version},
              {"applied_version", e.applied_version},
              {"lagging", e.applied_version < e.policy_version},
              {"isolated", e.isolated},
              {"active_blocks", e.active_blocks},
              {"last_heartbeat", timeOrNull(e.last_heartbeat_ms)},
              {"heartbeat_late", e.heartbeat_late},
              {"rejected", e.rejected},
              {"state", endpointState(e)},
              {"attempts_per_s", e.attempts_per_s ? json(*e.attempts_per_s) : json(nullptr)}};
}

json floodJson(const FloodView& f) {
  json names = json::array();
  json sightings = json::array();
  for (const auto& [name, s] : f.flood.endpoints) {
    names.push_back(name);
    sightings.push_back(
        json{{"endpoint", name},
             {"ports", s.ports},
             {"max_count", s.max_count},
             {"peak_rate", s.peak_rate},
             {"first_attempt_at",
              s.attempts ? json(rfc3339Ms(wallOf(f, s.first_attempt_ns))) : json(nullptr)},
             {"last_seen", rfc3339Ms(wallOf(f, s.last_detected_ns))},
             {"action", endpointActionName(s.action)}});
  }
  return json{
      {"id", f.flood.id},
      {"source", proto::prefixText(f.flood.source)},
      {"ports", f.flood.ports()},
      {"state", floodStateName(f.flood.state)},
      {"severity", severityName(f.flood.severity)},
      {"endpoints", std::move(names)},
      {"sightings", std::move(sightings)},
      {"started_at", rfc3339Ms(f.started_at_ms)},
      {"last_seen", rfc3339Ms(f.last_seen_ms)},
      {"ended_at", f.flood.active ? json(nullptr) : timeOrNull(f.ended_at_ms)},
      {"peak_rate", f.flood.peak_rate},
      {"active", f.flood.active},
      {"acknowledged_by", f.acknowledged_by.empty() ? json(nullptr) : json(f.acknowledged_by)},
      {"acknowledged_at",
       f.acknowledged_by.empty() ? json(nullptr) : timeOrNull(f.acknowledged_at_ms)},
      {"incidents", f.incidents}};
}

json blockJson(const BlockView& b) {
  return json{{"source", proto::prefixText(b.block.source)},
              {"expires_at", b.expires_at_ms ? json(rfc3339Ms(*b.expires_at_ms)) : json(nullptr)},
              {"added_at", timeOrNull(b.added_at_ms)},
              {"added_by", b.block.added_by},
              {"reason", b.block.reason},
              {"version", b.block.version},
              {"acked", b.status.acked},
              {"pending", b.status.pending},
              {"rejected", b.status.rejected}};
}

json incidentJson(const IncidentRecord& i) {
  return json{{"id", i.id},
              {"flood_id", i.flood_id},
              {"note", i.note},
              {"created_by", i.created_by},
              {"created_at", timeOrNull(i.created_at_ms)},
              {"webhook_status", i.webhook_status}};
}

json policyJson(const Policy& p) {
  return json{{"name", p.name},
              {"selector", p.selector},
              {"flood_threshold", p.profile.threshold},
              {"flood_window", durationJson(p.profile.window_ms)},
              {"block_duration", durationJson(p.profile.block_duration_ms)},
              {"enforcer", enforcerName(p.profile.enforcer)},
              {"revision", p.revision}};
}

json auditJson(const AuditRecord& a) {
  return json{{"id", a.id},         {"at", timeOrNull(a.at_ms)}, {"actor", a.actor},
              {"action", a.action}, {"target", a.target},        {"details", a.details}};
}

json listJson(const char* kind, uint64_t resource_version, json items) {
  return json{
      {"kind", kind}, {"resourceVersion", std::to_string(resource_version)}, {"items", items}};
}

std::string dumpJson(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace sg::console::api
