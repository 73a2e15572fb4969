#include "console/flood_json.h"

#include "proto/field_reader.h"

namespace sg::console {

namespace {

using nlohmann::json;

constexpr int64_t kNsPerMs = 1'000'000;

Error bad(const std::string& what) { return makeError(Errc::kInvalidArgument, "flood: " + what); }

json portsJson(const std::set<uint16_t>& ports) {
  json a = json::array();
  for (uint16_t p : ports) a.push_back(p);
  return a;
}

Result<EndpointAction> parseAction(const std::string& text) {
  if (text == "DETECT") return EndpointAction::kDetected;
  if (text == "BLOCK") return EndpointAction::kBlocked;
  if (text == "UNBLOCKED") return EndpointAction::kUnblocked;
  return bad("unknown action '" + text + "'");
}

json sightingJson(const Sighting& s, const TimeBase& base) {
  return json{{"ports", portsJson(s.ports)},
              {"max_count", s.max_count},
              {"peak_rate", s.peak_rate},
              {"attempts", s.attempts},
              {"first_attempt", base.toWallMs(s.first_attempt_ns)},
              {"last_detected", base.toWallMs(s.last_detected_ns)},
              {"action", endpointActionName(s.action)},
              {"action_agent_ns", s.action_agent_ns},
              {"action_rank", s.action_rank}};
}

// nlohmann's typed getters throw on a mistyped field; the caller turns that
// into an error naming the field.
template <typename T>
T get(const json& j, const char* name) {
  return j.at(name).get<T>();
}

Result<std::set<uint16_t>> parsePorts(const json& a) {
  if (!a.is_array()) return bad("ports: not an array");
  std::set<uint16_t> out;
  for (const auto& p : a) {
    if (!p.is_number_unsigned() || p.get<uint64_t>() > 65535) return bad("ports: not a port");
    out.insert(static_cast<uint16_t>(p.get<uint64_t>()));
  }
  return out;
}

Result<Sighting> parseSighting(const json& j, const TimeBase& base) {
  if (!j.is_object()) return bad("sighting: not an object");
  Sighting s;
  SG_READ(ports, parsePorts(j.at("ports")));
  s.ports = std::move(*ports);
  s.max_count = get<uint32_t>(j, "max_count");
  s.peak_rate = get<double>(j, "peak_rate");
  s.attempts = get<bool>(j, "attempts");
  s.first_attempt_ns = base.toMonoNs(get<int64_t>(j, "first_attempt"));
  s.last_detected_ns = base.toMonoNs(get<int64_t>(j, "last_detected"));
  SG_READ(action, parseAction(get<std::string>(j, "action")));
  s.action = *action;
  s.action_agent_ns = get<uint64_t>(j, "action_agent_ns");
  s.action_rank = get<int>(j, "action_rank");
  return s;
}

Result<Flood> parseFlood(const json& j, const TimeBase& base) {
  if (!j.is_object()) return bad("not an object");
  Flood f;
  f.id = get<uint64_t>(j, "id");
  SG_READ(source, parsePrefix(get<std::string>(j, "source")));
  f.source = *source;
  SG_READ(state, parseFloodState(get<std::string>(j, "state")));
  f.state = *state;
  SG_READ(severity, parseSeverity(get<std::string>(j, "severity")));
  f.severity = *severity;
  f.started_ns = base.toMonoNs(get<int64_t>(j, "started_at"));
  f.last_seen_ns = base.toMonoNs(get<int64_t>(j, "last_seen"));
  f.last_report_ns = base.toMonoNs(get<int64_t>(j, "last_report"));
  f.peak_rate = get<double>(j, "peak_rate");
  f.active = get<bool>(j, "active");
  const json& ended = j.at("ended_at");
  f.ended_ns = ended.is_null() ? 0 : base.toMonoNs(ended.get<int64_t>());
  const json& sightings = j.at("sightings");
  if (!sightings.is_object()) return bad("sightings: not an object");
  for (const auto& [name, s] : sightings.items()) {
    SG_READ(sighting, parseSighting(s, base));
    f.endpoints[name] = std::move(*sighting);
  }
  return f;
}

}  // namespace

int64_t TimeBase::toWallMs(uint64_t ns) const {
  const int64_t delta = static_cast<int64_t>(ns) - static_cast<int64_t>(mono_ns);
  // Floor division, so that toMonoNs(toWallMs(t)) <= t.
  int64_t ms = delta / kNsPerMs;
  if (delta % kNsPerMs < 0) --ms;
  return wall_ms + ms;
}

uint64_t TimeBase::toMonoNs(int64_t ms) const {
  const int64_t ns = static_cast<int64_t>(mono_ns) + (ms - wall_ms) * kNsPerMs;
  return ns < 0 ? 0 : static_cast<uint64_t>(ns);
}

Result<FloodState> parseFloodState(const std::string& text) {
  if (text == "DETECT") return FloodState::kDetect;
  if (text == "BLOCK") return FloodState::kBlock;
  return bad("unknown state '" + text + "'");
}

Result<Severity> parseSeverity(const std::string& text) {
  if (text == "LOW") return Severity::kLow;
  if (text == "MEDIUM") return Severity::kMedium;
  if (text == "HIGH") return Severity::kHigh;
  if (text == "CRITICAL") return Severity::kCritical;
  return bad("unknown severity '" + text + "'");
}

json floodToJson(const Flood& f, const TimeBase& base) {
  json names = json::array();
  json sightings = json::object();
  for (const auto& [name, s] : f.endpoints) {
    names.push_back(name);
    sightings[name] = sightingJson(s, base);
  }
  return json{{"id", f.id},
              {"source", proto::prefixText(f.source)},
              {"state", floodStateName(f.state)},
              {"severity", severityName(f.severity)},
              {"ports", portsJson(f.ports())},
              {"endpoints", std::move(names)},
              {"started_at", base.toWallMs(f.started_ns)},
              {"last_seen", base.toWallMs(f.last_seen_ns)},
              {"last_report", base.toWallMs(f.last_report_ns)},
              {"peak_rate", f.peak_rate},
              {"active", f.active},
              {"ended_at", f.active ? json(nullptr) : json(base.toWallMs(f.ended_ns))},
              {"sightings", std::move(sightings)}};
}

Result<Flood> floodFromJson(const json& j, const TimeBase& base) {
  try {
    return parseFlood(j, base);
  } catch (const json::exception& e) {
    return bad(e.what());
  }
}

Result<Flood> floodFromJsonText(const std::string& text, const TimeBase& base) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded()) return bad("not JSON");
  return floodFromJson(j, base);
}

}  // namespace sg::console
