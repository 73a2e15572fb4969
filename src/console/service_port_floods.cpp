// ConsoleServiceImpl: port floods (protocol version 2's report.port_floods)
// into the PortFloodBook, the store, the dashboard's live stream and the
// metrics. Floods keyed by target: console/port_flood_book.h.
#include <algorithm>
#include <optional>
#include <utility>

#include "console/api_json.h"
#include "console/api_port_floods.h"
#include "console/service_impl.h"

namespace sg::console {

namespace {

// Ended port floods read back at start and by `?all=true` (the newest).
constexpr size_t kPortFloodHistory = 1000;

// The agent's times on the console's clock by the link's measured offset;
// before the first pong, "now" for the newest and the flood's own age for
// its start. The times and the offset are the agent's word: computed in 128
// bits, the newest clamped to [0, now], the age to kMaxDurationMs.
std::pair<int64_t, int64_t> portFloodTimes(const proto::PortFloodReport& m, const TimeBase& base,
                                           std::optional<int64_t> offset) {
  int64_t at_ms = base.wall_ms;
  if (offset) {
    const __int128 console_ns = static_cast<__int128>(m.at_ns) - *offset;
    const __int128 ms =
        base.wall_ms - (static_cast<__int128>(base.mono_ns) - console_ns) / 1'000'000;
    at_ms = static_cast<int64_t>(std::clamp<__int128>(ms, 0, std::max<int64_t>(base.wall_ms, 0)));
  }
  const uint64_t age_ms = m.at_ns > m.first_ns ? (m.at_ns - m.first_ns) / 1'000'000 : 0;
  return {at_ms - static_cast<int64_t>(std::min(age_ms, proto::kMaxDurationMs)), at_ms};
}

}  // namespace

size_t ConsoleServiceImpl::fleetSize() const {
  size_t n = 0;
  for (const auto& [name, r] : records_) n += r.revoked ? 0 : 1;
  return n;
}

void ConsoleServiceImpl::notePortFloods(Link& link, const proto::Report& report) {
  if (report.port_floods.empty()) return;
  const std::string& name = link.session->endpoint();
  const TimeBase base = timeBase();
  const auto now_ms = static_cast<int64_t>(base.mono_ns / 1'000'000);  // the budget's clock
  const std::optional<int64_t> offset = link.session->offset().offsetNs();
  const uint64_t refused = port_floods_.counters().refused;
  const uint64_t dropped = port_floods_.counters().unsaved_dropped;
  for (const proto::PortFloodReport& m : report.port_floods) {
    const auto [first_ms, at_ms] = portFloodTimes(m, base, offset);
    for (auto& id : port_floods_.apply(name, m, first_ms, at_ms, now_ms)) {
      unsaved_port_floods_.insert(std::move(id));
    }
  }
  notePortFloodDrops(dropped);
  const uint64_t now_refused = port_floods_.counters().refused - refused;
  if (now_refused == 0 || link.port_floods_refused_audited) return;
  link.port_floods_refused_audited = true;  // once per link: the log is not flooded
  const PortFloodBookOptions& o = port_floods_.options();
  (void)auditLocked("agent:" + name, "port_floods_refused", name,
                    std::to_string(now_refused) + " new port floods in report " +
                        std::to_string(report.seq) + " past the endpoint's budget (" +
                        std::to_string(o.new_burst) + " at once, then " +
                        std::to_string(o.new_per_minute) +
                        " a minute): ignored (syn_guard_console_port_floods_refused_total "
                        "counts them all)");
}

Result<void> ConsoleServiceImpl::savePortFlood(const std::string& id) {
  live_.port_floods.insert(id);
  auto v = port_floods_.find(id, options_.correlator, fleetSize());
  if (!v) return Ok{};  // not in memory (another console's): the store has its last state
  SG_TRY(store_->putPortFlood(PortFloodRecord{v->id, v->endpoint, v->active, v->started_at_ms,
                                              v->last_seen_ms, portFloodBody(*v)}));
  port_floods_.saved(id);  // stored: the book may forget it
  return Ok{};
}

void ConsoleServiceImpl::endQuietPortFloods() {
  const uint64_t dropped = port_floods_.counters().unsaved_dropped;
  for (const std::string& id : port_floods_.expire(wall_())) {
    if (savePortFlood(id)) continue;
    ++counters_.store_errors;
    unsaved_port_floods_.insert(id);  // unsaved: the next flush writes it
  }
  notePortFloodDrops(dropped);
  auditPortFloodDrops();
}

void ConsoleServiceImpl::notePortFloodDrops(uint64_t before) {
  const uint64_t now = port_floods_.counters().unsaved_dropped;
  if (now == before) return;
  port_flood_drops_unaudited_ += now - before;
  std::erase_if(unsaved_port_floods_,
                [this](const std::string& id) { return !port_floods_.unsaved(id); });
}

void ConsoleServiceImpl::auditPortFloodDrops() {
  if (port_flood_drops_unaudited_ == 0) return;
  // One entry per outage, once the store takes it again (tried each tick).
  const auto& o = port_floods_.options();
  const Result<void> written = auditLocked(
      "console", "port_floods_dropped_unsaved", "",
      std::to_string(port_flood_drops_unaudited_) +
          " ended port floods were dropped before they could be stored: the store failed while "
          "more than " +
          std::to_string(o.max_unsaved_ended) +
          " waited (the least severe dropped first; syn_guard_console_port_floods_unsaved_"
          "dropped_total counts them all)");
  if (written) port_flood_drops_unaudited_ = 0;
}

Result<void> ConsoleServiceImpl::restorePortFloods() {
  SG_READ(active, store_->listPortFloods(false, SIZE_MAX));
  SG_READ(recent, store_->listPortFloods(true, kPortFloodHistory));
  for (const auto* list : {&*recent, &*active}) {
    for (const PortFloodRecord& r : *list) {
      auto v = portFloodFromBody(r.body);
      if (!v) return v.error().context("port flood " + r.id);
      port_floods_.restore(*v);
    }
  }
  return Ok{};
}

void ConsoleServiceImpl::reloadPortFlood(const std::string& id) {
  auto r = store_->getPortFlood(id);
  if (!r) return;
  auto v = portFloodFromBody(r->body);
  if (!v) return;
  port_floods_.restore(*v);
  live_.port_floods.insert(id);
}

Result<std::vector<PortFloodView>> ConsoleServiceImpl::portFloods(bool include_ended) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<PortFloodView> out = port_floods_.list(false, options_.correlator, fleetSize());
  if (!include_ended) return out;
  // History: the store keeps every ended flood (and other consoles' ones).
  SG_READ(rows, store_->listPortFloods(true, kPortFloodHistory));
  std::set<std::string> have;
  for (const auto& v : out) have.insert(v.id);
  for (const PortFloodRecord& r : *rows) {
    if (have.count(r.id) != 0) continue;
    auto v = portFloodFromBody(r.body);
    if (!v) continue;
    if (v->active) {
      if (auto mine = port_floods_.find(r.id, options_.correlator, fleetSize())) *v = *mine;
    }
    out.push_back(*v);
  }
  std::sort(out.begin(), out.end(), [](const PortFloodView& a, const PortFloodView& b) {
    return a.started_at_ms != b.started_at_ms ? a.started_at_ms < b.started_at_ms : a.id < b.id;
  });
  return out;
}

Result<PortFleetView> ConsoleServiceImpl::portFleet() {
  std::lock_guard<std::mutex> lock(mu_);
  return port_floods_.fleet(options_.correlator, fleetSize());
}

void ConsoleServiceImpl::renderPortFloods(const std::set<std::string>& ids,
                                          std::vector<LiveEvent>& out) {
  std::vector<PortFloodView> changed;
  PortFleetView fleet;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const std::string& id : ids) {
      if (auto v = port_floods_.find(id, options_.correlator, fleetSize())) changed.push_back(*v);
    }
    fleet = port_floods_.fleet(options_.correlator, fleetSize());
  }
  for (const auto& v : changed) {
    out.push_back(LiveEvent{"port_flood", api::dumpJson(api::portFloodJson(v))});
  }
  out.push_back(LiveEvent{"port_fleet", api::dumpJson(api::portFleetJson(fleet))});
}

void ConsoleServiceImpl::portFloodMetrics(std::string& out) const {
  const PortFloodCounters& c = port_floods_.counters();
  auto line = [&out](const char* name, const char* type, const char* help, uint64_t v) {
    out += std::string("# HELP syn_guard_console_") + name + " " + help +
           "\n# TYPE syn_guard_console_" + name + " " + type + "\nsyn_guard_console_" + name + " " +
           std::to_string(v) + "\n";
  };
  line("port_floods_active", "gauge", "Port floods going on, fleet-wide (floods keyed by target)",
       port_floods_.activeCount());
  line("port_flood_messages_total", "counter", "Port-flood messages from agents applied",
       c.messages);
  line("port_flood_messages_stale_total", "counter",
       "Port-flood messages older than one already applied (ignored)", c.stale);
  line("port_floods_dropped_total", "counter", "New port floods refused: no room could be made",
       c.dropped_full);
  line("port_floods_evicted_total", "counter",
       "Active port floods ended to make room (an endpoint's own oldest past its cap, or the "
       "biggest holder's when the fleet's table is full)",
       c.evicted);
  line("port_floods_ended_quiet_total", "counter",
       "Port floods ended because their agent sent nothing for the quiet period", c.ended_quiet);
  line("port_floods_refused_total", "counter",
       "Port-flood messages refused: a new flood past its endpoint's budget of new floods",
       c.refused);
  line("port_floods_unsaved", "gauge",
       "Port floods changed but not yet stored (the store failing holds them)",
       port_floods_.unsavedCount());
  line("port_floods_unsaved_dropped_total", "counter",
       "Ended port floods dropped before they could be stored: more waited for a failing store "
       "than PortFloodBookOptions::max_unsaved_ended (the least severe first)",
       c.unsaved_dropped);
}

}  // namespace sg::console
