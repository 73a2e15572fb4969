// A flood as the console sees it: one attacking source (address or prefix),
// the endpoints it hit and what each saw and did. Times are the console's
// monotonic clock (agents' times are converted by the link's measured offset).
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>

#include "core/address.h"

namespace sg::console {

enum class FloodState { kDetect, kBlock };  // BLOCK: some endpoint blocks the source now
enum class Severity { kLow, kMedium, kHigh, kCritical };
// What an endpoint last did about the source (its newest event, agent clock).
enum class EndpointAction { kDetected, kBlocked, kUnblocked };

struct Sighting {
  std::set<uint16_t> ports;       // destination ports of its detections
  uint32_t max_count = 0;         // highest count in a window it reported
  double peak_rate = 0;           // attempts/s: highest observed rate (else count / window)
  bool attempts = false;          // it reported attempts (a detection or a block)
  uint64_t first_attempt_ns = 0;  // earliest first attempt it saw (if attempts)
  uint64_t last_detected_ns = 0;  // latest event it reported
  EndpointAction action = EndpointAction::kDetected;
  uint64_t action_agent_ns = 0;  // agent time of the event that set `action`
  int action_rank = -1;          // tie-break between events of one agent time
  bool operator==(const Sighting&) const = default;
};

struct Flood {
  uint64_t id = 0;
  Prefix source;
  FloodState state = FloodState::kDetect;
  Severity severity = Severity::kLow;
  std::map<std::string, Sighting> endpoints;  // by endpoint name
  uint64_t started_ns = 0;      // estimated attack start: earliest first attempt seen anywhere
  uint64_t last_seen_ns = 0;    // latest event anywhere
  uint64_t last_report_ns = 0;  // when a report last touched it (the quiet period counts from here)
  double peak_rate = 0;         // highest per-endpoint rate, attempts per second
  bool active = true;
  uint64_t ended_ns = 0;  // when it ended (0 while active)

  std::set<uint16_t> ports() const;
  bool operator==(const Flood&) const = default;
};

const char* floodStateName(FloodState s);          // "DETECT" | "BLOCK"
const char* severityName(Severity s);              // "LOW" | "MEDIUM" | "HIGH" | "CRITICAL"
const char* endpointActionName(EndpointAction a);  // "DETECT" | "BLOCK" | "UNBLOCKED"

}  // namespace sg::console
