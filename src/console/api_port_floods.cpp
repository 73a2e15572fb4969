#include "console/api_port_floods.h"

#include "console/api_body.h"
#include "console/api_json.h"

namespace sg::console::api {

using nlohmann::json;

json portFloodJson(const PortFloodView& v) {
  json j = portFloodFields(v);
  j["target"] = v.target();
  j["severity"] = severityName(v.severity);
  j["ended_by"] = v.ended_by.empty() ? json(nullptr) : json(v.ended_by);
  j["started_at"] = timeOrNull(v.started_at_ms);
  j["last_seen"] = timeOrNull(v.last_seen_ms);
  j["ended_at"] = timeOrNull(v.ended_at_ms);
  return j;
}

json portFleetJson(const PortFleetView& f) {
  json shared = json::array();
  for (const auto& s : f.shared_prefixes) {
    shared.push_back(
        {{"prefix", s.prefix}, {"endpoints", s.endpoints}, {"max_share", s.max_share}});
  }
  return {{"endpoints", f.endpoints},
          {"targets", f.targets},
          {"since", timeOrNull(f.since_ms)},
          {"peak_rate", f.peak_rate},
          {"rate", f.rate},
          {"severity", f.targets == 0 ? json(nullptr) : json(severityName(f.severity))},
          {"shared_prefixes", std::move(shared)}};
}

Result<json> listPortFloods(ConsoleService& s, const Actor&, const net::HttpRequest& req) {
  SG_READ(q, parseQuery(req.query, {"all"}));
  bool all = false;
  if (auto it = q->find("all"); it != q->end()) {
    SG_READ(b, parseBool(it->second, "all"));
    all = *b;
  }
  const uint64_t version = s.resourceVersion();
  SG_READ(floods, s.portFloods(all));
  SG_READ(fleet, s.portFleet());
  json items = json::array();
  for (const auto& v : *floods) items.push_back(portFloodJson(v));
  json out = listJson("PortFloodList", version, std::move(items));
  out["fleet"] = portFleetJson(*fleet);
  return out;
}

}  // namespace sg::console::api
