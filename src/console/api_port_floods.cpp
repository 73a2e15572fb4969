#include "console/api_port_floods.h"

#include "console/api_body.h"
#include "console/api_json.h"

namespace sg::console::api {

using nlohmann::json;

json portFloodJson(const PortFloodView& v) {
  json top = json::array();
  for (const auto& p : v.top_prefixes) top.push_back({{"prefix", p.prefix}, {"share", p.share}});
  return {{"id", v.id},
          {"endpoint", v.endpoint},
          {"target", v.target()},
          {"dst", v.dst},
          {"dst_port", v.dst_port},
          {"reason", v.reason},
          {"rate", v.rate},
          {"peak_rate", v.peak_rate},
          {"normal_rate", v.normal_rate},
          {"distinct_sources", v.distinct_sources},
          {"completion_ratio", v.completion_ratio},
          {"top_prefixes", std::move(top)},
          {"response", v.response},
          {"attempts", v.attempts},
          {"severity", severityName(v.severity)},
          {"active", v.active},
          {"ended_by", v.ended_by.empty() ? json(nullptr) : json(v.ended_by)},
          {"started_at", timeOrNull(v.started_at_ms)},
          {"last_seen", timeOrNull(v.last_seen_ms)},
          {"ended_at", timeOrNull(v.ended_at_ms)}};
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
