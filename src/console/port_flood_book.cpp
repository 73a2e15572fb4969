#include "console/port_flood_book.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "proto/field_reader.h"

namespace sg::console {
namespace {

using nlohmann::json;

std::string targetOf(const std::string& dst, uint16_t port) {
  const bool v6 = dst.find(':') != std::string::npos;
  return (v6 ? "[" + dst + "]" : dst) + ":" + std::to_string(port);
}

}  // namespace

std::string PortFloodView::target() const { return targetOf(dst, dst_port); }

std::string portFloodId(const std::string& endpoint, const proto::PortFloodReport& m) {
  return endpoint + "/" + targetOf(proto::prefixText(m.dst), m.dst_port) + "/" +
         std::to_string(m.first_ns);
}

std::vector<std::string> PortFloodBook::apply(const std::string& endpoint,
                                              const proto::PortFloodReport& m, int64_t first_ms,
                                              int64_t at_ms, int64_t now_ms) {
  const std::string id = portFloodId(endpoint, m);
  std::vector<std::string> changed{id};
  auto it = floods_.find(id);
  if (it == floods_.end()) {
    // A new row: within the endpoint's budget, whose token is spent only
    // when the row is made (not for one refused for want of room).
    Budget& budget = refilled(endpoint, now_ms);
    if (budget.units < kBudgetToken) {
      ++counters_.refused;
      return {};
    }
    const bool ended = m.kind == proto::PortFloodKind::kEnded;  // needs no room
    if (!ended && !makeRoom(endpoint, changed)) {
      ++counters_.dropped_full;
      return {};
    }
    budget.units -= kBudgetToken;
    PortFloodView v;
    v.id = id;
    v.endpoint = endpoint;
    v.dst = proto::prefixText(m.dst);
    v.dst_port = m.dst_port;
    v.agent_first_ns = m.first_ns;
    v.started_at_ms = first_ms;
    v.active = !ended;
    it = floods_.emplace(id, std::move(v)).first;
    index(it->second);
  } else if (m.at_ns < it->second.agent_at_ns ||
             (m.at_ns == it->second.agent_at_ns && it->second.ended_by == "agent")) {
    ++counters_.stale;
    return {};
  }
  ++counters_.messages;
  PortFloodView& v = it->second;
  // A newer flood of the target ends the one before it (its end was lost:
  // the agent restarted, or its end message was dropped from a full queue).
  const std::string key = endpoint + "/" + v.target();
  if (auto cur = current_.find(key); cur == current_.end() || cur->second != id) {
    auto old = cur == current_.end() ? floods_.end() : floods_.find(cur->second);
    if (old != floods_.end() && old->second.active && old->second.agent_first_ns < m.first_ns) {
      end(old->second, "superseded", at_ms);
      changed.push_back(old->first);
    }
    if (old == floods_.end() || old->second.agent_first_ns <= m.first_ns) current_[key] = id;
  }
  v.reason = m.reason;
  v.rate = m.rate;
  v.peak_rate = std::max(v.peak_rate, m.peak_rate);
  v.normal_rate = m.normal_rate;
  v.distinct_sources = m.distinct_sources;
  v.completion_ratio = m.completion_permille / 1000.0;
  v.top_prefixes.clear();
  for (const auto& p : m.top_prefixes) {
    v.top_prefixes.push_back({proto::prefixText(p.prefix), p.share_permille / 1000.0});
  }
  v.response = m.response;
  v.attempts = std::max(v.attempts, m.attempts);
  v.agent_at_ns = m.at_ns;
  v.started_at_ms = std::min(v.started_at_ms, first_ms);
  v.last_seen_ms = std::max(v.last_seen_ms, at_ms);
  if (m.kind == proto::PortFloodKind::kEnded) {
    if (v.active) end(v, "agent", at_ms);
    v.ended_by = "agent";
    setEndedAt(v, at_ms);
  } else if (!v.active && v.ended_by == "quiet" &&  // its agent was cut off: it still runs
             makeRoom(endpoint, changed)) {
    activate(v);
    v.ended_by.clear();
    v.ended_at_ms = 0;
  }
  for (const std::string& c : changed) hold(c);
  boundUnsaved();
  prune();
  // A dropped one is no longer the caller's to store.
  std::erase_if(changed, [this](const std::string& c) { return unsaved_.count(c) == 0; });
  return changed;
}

void PortFloodBook::index(const PortFloodView& v) {
  if (v.active) {
    active_of_[v.endpoint].insert({v.agent_first_ns, v.id});
    ++active_;
  } else if (unsaved_.count(v.id) == 0) {
    indexEnded(v);
  } else {
    heldIn(v);
  }
}

void PortFloodBook::unindex(const PortFloodView& v) {
  if (!v.active) {
    unindexEnded(v);
    heldOut(v.id);
    return;
  }
  if (auto e = active_of_.find(v.endpoint); e != active_of_.end()) {
    e->second.erase({v.agent_first_ns, v.id});
    if (e->second.empty()) active_of_.erase(e);
  }
  --active_;
}

void PortFloodBook::indexEnded(const PortFloodView& v) {
  if (!ended_.insert({v.ended_at_ms, v.id}).second) return;
  ByEnd& mine = ended_of_[v.endpoint];
  holders_.erase({mine.size(), v.endpoint});
  mine.insert({v.ended_at_ms, v.id});
  holders_.insert({mine.size(), v.endpoint});
}

void PortFloodBook::unindexEnded(const PortFloodView& v) {
  if (ended_.erase({v.ended_at_ms, v.id}) == 0) return;
  auto mine = ended_of_.find(v.endpoint);
  holders_.erase({mine->second.size(), v.endpoint});
  mine->second.erase({v.ended_at_ms, v.id});
  if (mine->second.empty()) {
    ended_of_.erase(mine);
  } else {
    holders_.insert({mine->second.size(), v.endpoint});
  }
}

void PortFloodBook::hold(const std::string& id) {
  const bool fresh = unsaved_.insert(id).second;
  auto it = floods_.find(id);
  if (it == floods_.end() || it->second.active) return;
  if (fresh) unindexEnded(it->second);
  heldIn(it->second);  // again: the message may have raised its peak
}

void PortFloodBook::heldIn(const PortFloodView& v) {
  heldOut(v.id);
  HeldKey key{v.peak_rate, v.ended_at_ms, v.id};
  held_.insert(key);
  held_of_.emplace(v.id, std::move(key));
}

void PortFloodBook::heldOut(const std::string& id) {
  auto it = held_of_.find(id);
  if (it == held_of_.end()) return;
  held_.erase(it->second);
  held_of_.erase(it);
}

void PortFloodBook::boundUnsaved() {
  while (held_.size() > options_.max_unsaved_ended) {
    const std::string id = std::get<2>(*held_.begin());
    heldOut(id);
    unsaved_.erase(id);
    forget(id);
    ++counters_.unsaved_dropped;
  }
}

void PortFloodBook::saved(const std::string& id) {
  if (unsaved_.erase(id) == 0) return;
  if (auto it = floods_.find(id); it != floods_.end() && !it->second.active) {
    heldOut(id);
    indexEnded(it->second);
  }
  prune();
}

PortFloodBook::Budget& PortFloodBook::refilled(const std::string& endpoint, int64_t now_ms) {
  const uint64_t cap = options_.new_burst > UINT64_MAX / kBudgetToken
                           ? UINT64_MAX
                           : options_.new_burst * kBudgetToken;
  auto [it, fresh] = budget_.try_emplace(endpoint);
  Budget& b = it->second;
  if (fresh) {
    b = Budget{cap, now_ms};
  } else if (now_ms > b.at_ms) {
    const auto elapsed = static_cast<uint64_t>(now_ms - b.at_ms);
    const uint64_t rate = options_.new_per_minute;
    const uint64_t add = rate == 0 ? 0 : elapsed > cap / rate ? cap : elapsed * rate;
    b = Budget{cap - b.units < add ? cap : b.units + add, now_ms};
  }
  return b;
}

void PortFloodBook::activate(PortFloodView& v) {
  if (v.active) return;
  unindex(v);
  v.active = true;
  index(v);
}

void PortFloodBook::end(PortFloodView& v, const char* by, int64_t at_ms) {
  if (!v.active) return;
  unindex(v);
  v.active = false;
  v.ended_by = by;
  v.ended_at_ms = std::max(at_ms, v.started_at_ms);
  index(v);
}

void PortFloodBook::setEndedAt(PortFloodView& v, int64_t at_ms) {
  if (v.active) return;
  unindex(v);
  v.ended_at_ms = at_ms;
  index(v);
}

bool PortFloodBook::makeRoom(const std::string& endpoint, std::vector<std::string>& changed) {
  auto mine = active_of_.find(endpoint);
  const size_t own = mine == active_of_.end() ? 0 : mine->second.size();
  auto victim = mine;  // at its own cap: its own oldest
  if (own < options_.max_per_endpoint) {
    if (active_ < options_.max_active) return true;
    // The fleet's table is full: the oldest of the endpoint holding the
    // most (its own when none holds more). Scanned only when full.
    size_t most = own;
    for (auto e = active_of_.begin(); e != active_of_.end(); ++e) {
      if (e->second.size() > most) {
        most = e->second.size();
        victim = e;
      }
    }
  }
  if (victim == active_of_.end() || victim->second.empty()) return false;
  const std::string id = victim->second.begin()->second;  // a copy: end() erases it
  PortFloodView& v = floods_.at(id);
  end(v, "evicted", v.last_seen_ms);
  ++counters_.evicted;
  changed.push_back(id);
  return true;
}

std::vector<std::string> PortFloodBook::expire(int64_t now_ms) {
  std::vector<std::string> out;
  for (const auto& [endpoint, ids] : active_of_) {
    for (const auto& [first_ns, id] : ids) {
      const PortFloodView& v = floods_.at(id);
      if (v.last_seen_ms + options_.quiet_period_ms <= now_ms) out.push_back(id);
    }
  }
  for (const std::string& id : out) {
    PortFloodView& v = floods_.at(id);
    end(v, "quiet", v.last_seen_ms);
    ++counters_.ended_quiet;
    hold(id);
  }
  boundUnsaved();
  prune();
  std::erase_if(out, [this](const std::string& id) { return unsaved_.count(id) == 0; });
  return out;
}

void PortFloodBook::restore(const PortFloodView& view) {
  auto it = floods_.find(view.id);
  if (it != floods_.end()) {
    if (it->second.agent_at_ns > view.agent_at_ns) return;  // ours is newer
    unindex(it->second);
    it->second = view;
  } else {
    it = floods_.emplace(view.id, view).first;
  }
  index(it->second);
  const std::string key = view.endpoint + "/" + view.target();
  auto cur = current_.find(key);
  if (cur == current_.end()) {
    current_[key] = view.id;
  } else if (auto old = floods_.find(cur->second);
             old == floods_.end() || old->second.agent_first_ns <= view.agent_first_ns) {
    cur->second = view.id;
  }
  prune();
}

// The oldest end of the endpoint holding the most goes first, from the
// ordered indexes: no scan, no sort.
void PortFloodBook::prune() {
  while (!holders_.empty()) {
    const auto& [most, endpoint] = *holders_.rbegin();
    if (most <= options_.max_history_per_endpoint && ended_.size() <= options_.max_history) return;
    forget(ended_of_.at(endpoint).begin()->second);  // a copy: forget() erases it
  }
}

void PortFloodBook::forget(std::string id) {
  auto it = floods_.find(id);  // there: the ended indexes hold only floods_' ids
  unindexEnded(it->second);
  auto cur = current_.find(it->second.endpoint + "/" + it->second.target());
  if (cur != current_.end() && cur->second == id) current_.erase(cur);
  floods_.erase(it);
}

Severity PortFloodBook::withRate(Severity by_endpoints, const PortFloodView& v,
                                 const CorrelatorOptions& o) {
  return std::max(by_endpoints, portFloodRateSeverity(o.port_flood_rate, v.rate, v.normal_rate));
}

Severity PortFloodBook::severityNow(const CorrelatorOptions& o, size_t fleet_size) const {
  // Endpoints under port floods now: those with an active flood (kept, not counted).
  return severityFor(o, std::max<size_t>(active_of_.size(), 1), fleet_size);
}

std::optional<PortFloodView> PortFloodBook::find(const std::string& id,
                                                 const CorrelatorOptions& severity,
                                                 size_t fleet_size) const {
  auto it = floods_.find(id);
  if (it == floods_.end()) return std::nullopt;
  PortFloodView v = it->second;
  v.severity = v.active ? withRate(severityNow(severity, fleet_size), v, severity) : Severity::kLow;
  return v;
}

std::vector<PortFloodView> PortFloodBook::list(bool include_ended,
                                               const CorrelatorOptions& severity,
                                               size_t fleet_size) const {
  const Severity now = severityNow(severity, fleet_size);
  std::vector<PortFloodView> out;
  for (const auto& [id, v] : floods_) {
    if (!v.active && !include_ended) continue;
    out.push_back(v);
    out.back().severity = v.active ? withRate(now, v, severity) : Severity::kLow;
  }
  std::sort(out.begin(), out.end(), [](const PortFloodView& a, const PortFloodView& b) {
    return a.started_at_ms != b.started_at_ms ? a.started_at_ms < b.started_at_ms : a.id < b.id;
  });
  return out;
}

PortFleetView PortFloodBook::fleet(const CorrelatorOptions& severity, size_t fleet_size) const {
  PortFleetView f;
  std::set<std::string> endpoints;
  std::map<std::string, std::map<std::string, double>> by_prefix;  // prefix -> endpoint -> share
  for (const auto& [id, v] : floods_) {
    if (!v.active) continue;
    endpoints.insert(v.endpoint);
    ++f.targets;
    f.since_ms = f.since_ms == 0 ? v.started_at_ms : std::min(f.since_ms, v.started_at_ms);
    f.peak_rate = std::max(f.peak_rate, v.peak_rate);
    f.rate += v.rate;
    for (const auto& p : v.top_prefixes) {
      double& share = by_prefix[p.prefix][v.endpoint];
      share = std::max(share, p.share);
    }
  }
  f.endpoints.assign(endpoints.begin(), endpoints.end());
  f.severity = severityFor(severity, std::max<size_t>(endpoints.size(), 1), fleet_size);
  for (const auto& [id, v] : floods_) {
    if (v.active) f.severity = withRate(f.severity, v, severity);
  }
  for (const auto& [prefix, shares] : by_prefix) {
    if (shares.size() < 2) continue;
    PortFleetView::SharedPrefix s;
    s.prefix = prefix;
    for (const auto& [endpoint, share] : shares) {
      s.endpoints.push_back(endpoint);
      s.max_share = std::max(s.max_share, share);
    }
    f.shared_prefixes.push_back(std::move(s));
  }
  std::stable_sort(
      f.shared_prefixes.begin(), f.shared_prefixes.end(),
      [](const auto& a, const auto& b) { return a.endpoints.size() > b.endpoints.size(); });
  return f;
}

json portFloodFields(const PortFloodView& v) {
  json top = json::array();
  for (const auto& p : v.top_prefixes) top.push_back({{"prefix", p.prefix}, {"share", p.share}});
  return {{"id", v.id},
          {"endpoint", v.endpoint},
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
          {"active", v.active}};
}

std::string portFloodBody(const PortFloodView& v) {
  json j = portFloodFields(v);
  j["ended_by"] = v.ended_by;
  j["started_at_ms"] = v.started_at_ms;
  j["last_seen_ms"] = v.last_seen_ms;
  j["ended_at_ms"] = v.ended_at_ms;
  j["agent_first_ns"] = v.agent_first_ns;
  j["agent_at_ns"] = v.agent_at_ns;
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

Result<PortFloodView> portFloodFromBody(const std::string& body) {
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return makeError(Errc::kInvalidArgument, "port flood body: not an object");
  try {
    PortFloodView v;
    v.id = j.at("id").get<std::string>();
    v.endpoint = j.at("endpoint").get<std::string>();
    v.dst = j.at("dst").get<std::string>();
    v.dst_port = j.at("dst_port").get<uint16_t>();
    v.reason = j.at("reason").get<std::string>();
    v.rate = j.at("rate").get<uint64_t>();
    v.peak_rate = j.at("peak_rate").get<uint64_t>();
    v.normal_rate = j.at("normal_rate").get<uint64_t>();
    v.distinct_sources = j.at("distinct_sources").get<uint64_t>();
    v.completion_ratio = j.at("completion_ratio").get<double>();
    for (const auto& p : j.at("top_prefixes")) {
      v.top_prefixes.push_back({p.at("prefix").get<std::string>(), p.at("share").get<double>()});
    }
    v.response = j.at("response").get<std::string>();
    v.attempts = j.at("attempts").get<uint64_t>();
    v.active = j.at("active").get<bool>();
    v.ended_by = j.at("ended_by").get<std::string>();
    v.started_at_ms = j.at("started_at_ms").get<int64_t>();
    v.last_seen_ms = j.at("last_seen_ms").get<int64_t>();
    v.ended_at_ms = j.at("ended_at_ms").get<int64_t>();
    v.agent_first_ns = j.at("agent_first_ns").get<uint64_t>();
    v.agent_at_ns = j.at("agent_at_ns").get<uint64_t>();
    return v;
  } catch (const json::exception& e) {
    return makeError(Errc::kInvalidArgument, std::string("port flood body: ") + e.what());
  }
}

}  // namespace sg::console
