// A flood as JSON: the shape the REST API shows (docs/api.md) and the body
// the store keeps (FloodRecord.body), one codec for both so a flood restored
// after a restart is the flood the API showed before it.
//
// Flood times are the console's monotonic clock, which means nothing to a
// reader and does not survive a reboot; the JSON carries wall-clock Unix
// milliseconds instead, converted through a TimeBase (one instant read on
// both clocks). Precision is a millisecond.
//
//   {"id":7,"source":"192.0.2.7","state":"BLOCK","severity":"HIGH",
//    "ports":[80,443],"endpoints":["a","b","c"],"started_at":1764480000000,
//    "last_seen":...,"last_report":...,"peak_rate":41.5,"active":true,
//    "ended_at":null,
//    "sightings":{"a":{"ports":[80],"max_count":250,"peak_rate":41.5,
//       "attempts":true,"first_attempt":...,"last_detected":...,
//       "action":"BLOCK","action_agent_ns":...,"action_rank":1}, ...}}
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "console/flood.h"
#include "core/result.h"

namespace sg::console {

// One instant on both clocks. A FloodView's base is
// TimeBase{view.flood.started_ns, view.started_at_ms}.
struct TimeBase {
  uint64_t mono_ns = 0;
  int64_t wall_ms = 0;
  int64_t toWallMs(uint64_t ns) const;
  // Clamped at 0 (a time before this boot).
  uint64_t toMonoNs(int64_t ms) const;
};

nlohmann::json floodToJson(const Flood& flood, const TimeBase& base);
// Strict enough for the store's own bodies: a missing or mistyped field is
// kInvalidArgument naming it.
Result<Flood> floodFromJson(const nlohmann::json& j, const TimeBase& base);
Result<Flood> floodFromJsonText(const std::string& text, const TimeBase& base);

Result<FloodState> parseFloodState(const std::string& text);  // "DETECT" | "BLOCK"
Result<Severity> parseSeverity(const std::string& text);      // "LOW" ... "CRITICAL"

}  // namespace sg::console
