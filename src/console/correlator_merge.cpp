// Correlator: floods shared by several consoles on one database. Each console
// correlates the reports of its own agents; the store's claim on a source
// gives them one flood id, and the change feed brings each the sightings the
// others stored, merged here with the rules reports follow (min / max / union
// / newest action), so merging is order-independent and repeatable.
#include <algorithm>

#include "console/correlator.h"

namespace sg::console {

namespace {

// Times travel through the store as wall-clock milliseconds and each console
// converts them with its own time base, so one instant may come back a
// millisecond off: differences within the slack are not news (else two
// consoles would store a flood back and forth, each a millisecond earlier).
constexpr uint64_t kSlackNs = 2'000'000;

bool earlier(uint64_t a, uint64_t b) { return a + kSlackNs < b; }

// True when `into` changed.
bool mergeSighting(Sighting& into, const Sighting& from) {
  bool changed = false;
  for (uint16_t p : from.ports) changed = into.ports.insert(p).second || changed;
  if (from.max_count > into.max_count) {
    into.max_count = from.max_count;
    changed = true;
  }
  if (from.peak_rate > into.peak_rate) {
    into.peak_rate = from.peak_rate;
    changed = true;
  }
  if (from.attempts && (!into.attempts || earlier(from.first_attempt_ns, into.first_attempt_ns))) {
    into.first_attempt_ns = from.first_attempt_ns;
    into.attempts = true;
    changed = true;
  }
  if (earlier(into.last_detected_ns, from.last_detected_ns)) {
    into.last_detected_ns = from.last_detected_ns;
    changed = true;
  }
  if (earlier(into.action_agent_ns, from.action_agent_ns) ||
      (from.action_agent_ns == into.action_agent_ns && from.action_rank > into.action_rank)) {
    changed = changed || into.action != from.action;
    into.action = from.action;
    into.action_agent_ns = from.action_agent_ns;
    into.action_rank = from.action_rank;
  }
  return changed;
}

// Everything of `a` merged into `b`: true when `b` gained something.
bool gains(const Flood& a, Flood b) {
  bool changed = false;
  for (const auto& [name, sighting] : a.endpoints) {
    changed = mergeSighting(b.endpoints[name], sighting) || changed;
  }
  return changed || a.id < b.id;
}

}  // namespace

void Correlator::startFlood(const Prefix& source, uint64_t id) {
  if (active_.count(source) != 0 || active_.size() >= options_.max_active) return;
  Flood f;
  f.id = id;
  f.source = source;
  f.last_report_ns = clock_.nowNs();
  next_id_ = std::max(next_id_, id + 1);
  ++counters_.floods_started;
  active_.emplace(source, std::move(f));
}

bool Correlator::mergeFlood(const Flood& other) {
  auto it = active_.find(other.source);
  if (it == active_.end()) {
    if (!other.active || active_.size() >= options_.max_active) return false;
    Flood f = other;
    f.last_report_ns = clock_.nowNs();
    next_id_ = std::max(next_id_, f.id + 1);
    rate(f);
    active_.emplace(f.source, std::move(f));
    return false;  // as stored: nothing to store again
  }
  Flood& mine = it->second;
  // The stored copy lacks what this console saw (its write raced another's):
  // store it again, or the others never learn it.
  const bool stored_lacks = gains(mine, other);
  bool changed = false;
  for (const auto& [name, sighting] : other.endpoints) {
    changed = mergeSighting(mine.endpoints[name], sighting) || changed;
  }
  if (earlier(mine.last_seen_ns, other.last_seen_ns)) {
    mine.last_seen_ns = other.last_seen_ns;
    changed = true;
  }
  // A report elsewhere keeps it going here too.
  if (other.active) mine.last_report_ns = std::max(mine.last_report_ns, clock_.nowNs());
  // Both started one at once (before either saw the other's claim): the
  // lower id is the one kept, on every console.
  if (other.id < mine.id) {
    mine.id = other.id;
    changed = true;
  }
  if (changed) rate(mine);
  return changed || stored_lacks;
}

}  // namespace sg::console
