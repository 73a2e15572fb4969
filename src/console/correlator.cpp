#include "console/correlator.h"

#include <algorithm>
#include <cstring>

namespace sg::console {

namespace {

// Agent clock -> console clock; clamped at 0 (an agent booted before the console).
uint64_t toConsole(uint64_t agent_ns, int64_t offset_ns) {
  const int64_t v = static_cast<int64_t>(agent_ns) - offset_ns;
  return v < 0 ? 0 : static_cast<uint64_t>(v);
}

EndpointAction actionOf(proto::EventKind k) {
  switch (k) {
    case proto::EventKind::kFloodDetected:
      return EndpointAction::kDetected;
    case proto::EventKind::kBlockAdded:
      return EndpointAction::kBlocked;
    case proto::EventKind::kBlockExpired:
    case proto::EventKind::kBlockRemoved:
      return EndpointAction::kUnblocked;
  }
  return EndpointAction::kDetected;
}

}  // namespace

Result<void> validateCorrelatorOptions(const CorrelatorOptions& o) {
  if (o.medium_endpoints < 2 || o.high_endpoints <= o.medium_endpoints ||
      o.critical_endpoints <= o.high_endpoints) {
    return makeError(Errc::kInvalidArgument,
                     "severity thresholds must rise: 2 <= medium < high < critical endpoints");
  }
  if (o.quiet_period <= Nanos(0)) {
    return makeError(Errc::kInvalidArgument, "quiet_period must be above 0");
  }
  if (o.max_active == 0) return makeError(Errc::kInvalidArgument, "max_active must be above 0");
  const PortFloodRateSeverity& r = o.port_flood_rate;
  if (r.medium_rate == 0 || r.high_rate <= r.medium_rate || r.critical_rate <= r.high_rate ||
      r.medium_ratio < 2 || r.high_ratio <= r.medium_ratio || r.critical_ratio <= r.high_ratio) {
    return makeError(Errc::kInvalidArgument,
                     "port flood rate severity must rise: medium < high < critical rates and "
                     "2 <= medium < high < critical ratios");
  }
  return Ok{};
}

Severity portFloodRateSeverity(const PortFloodRateSeverity& o, uint64_t rate,
                               uint64_t normal_rate) {
  // At `floor` absolute, or at `ratio` times the normal (rate / ratio >=
  // normal: no overflow) from a tenth of `floor` on.
  auto reaches = [&](uint64_t floor, uint64_t ratio) {
    if (rate >= floor) return true;
    const uint64_t divisor = std::max<uint64_t>(o.ratio_floor_divisor, 1);
    return rate >= floor / divisor && rate / ratio >= normal_rate;
  };
  if (reaches(o.critical_rate, o.critical_ratio)) return Severity::kCritical;
  if (reaches(o.high_rate, o.high_ratio)) return Severity::kHigh;
  if (reaches(o.medium_rate, o.medium_ratio)) return Severity::kMedium;
  return Severity::kLow;
}

Severity severityFor(const CorrelatorOptions& o, size_t n, size_t fleet) {
  size_t critical = o.critical_endpoints;
  if (o.critical_fleet_divisor > 0 && fleet > 0) {
    const size_t tenth = (fleet + o.critical_fleet_divisor - 1) / o.critical_fleet_divisor;
    critical = std::min(critical, std::max<size_t>(tenth, o.high_endpoints + 1));
  }
  if (n >= critical) return Severity::kCritical;
  if (n >= o.high_endpoints) return Severity::kHigh;
  if (n >= o.medium_endpoints) return Severity::kMedium;
  return Severity::kLow;
}

bool Correlator::PrefixLess::operator()(const Prefix& a, const Prefix& b) const {
  const int c = std::memcmp(&a.addr.raw, &b.addr.raw, sizeof(a.addr.raw));
  return c != 0 ? c < 0 : a.bits < b.bits;
}

Correlator::Correlator(CorrelatorOptions options, Clock& clock, uint64_t next_id)
    : options_(options), clock_(clock), next_id_(next_id) {}

ReportOutcome Correlator::onReport(const std::string& endpoint, int64_t offset_ns,
                                   const proto::Report& report) {
  ReportOutcome out;
  if (!seqs_[endpoint].accept(report.seq)) {
    ++counters_.duplicate_reports;
    out.duplicate = true;
    return out;
  }
  ++counters_.reports;
  counters_.agent_dropped += report.dropped;
  const uint64_t now = clock_.nowNs();
  for (const auto& e : report.events) {
    ++counters_.events;
    Flood* flood = floodFor(e.source, now);
    if (flood == nullptr) {
      ++counters_.events_dropped_full;
      continue;
    }
    apply(*flood, endpoint, offset_ns, e);
    flood->last_report_ns = now;
    rate(*flood);
    out.changed.push_back(flood->id);
  }
  std::sort(out.changed.begin(), out.changed.end());
  out.changed.erase(std::unique(out.changed.begin(), out.changed.end()), out.changed.end());
  return out;
}

Flood* Correlator::floodFor(const Prefix& source, uint64_t now) {
  auto it = active_.find(source);
  if (it != active_.end()) return &it->second;
  if (active_.size() >= options_.max_active) return nullptr;
  Flood f;
  f.id = next_id_++;
  f.source = source;
  f.last_report_ns = now;
  ++counters_.floods_started;
  return &active_.emplace(source, std::move(f)).first->second;
}

void Correlator::apply(Flood& flood, const std::string& endpoint, int64_t offset_ns,
                       const proto::Event& e) {
  Sighting& s = flood.endpoints[endpoint];
  const uint64_t first = toConsole(e.first_attempt_ns, offset_ns);
  const uint64_t detected = toConsole(e.detected_ns, offset_ns);
  const bool attempts =
      e.kind == proto::EventKind::kFloodDetected || e.kind == proto::EventKind::kBlockAdded;
  if (attempts) {
    if (e.dst_port != 0) s.ports.insert(e.dst_port);
    s.max_count = std::max(s.max_count, e.count);
    // The rate the agent observed (protocol version 3); an older agent's
    // events carry none: count / window, which understates a short burst.
    if (e.rate > 0) {
      s.peak_rate = std::max(s.peak_rate, static_cast<double>(e.rate));
    } else if (e.window_ms > 0) {
      s.peak_rate = std::max(s.peak_rate, e.count * 1000.0 / static_cast<double>(e.window_ms));
    }
    if (!s.attempts || first < s.first_attempt_ns) s.first_attempt_ns = first;
    s.attempts = true;
  }
  s.last_detected_ns = std::max(s.last_detected_ns, detected);
  flood.last_seen_ns = std::max(flood.last_seen_ns, detected);
  // The newest event (agent clock) sets the action; at one time, the later
  // kind in the enum wins, so the result does not depend on arrival order.
  const int rank = static_cast<int>(e.kind);
  if (e.detected_ns > s.action_agent_ns ||
      (e.detected_ns == s.action_agent_ns && rank > s.action_rank)) {
    s.action = actionOf(e.kind);
    s.action_agent_ns = e.detected_ns;
    s.action_rank = rank;
  }
}

void Correlator::rate(Flood& flood) const {
  bool blocking = false;
  double peak = 0;
  uint64_t started = UINT64_MAX;
  for (const auto& [name, s] : flood.endpoints) {
    blocking = blocking || s.action == EndpointAction::kBlocked;
    peak = std::max(peak, s.peak_rate);
    if (s.attempts) started = std::min(started, s.first_attempt_ns);
  }
  flood.state = blocking ? FloodState::kBlock : FloodState::kDetect;
  flood.peak_rate = peak;
  flood.severity = severityFor(options_, flood.endpoints.size(), fleet_size_);
  // Only block removals seen so far: the attack started no later than them.
  flood.started_ns = started == UINT64_MAX ? flood.last_seen_ns : started;
}

std::vector<uint64_t> Correlator::endQuiet() {
  const uint64_t now = clock_.nowNs();
  const auto quiet = static_cast<uint64_t>(options_.quiet_period.count());
  std::vector<uint64_t> ended;
  for (auto it = active_.begin(); it != active_.end();) {
    if (now - it->second.last_report_ns < quiet) {
      ++it;
      continue;
    }
    Flood f = std::move(it->second);
    it = active_.erase(it);
    f.active = false;
    f.ended_ns = now;
    ended.push_back(f.id);
    ++counters_.floods_ended;
    history_.push_back(std::move(f));
    if (history_.size() > options_.max_history) history_.pop_front();
  }
  std::sort(ended.begin(), ended.end());
  return ended;
}

void Correlator::setFleetSize(size_t endpoints) {
  fleet_size_ = endpoints;
  for (auto& [source, flood] : active_) rate(flood);
}

const Flood* Correlator::find(uint64_t id) const {
  for (const auto& [source, f] : active_) {
    if (f.id == id) return &f;
  }
  for (const auto& f : history_) {
    if (f.id == id) return &f;
  }
  return nullptr;
}

const Flood* Correlator::activeFor(const Prefix& source) const {
  auto it = active_.find(source);
  return it == active_.end() ? nullptr : &it->second;
}

std::vector<const Flood*> Correlator::active() const {
  std::vector<const Flood*> out;
  for (const auto& [source, f] : active_) out.push_back(&f);
  std::sort(out.begin(), out.end(), [](const Flood* a, const Flood* b) { return a->id < b->id; });
  return out;
}

void Correlator::restoreFlood(Flood flood) {
  next_id_ = std::max(next_id_, flood.id + 1);
  if (flood.active) {
    flood.last_report_ns = clock_.nowNs();  // a fresh quiet period after a restart
    active_[flood.source] = std::move(flood);
  } else {
    history_.push_back(std::move(flood));
    if (history_.size() > options_.max_history) history_.pop_front();
  }
}

void Correlator::restoreSeq(const std::string& endpoint, uint64_t contiguous_seq) {
  seqs_[endpoint].restore(contiguous_seq);
}

bool Correlator::seenReport(const std::string& endpoint, uint64_t seq) const {
  auto it = seqs_.find(endpoint);
  return it == seqs_.end() ? seq == 0 : it->second.seen(seq);
}

uint64_t Correlator::contiguousSeq(const std::string& endpoint) const {
  auto it = seqs_.find(endpoint);
  return it == seqs_.end() ? 0 : it->second.contiguous();
}

}  // namespace sg::console
