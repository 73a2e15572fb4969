#include "core/port_flood.h"

#include <algorithm>
#include <cstring>
#include <sstream>

namespace sg {

namespace {

double secondsOf(Nanos d) { return static_cast<double>(d.count()) / 1e9; }

// Guaranteed attempts per prefix summed over ticks (Space-Saving's count - err).
std::vector<PrefixShare> topPrefixes(const std::map<uint64_t, uint64_t>& sums, uint64_t total) {
  std::vector<PrefixShare> out;
  for (const auto& [prefix, n] : sums) {
    if (n == 0) continue;
    out.push_back({prefixOf(prefix), n, total ? static_cast<double>(n) / total : 0.0});
  }
  std::sort(out.begin(), out.end(), [](const PrefixShare& a, const PrefixShare& b) {
    return a.attempts != b.attempts ? a.attempts > b.attempts : a.prefix.str() < b.prefix.str();
  });
  if (out.size() > SG_HH_SLOTS) out.resize(SG_HH_SLOTS);
  return out;
}

std::string number(double v) {
  std::ostringstream o;
  o << v;
  return o.str();
}

// The estimate, never above the attempts it counted (0 with no registers set).
uint64_t distinctOf(std::span<const uint8_t, SG_HLL_REGS> regs, uint64_t attempts) {
  bool any = false;
  for (uint8_t r : regs) any = any || r != 0;
  if (!any) return 0;
  return std::min<uint64_t>(static_cast<uint64_t>(hllEstimate(regs) + 0.5), attempts);
}

}  // namespace

Result<void> validatePortFloodOptions(const PortFloodOptions& o) {
  auto range = [](const char* name, double v, double lo, double hi) -> Result<void> {
    if (!(v >= lo && v <= hi)) {
      return makeError(Errc::kInvalidArgument, std::string(name) + ": " + number(v) +
                                                   " is out of range " + number(lo) + ".." +
                                                   number(hi));
    }
    return Ok{};
  };
  auto span = [](const char* name, Nanos v, Nanos lo, Nanos hi) -> Result<void> {
    if (v < lo || v > hi) {
      return makeError(Errc::kInvalidArgument, std::string(name) + ": " + formatDuration(v) +
                                                   " is out of range " + formatDuration(lo) + ".." +
                                                   formatDuration(hi));
    }
    return Ok{};
  };
  using std::chrono::hours;
  using std::chrono::milliseconds;
  using std::chrono::seconds;
  SG_TRY(range("port_flood_floor", o.floor, 1, 1e9));
  SG_TRY(range("port_flood_factor", o.factor, 1.5, 1e6));
  SG_TRY(range("port_flood_collapse", o.collapse, 0, 1));
  SG_TRY(span("port_flood_window", o.rate_window, milliseconds(100), seconds(60)));
  SG_TRY(span("port_flood_learn", o.learn_window, seconds(1), hours(24)));
  SG_TRY(span("port_flood_warmup", o.warmup, Nanos(0), hours(24)));
  SG_TRY(span("port_flood_end_after", o.end_after, milliseconds(100), hours(1)));
  SG_TRY(range("port_flood_concentration", o.concentration, 0.01, 1));
  SG_TRY(range("port_flood_max_prefixes", o.max_prefixes, 0, 64));
  SG_TRY(range("port_flood_max_dsts", o.max_dsts, 64, 65536));
  SG_TRY(range("port_flood_signature_coverage", o.signature_coverage, 0.01, 1));
  SG_TRY(range("port_flood_signature_normal_share", o.signature_normal_share, 0, 0.05));
  return Ok{};
}

std::string formatTarget(const sg_addr& dst, uint16_t port) {
  Address a;
  a.raw = dst;
  return a.isV4() ? a.str() + ":" + std::to_string(port)
                  : "[" + a.str() + "]:" + std::to_string(port);
}

PortFloodDetector::PortFloodDetector(PortFloodOptions options, bool handshakes_visible)
    : options_(options), handshakes_visible_(handshakes_visible) {}

PortFloodDetector::Window PortFloodDetector::measure(const Port& p) const {
  Window w;
  uint64_t completions = 0, banked = 0;
  std::array<uint8_t, SG_HLL_REGS> hll{};
  std::map<uint64_t, uint64_t> sums;
  for (const Tick& t : p.ticks) {
    w.attempts += t.attempts;
    completions += t.completions;
    if (t.bank_attempts == 0) continue;
    banked += t.bank_attempts;
    hllMerge(hll, t.hll);
    for (const sg_hh_entry& e : t.hh) {
      if (e.prefix != 0) sums[e.prefix] += e.count - std::min(e.err, e.count);
    }
  }
  w.rate = static_cast<double>(w.attempts) / secondsOf(options_.rate_window);
  w.ratio = w.attempts ? std::min(1.0, static_cast<double>(completions) / w.attempts) : 1.0;
  w.distinct = distinctOf(hll, banked);
  w.top = topPrefixes(sums, banked);
  return w;
}

std::string PortFloodDetector::exceeds(const Port& p, const Window& w, uint64_t now_ns,
                                       double scale) const {
  const PortFloodOptions& o = options_;
  if (w.rate < o.floor * scale) return "";
  const bool young = now_ns - p.first_seen_ns < static_cast<uint64_t>(o.warmup.count());
  const bool collapsed_young = o.collapse > 0 && w.ratio < o.collapse;
  if (young) {
    if (!handshakes_visible_ || o.collapse == 0) return "rate";
    // Handshakes completing elsewhere (DNAT): no ratio to read, no normal
    // yet: only a rate no busy service plausibly has at its start.
    if (!p.ratio_visible) return w.rate >= o.factor * o.floor * scale ? "rate" : "";
    return collapsed_young ? "completion_ratio" : "";
  }
  if (w.rate >= o.factor * scale * p.normal_rate) return "rate";
  if (handshakes_visible_ && p.ratio_visible && o.collapse > 0 && p.ratio_known &&
      w.ratio < o.collapse * p.normal_ratio) {
    return "completion_ratio";
  }
  return "";
}

void PortFloodDetector::learn(Port& p, const Tick& t, double dt_s) {
  // A plain mean over the port's first learn_window, a moving average after:
  // the normal is right from the first samples, not rising from zero.
  p.learned_s += dt_s;
  const double horizon = std::min(secondsOf(options_.learn_window), p.learned_s);
  const double alpha = std::min(1.0, dt_s / horizon);
  p.normal_rate += alpha * (static_cast<double>(t.attempts) / dt_s - p.normal_rate);
  const Window w = measure(p);
  if (w.attempts >= kRatioMinAttempts) {
    if (!p.ratio_known) {
      p.normal_ratio = w.ratio;
      p.ratio_known = true;
    } else {
      p.normal_ratio += alpha * (w.ratio - p.normal_ratio);
    }
  }
}

void PortFloodDetector::probe(Port& p, const Window& w, uint64_t now_ns) {
  if (probe_ == nullptr || !handshakes_visible_ || options_.collapse == 0) return;
  if (w.rate < options_.floor / 2 || w.ratio >= options_.collapse) return;
  // A port with a listener keeps it (asked once); one without is asked again.
  if (p.probed_ns != 0 && (p.ratio_visible || now_ns - p.probed_ns < kListenerRecheck)) return;
  p.probed_ns = now_ns;
  p.ratio_visible = probe_->listening(p.dst, p.port);
}

void PortFloodDetector::step(Port& p, uint64_t now_ns, std::vector<PortFloodEvent>* out) {
  const Window w = measure(p);
  probe(p, w, now_ns);
  const Tick& newest = p.ticks.back();
  if (!p.flood) {
    const std::string reason = exceeds(p, w, now_ns, 1.0);
    if (reason.empty()) {
      // A tick that alone would pass the test is the start of a flood still
      // filling the window: never learned as normal.
      const double dt = static_cast<double>(newest.ns - newest.start_ns) / 1e9;
      Window tick;
      tick.rate = dt > 0 ? static_cast<double>(newest.attempts) / dt : 0;
      tick.ratio = newest.attempts ? std::min(1.0, static_cast<double>(newest.completions) /
                                                       static_cast<double>(newest.attempts))
                                   : 1.0;
      if (dt > 0 && exceeds(p, tick, now_ns, 1.0).empty()) learn(p, newest, dt);
      return;
    }
    PortFlood f;
    f.dst = p.dst;
    f.dst_port = p.port;
    f.reason = reason;
    // Its start: the oldest of the newest ticks that ran at half the floor or more.
    f.first_ns = newest.start_ns;
    for (auto it = p.ticks.rbegin(); it != p.ticks.rend(); ++it) {
      const double dt = static_cast<double>(it->ns - it->start_ns) / 1e9;
      if (dt <= 0 || static_cast<double>(it->attempts) / dt < options_.floor / 2) break;
      f.first_ns = it->start_ns;
    }
    f.detected_ns = now_ns;
    f.in_warmup = now_ns - p.first_seen_ns < static_cast<uint64_t>(options_.warmup.count());
    f.rate = f.peak_rate = w.rate;
    f.normal_rate = p.normal_rate;
    f.distinct_sources = f.peak_distinct_sources = w.distinct;
    f.completion_ratio = w.ratio;
    f.top_prefixes = w.top;
    p.flood_hll = {};
    for (const Tick& t : p.ticks) {
      if (t.start_ns < f.first_ns) continue;
      f.attempts += t.attempts;
      f.completions += t.completions;
      hllMerge(p.flood_hll, t.hll);
    }
    f.total_distinct_sources = distinctOf(p.flood_hll, f.attempts);
    p.flood = f;
    p.quiet_since_ns = 0;
    out->push_back({PortFloodEvent::Kind::kDetected, f});
    return;
  }
  PortFlood& f = *p.flood;
  f.attempts += newest.attempts;
  f.completions += newest.completions;
  hllMerge(p.flood_hll, newest.hll);
  f.total_distinct_sources = distinctOf(p.flood_hll, f.attempts);
  f.rate = w.rate;
  f.completion_ratio = w.ratio;
  f.distinct_sources = w.distinct;
  f.peak_distinct_sources = std::max(f.peak_distinct_sources, w.distinct);
  if (w.rate > f.peak_rate) {
    f.peak_rate = w.rate;
    f.top_prefixes = w.top;
  }
  if (!exceeds(p, w, now_ns, 0.5).empty()) {
    p.quiet_since_ns = 0;
    return;
  }
  if (p.quiet_since_ns == 0) p.quiet_since_ns = now_ns;
  if (now_ns - p.quiet_since_ns < static_cast<uint64_t>(options_.end_after.count())) return;
  f.ended_ns = now_ns;
  f.completion_ratio =
      f.attempts ? std::min(1.0, static_cast<double>(f.completions) / f.attempts) : 1.0;
  out->push_back({PortFloodEvent::Kind::kEnded, f});
  p.flood.reset();
  p.quiet_since_ns = 0;
}

std::vector<PortFloodEvent> PortFloodDetector::onSamples(uint64_t now_ns,
                                                         const std::vector<DstSample>& samples) {
  std::vector<PortFloodEvent> out;
  if (!options_.enabled) return out;
  const auto window = static_cast<uint64_t>(options_.rate_window.count());
  for (auto& [key, p] : ports_) p.seen = false;
  for (const DstSample& s : samples) {
    std::array<uint8_t, 16> a;
    std::memcpy(a.data(), s.addr.b, 16);
    auto [it, fresh] = ports_.try_emplace({a, s.port});
    Port& p = it->second;
    if (fresh) {
      p.dst = s.addr;
      p.port = s.port;
      p.first_seen_ns = now_ns;
    }
    Tick t;
    // A new destination's first tick began at the previous harvest (whose
    // interval varies: kDstIdleInterval on an idle host).
    const uint64_t previous = last_harvest_ns_
                                  ? last_harvest_ns_
                                  : now_ns - std::min<uint64_t>(now_ns, kDstSampleInterval.count());
    t.start_ns = p.last_ns ? p.last_ns : previous;
    t.ns = now_ns;
    // The entry may have been given to another destination and back: a
    // count lower than the last one started again from zero.
    t.attempts = s.attempts >= p.last_attempts ? s.attempts - p.last_attempts : s.attempts;
    t.completions =
        s.completions >= p.last_completions ? s.completions - p.last_completions : s.completions;
    t.bank_attempts = s.bank_attempts;
    t.hll = s.hll;
    t.hh = s.hh;
    p.last_attempts = s.attempts;
    p.last_completions = s.completions;
    p.ticks.push_back(t);
    p.seen = true;
  }
  for (auto it = ports_.begin(); it != ports_.end();) {
    Port& p = it->second;
    if (!p.seen) {
      // Out of the table (its entry reused): it sends nothing we see.
      Tick t;
      t.start_ns = p.last_ns ? p.last_ns : now_ns;
      t.ns = now_ns;
      p.ticks.push_back(t);
      p.last_attempts = p.last_completions = 0;
    }
    p.last_ns = now_ns;
    while (!p.ticks.empty() && p.ticks.front().ns + window <= now_ns) p.ticks.pop_front();
    if (p.ticks.empty()) p.ticks.push_back(Tick{now_ns, now_ns, 0, 0, 0, {}, {}});
    step(p, now_ns, &out);
    // Forget a destination gone from the table for a learn window.
    if (!p.seen && !p.flood && p.last_seen_ns + options_.learn_window.count() < now_ns) {
      it = ports_.erase(it);
      continue;
    }
    if (p.seen) p.last_seen_ns = now_ns;
    ++it;
  }
  last_harvest_ns_ = now_ns;
  return out;
}

std::vector<PortFlood> PortFloodDetector::active() const {
  std::vector<PortFlood> out;
  for (const auto& [key, p] : ports_) {
    if (p.flood) out.push_back(*p.flood);
  }
  return out;
}

double PortFloodDetector::normalRate(const sg_addr& dst, uint16_t port) const {
  std::array<uint8_t, 16> a;
  std::memcpy(a.data(), dst.b, 16);
  auto it = ports_.find({a, port});
  return it == ports_.end() ? 0 : it->second.normal_rate;
}

}  // namespace sg
