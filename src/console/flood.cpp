#include "console/flood.h"

namespace sg::console {

std::set<uint16_t> Flood::ports() const {
  std::set<uint16_t> all;
  for (const auto& [name, s] : endpoints) all.insert(s.ports.begin(), s.ports.end());
  return all;
}

const char* floodStateName(FloodState s) { return s == FloodState::kBlock ? "BLOCK" : "DETECT"; }

const char* severityName(Severity s) {
  switch (s) {
    case Severity::kLow:
      return "LOW";
    case Severity::kMedium:
      return "MEDIUM";
    case Severity::kHigh:
      return "HIGH";
    case Severity::kCritical:
      return "CRITICAL";
  }
  return "?";
}

const char* endpointActionName(EndpointAction a) {
  switch (a) {
    case EndpointAction::kDetected:
      return "DETECT";
    case EndpointAction::kBlocked:
      return "BLOCK";
    case EndpointAction::kUnblocked:
      return "UNBLOCKED";
  }
  return "?";
}

}  // namespace sg::console
