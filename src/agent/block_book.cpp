#include "agent/block_book.h"

#include <algorithm>
#include <cstring>
#include <optional>

#include "core/tracker.h"
#include "sg_handshake.h"

namespace sg::agent {

namespace {

uint64_t toMs(uint64_t ns) { return ns / 1'000'000; }

// A sensor that does not say how its clock ticks: the coarsest Linux tick
// (HZ=100), so that the rate errs low there too.
constexpr uint64_t kCoarsestTickNs = 10'000'000;

// Attempts per second over the span the kernel counted them in (its event's
// first_ns to ts_ns); 0 when the event did not say (a block adopted late).
// The program's clock ticks in jiffies (1 ms at HZ=1000, 4 ms at 250, 10 ms
// at 100): a span shorter than one tick (read as 0) is taken over a whole
// tick, so the rate errs low.
uint64_t observedRate(uint32_t count, uint64_t span_ns, uint64_t tick_ns) {
  if (span_ns == 0) return 0;
  return count * 1'000'000'000ull / std::max(span_ns, tick_ns != 0 ? tick_ns : kCoarsestTickNs);
}

}  // namespace

size_t BlockBook::KeyHash::operator()(const sg_addr& a) const {
  uint64_t lo = 0, hi = 0;
  std::memcpy(&lo, a.b, 8);
  std::memcpy(&hi, a.b + 8, 8);
  return std::hash<uint64_t>()(lo * 0x9e3779b97f4a7c15ull ^ hi);
}

bool BlockBook::KeyEq::operator()(const sg_addr& a, const sg_addr& b) const {
  return std::memcmp(a.b, b.b, sizeof a.b) == 0;
}

BlockBook::BlockBook(SensorPort& sensor, Enforcer* enforcer, EventLog& log, Clock& clock,
                     const AgentConfig& config, IfName ifname, Clock* mono)
    : mono_(mono != nullptr ? mono : &default_mono_),
      sensor_(sensor),
      enforcer_(enforcer),
      log_(log),
      clock_(clock),
      config_(config),
      ifname_(std::move(ifname)) {}

std::string BlockBook::source(const sg_addr& key) const {
  return formatSource(Address{key}, static_cast<uint8_t>(config_.ipv6_prefix));
}

nlohmann::json BlockBook::describe(const sg_addr& key, const sg_block& b) const {
  uint64_t now = clock_.nowNs();
  nlohmann::json j;
  j["src"] = source(key);
  j["dst_port"] = b.dst_port;
  j["count"] = b.count;
  if (isPermanent(b)) {
    j["permanent"] = true;
  } else {
    j["block_ms"] = toMs(b.expires_ns - b.added_ns);
    j["remaining_ms"] = b.expires_ns > now ? toMs(b.expires_ns - now) : 0;
  }
  j["level"] = b.level;
  if (const char* t = blockReasonName(b.flags)) j["threshold"] = t;
  j["dropped"] = b.drops;
  j["origin"] = (b.flags & SG_BLK_MANUAL) ? "manual" : "detector";
  j["enforced_by"] = (b.flags & SG_BLK_HANDED_OFF)                      ? "nftables"
                     : (b.flags & (SG_BLK_XDP_DROP | SG_BLK_CHALLENGE)) ? "xdp"
                                                                        : "none";
  j["response"] = responseName(b);
  return j;
}

nlohmann::json BlockBook::expiredFields(const sg_addr& key, const sg_block& b) const {
  // "dropped" counts XDP drops; with the nftables enforcer, drops after the
  // hand-off are in the table's rule counters (nft list table inet syn_guard).
  nlohmann::json f{{"src", source(key)},
                   {"dst_port", b.dst_port},
                   {"count", b.count},
                   {"level", b.level},
                   {"block_ms", toMs(b.expires_ns - b.added_ns)},
                   {"dropped", b.drops},
                   {"origin", (b.flags & SG_BLK_MANUAL) ? "manual" : "detector"}};
  if (const char* t = blockReasonName(b.flags)) f["threshold"] = t;
  f["response"] = responseName(b);
  return f;
}

BlockBook::HandOff BlockBook::handOff(const sg_addr& key, Known& k) {
  HandOff h;
  // A challenge is no block: its source may be forged (bpf/sg_challenge.h).
  if (enforcer_ == nullptr || isPermanent(k.block) || (k.block.flags & SG_BLK_CHALLENGE)) return h;
  uint64_t now = clock_.nowNs();
  BlockSpec spec{Address{key}, static_cast<uint8_t>(config_.ipv6_prefix),
                 Nanos(k.block.expires_ns > now ? k.block.expires_ns - now : 0)};
  if (spec.ttl.count() <= 0) return h;
  h.tried = true;
  // On either failure XDP keeps dropping (no hand-off): the block still holds.
  auto r = enforcer_->block(spec);
  if (!r) {
    h.block_error = r.error();
  } else if (auto m = sensor_.markHandedOff(key); !m) {
    h.mark_error = m.error();
  } else {
    k.block.flags |= SG_BLK_HANDED_OFF;
  }
  return h;
}

void BlockBook::noteHandOff(const HandOff& h, const nlohmann::json& src) {
  if (!h.tried) return;
  const nlohmann::json xdp_keeps{{"src", src}, {"effect", "XDP keeps dropping the source"}};
  const std::string what = std::string(enforcer_->name()) + " block";
  if (h.block_error) {
    noteFailure(block_errors_, counters_.enforcer_errors, what, h.block_error->message(),
                xdp_keeps);
    return;
  }
  noteSuccess(block_errors_, what);
  if (h.mark_error) {
    noteFailure(handoff_errors_, counters_.enforcer_errors, "marking the block handed off",
                h.mark_error->message(), xdp_keeps);
  } else {
    noteSuccess(handoff_errors_, "marking the block handed off");
  }
}

void BlockBook::adopt(const sg_addr& key, const sg_block& b, uint32_t ifindex,
                      uint64_t detected_mono_ns, bool late, uint64_t span_ns) {
  Known k{b, ifindex};
  nlohmann::json f;
  f["src"] = source(key);
  f["dst_port"] = b.dst_port;
  f["count"] = b.count;
  f["window_ms"] = toMs(static_cast<uint64_t>(config_.window.count()));
  // The rate observed: count over the time since the first attempt counted
  // (not count / window: a 5,000/s burst crosses 200 in 40 ms).
  if (const uint64_t rate = observedRate(b.count, span_ns, sensor_.clockTickNs()); rate != 0) {
    f["rate"] = rate;
    f["span_ms"] = toMs(span_ns);
  }
  f["block_ms"] = toMs(b.expires_ns - b.added_ns);
  f["level"] = b.level;
  // Which threshold it crossed: half_open (attempts - completed handshakes)
  // or connections (all attempts); absent with handshake-aware counting off.
  if (const char* t = blockReasonName(b.flags)) f["threshold"] = t;
  // "challenge": its SYNs are answered with XDP SYN cookies, not dropped.
  f["response"] = responseName(b);
  if (ifindex) f["interface"] = ifname_(ifindex);
  bool enforced = config_.enforcer != EnforcerKind::kNone;
  f["enforced"] = enforced;
  if (late) f["late"] = true;
  noteChallenge(key, b);
  if (!enforced) {
    log_.emit("flood_detected", f);
    known_[key] = k;
    return;
  }
  // The enforcer first, the log after: writing log lines is not on the path
  // between detection and the block being in place.
  const HandOff hand_off = handOff(key, k);
  f["enforcer"] = enforcer_ != nullptr ? enforcer_->name() : "xdp";
  // Measured from detection (the kernel's CLOCK_MONOTONIC reading): to the
  // block held by nftables (latency_us); with XDP, which dropped the crossing
  // attempt itself (tests/bpf, tests/netns show it), to the agent notified
  // (notified_us). No event, no detection time: neither is reported.
  uint64_t elapsed_us = 0;
  if (detected_mono_ns != 0) {
    uint64_t done = mono_->nowNs();
    elapsed_us = done > detected_mono_ns ? (done - detected_mono_ns) / 1000 : 0;
  }
  log_.emit("flood_detected", f);
  noteHandOff(hand_off, f["src"]);
  if (detected_mono_ns != 0) f[enforcer_ != nullptr ? "latency_us" : "notified_us"] = elapsed_us;
  f["origin"] = (b.flags & SG_BLK_MANUAL) ? "manual" : "detector";
  known_[key] = k;
  log_.emit("block_added", f);
}

void BlockBook::noteFailure(ErrorOnce& once, uint64_t& counter, const std::string& what,
                            const std::string& message, nlohmann::json f) {
  counter++;
  if (!once.failed()) return;
  f["message"] = what + ": " + message;
  f["note"] = "further failures are counted in the metrics and logged when they stop";
  log_.emit("error", f);
}

void BlockBook::noteSuccess(ErrorOnce& once, const std::string& what) {
  if (uint64_t n = once.succeeded(); n > 0) {
    log_.emit("recovered", {{"what", what}, {"failed", n}});
  }
}

uint64_t BlockBook::enforcerDrops() {
  if (enforcer_ == nullptr) return 0;
  auto n = enforcer_->droppedPackets();
  if (!n) {
    noteFailure(read_errors_, counters_.enforcer_read_errors, "reading the enforcer's drop counter",
                n.error().message(),
                {{"effect", "dropped_total leaves out the enforcer's newest drops"}});
    return enforcer_drops_;  // a counter never goes down
  }
  noteSuccess(read_errors_, "reading the enforcer's drop counter");
  enforcer_drops_ = std::max(enforcer_drops_, *n);
  return enforcer_drops_;
}

void BlockBook::onKernelEvent(const sg_event& ev) {
  counters_.events_handled++;
  if (ev.type == SG_EV_PRESSURE) {
    counters_.pressure_events++;
    nlohmann::json f{{"new_sources", ev.count},
                     {"note",
                      "new sources arrive faster than admit_per_sec: spoofed flood "
                      "likely; per-source tracking is gated by the sketch"}};
    if (ev.ifindex) f["interface"] = ifname_(ev.ifindex);
    log_.emit("source_pressure", f);
    return;
  }
  if (ev.type != SG_EV_BLOCK_ADDED && ev.type != SG_EV_FLAGGED && ev.type != SG_EV_CHALLENGED) {
    return;
  }
  if (auto it = known_.find(ev.src); it != known_.end()) {
    if (it->second.block.added_ns == ev.ts_ns) return;  // already adopted by reconcile
    // A new block for a known source: its previous block ended and the
    // kernel deleted it on a packet before our sweep (a flooder re-crosses
    // at once). End the old one here, then adopt the new one.
    expire(ev.src, it->second.block);
  }
  sg_block b{};
  b.added_ns = ev.ts_ns;
  b.expires_ns = ev.ts_ns + ev.block_ns;
  b.count = ev.count;
  b.dst_port = ev.dst_port;
  b.level = ev.level;
  b.flags = ev.type == SG_EV_BLOCK_ADDED  ? SG_BLK_XDP_DROP
            : ev.type == SG_EV_CHALLENGED ? SG_BLK_CHALLENGE
                                          : 0;
  if (ev.reason == SG_REASON_HALF_OPEN) b.flags |= SG_BLK_HALF_OPEN;
  if (ev.reason == SG_REASON_CONNECTIONS) b.flags |= SG_BLK_CONNECTIONS;
  // A span under one tick reads as 0: keep it known (observedRate floors it).
  const uint64_t span_ns = ev.first_ns != 0 && ev.first_ns <= ev.ts_ns
                               ? std::max<uint64_t>(ev.ts_ns - ev.first_ns, 1)
                               : 0;
  adopt(ev.src, b, ev.ifindex, ev.mono_ns, false, span_ns);
  syncChallenges();
}

void BlockBook::expire(const sg_addr& key, const sg_block& b) {
  noteChallenge(key, b);
  counters_.blocks_expired++;
  log_.emit("block_expired", expiredFields(key, b));
  known_.erase(key);  // last: `b` may be the erased entry's block
}

void BlockBook::sweep() {
  uint64_t now = clock_.nowNs();
  last_sweep_ns_ = now;
  auto expired = sensor_.sweepExpired(now);
  if (expired.ok()) {
    for (const auto& e : *expired) {
      noteChallenge(e.key, e.block);
      counters_.blocks_expired++;
      known_.erase(e.key);
      log_.emit("block_expired", expiredFields(e.key, e.block));
    }
  }
  sweepPrefixes(now);
  auto table = sensor_.listBlocks();
  if (!table.ok()) return;
  std::unordered_map<sg_addr, sg_block, KeyHash, KeyEq> present;
  for (const auto& e : *table) present[e.key] = e.block;
  // Known blocks the kernel no longer holds, or holds as a newer block: it
  // deleted them on a packet after their expiry.
  for (auto it = known_.begin(); it != known_.end();) {
    auto p = present.find(it->first);
    if (p == present.end() || p->second.added_ns != it->second.block.added_ns) {
      noteChallenge(it->first, it->second.block);
      counters_.blocks_expired++;
      log_.emit("block_expired", expiredFields(it->first, it->second.block));
      it = known_.erase(it);
      continue;
    }
    it->second.block.drops = p->second.drops;
    if (it->second.block.expires_ns <= now + kFinalSyncNs) it->second.final_synced = true;
    ++it;
  }
  // Blocks the kernel holds that no event told us of (event budget spent).
  for (const auto& [key, b] : present) {
    if (!known_.count(key) && b.expires_ns > now) {
      counters_.late_blocks++;
      adopt(key, b, 0, 0, true);  // no event: no detection time to measure from
    }
  }
  syncChallenges(true);
}

uint64_t BlockBook::nextExpiryNs() const {
  uint64_t next = 0;
  for (const auto& [key, k] : known_) {
    if (next == 0 || k.block.expires_ns < next) next = k.block.expires_ns;
  }
  for (const auto& [prefix, b] : prefixes_) {
    if (next == 0 || b.expires_ns < next) next = b.expires_ns;
  }
  return next;
}

uint64_t BlockBook::nextSweepNs() const {
  uint64_t next = last_sweep_ns_ + (known_.empty() ? kIdleReconcileNs : kReconcileNs);
  // A prefix block stays in the kernel (ignored) until the sweep removes it,
  // its count with it: the sweep just after its expiry reads both.
  for (const auto& [prefix, b] : prefixes_) {
    if (b.expires_ns == kPermanentNs) continue;
    const uint64_t at =
        b.expires_ns > UINT64_MAX - kExpirySlackNs ? UINT64_MAX : b.expires_ns + kExpirySlackNs;
    next = std::min(next, at);
  }
  for (const auto& [key, k] : known_) {
    if (isPermanent(k.block)) continue;
    const uint64_t e = k.block.expires_ns;
    uint64_t at = 0;
    if (!k.final_synced && e > kFinalSyncNs) {
      at = e - kFinalSyncNs;
    } else {
      // Just after the expiry: the kernel's coarse clock must have passed it.
      at = e > UINT64_MAX - kExpirySlackNs ? UINT64_MAX : e + kExpirySlackNs;
    }
    next = std::min(next, at);
  }
  return next;
}

Result<nlohmann::json> BlockBook::block(const Address& src, Nanos duration, bool permanent) {
  if (config_.enforcer == EnforcerKind::kNone) {
    return Error(Errc::kInvalidArgument, "this agent runs with --enforcer none: it only detects");
  }
  for (const auto& p : config_.allow) {
    if (p.contains(src)) {
      return Error(Errc::kInvalidArgument,
                   src.str() + " is on the allowlist (" + p.str() + "): not blocked");
    }
  }
  Address key = sourceKey(src, static_cast<uint8_t>(config_.ipv6_prefix));
  uint64_t now = clock_.nowNs();
  sg_block b{};
  b.added_ns = now;
  b.expires_ns = permanent ? kPermanentNs : now + static_cast<uint64_t>(duration.count());
  b.flags = SG_BLK_MANUAL | SG_BLK_XDP_DROP;
  if (enforcer_ != nullptr && !permanent) {
    SG_TRY(enforcer_->block({key, static_cast<uint8_t>(config_.ipv6_prefix), duration}));
    b.flags |= SG_BLK_HANDED_OFF;
  }
  SG_TRY(sensor_.addBlock(key.raw, b));
  counters_.manual_blocks++;
  auto previous = known_.find(key.raw);
  const bool was_permanent = previous != known_.end() && isPermanent(previous->second.block);
  if (previous != known_.end()) noteChallenge(key.raw, previous->second.block);
  known_[key.raw] = Known{b, 0};
  syncChallenges();  // a challenge it replaces is disarmed
  if (permanent || was_permanent) {
    if (auto saved = saveState(); !saved) {
      return saved.error().context("the block is in force, but not saved for the next start");
    }
  }
  nlohmann::json f = describe(key.raw, b);
  log_.emit("block_added", f);
  return f;
}

Result<void> BlockBook::saveState() {
  if (store_ == nullptr) return Ok{};
  SavedBlocks saved;
  for (const auto& [key, k] : known_) {
    if (isPermanent(k.block)) saved.sources.push_back(source(key));
  }
  std::sort(saved.sources.begin(), saved.sources.end());
  for (const auto& [prefix, b] : prefixes_) {
    if (b.expires_ns == kPermanentNs) saved.prefixes.push_back(prefix.str());
  }
  return store_->save(saved);
}

void BlockBook::restore() {
  const uint64_t now = clock_.nowNs();
  if (auto table = sensor_.listBlocks(); table.ok()) {
    for (const auto& e : *table) {
      if (e.block.expires_ns <= now) continue;  // the first sweep removes it
      if (e.block.flags & SG_BLK_CHALLENGE) {
        restoreChallenge(e.key, e.block);
        continue;
      }
      Known k{e.block, 0};
      const HandOff hand_off = handOff(e.key, k);
      known_[e.key] = k;
      nlohmann::json f = describe(e.key, k.block);
      f["from"] = "pinned table";
      log_.emit("block_restored", f);
      noteHandOff(hand_off, f["src"]);
    }
  } else {
    log_.emit("error", {{"message", "reading the block table: " + table.error().message()}});
  }
  syncChallenges();  // the pinned challenges armed now, not at the first sweep
  auto saved = store_ != nullptr ? store_->load() : Result<SavedBlocks>(SavedBlocks{});
  if (!saved) {
    log_.emit("error", {{"message", "permanent blocks not restored: " + saved.error().message()}});
    restorePrefixes({});
    return;
  }
  for (const std::string& text : saved->sources) {
    if (auto r = restoreSaved(text); !r) {
      log_.emit("error", {{"src", text}, {"message", r.error().message()}});
    }
  }
  restorePrefixes(saved->prefixes);
}

// A challenge of the pinned table: never handed to an enforcer (the source
// may be forged: a challenge, not a block, was chosen for it); armed by this
// agent when it can, else lifted (the source counted afresh under the
// current config).
void BlockBook::restoreChallenge(const sg_addr& key, const sg_block& b) {
  if (!challengesUsable()) {
    known_[key] = Known{b, 0};  // should the lift fail, the sweeps retry it
    liftChallenge(key, "this agent cannot arm challenges", "pinned table");
    return;
  }
  known_[key] = Known{b, 0};
  chal_dirty_ = true;
  nlohmann::json f = describe(key, b);
  f["from"] = "pinned table";
  log_.emit("block_restored", f);
}

Result<void> BlockBook::restoreSaved(const std::string& text) {
  Address addr;
  if (text.find('/') == std::string::npos) {
    auto a = parseAddress(text);
    if (!a) return a.error();
    addr = *a;
  } else {
    auto p = parsePrefix(text);
    if (!p) return p.error();
    // Re-masking a prefix saved under another counting length would block a
    // wider range than the operator chose (or, narrower, nothing at all).
    if (!p->addr.isV4() && p->bits != config_.ipv6_prefix) {
      return makeError(Errc::kInvalidArgument,
                       text + " was saved with the counting prefix /" + std::to_string(p->bits) +
                           ", the agent now counts /" + std::to_string(config_.ipv6_prefix) +
                           ": not restored (block it again if it is still wanted)");
    }
    addr = p->addr;
  }
  const Address key = sourceKey(addr, static_cast<uint8_t>(config_.ipv6_prefix));
  auto it = known_.find(key.raw);
  if (it != known_.end() && isPermanent(it->second.block)) return Ok{};
  sg_block b{};
  b.added_ns = clock_.nowNs();
  b.expires_ns = kPermanentNs;
  b.flags = SG_BLK_MANUAL | SG_BLK_XDP_DROP;
  SG_TRY(sensor_.addBlock(key.raw, b));
  if (it != known_.end()) noteChallenge(key.raw, it->second.block);
  known_[key.raw] = Known{b, 0};
  nlohmann::json f = describe(key.raw, b);
  f["from"] = "state file";
  log_.emit("block_restored", f);
  return Ok{};
}

Result<nlohmann::json> BlockBook::unblock(const Address& src) {
  Address key = sourceKey(src, static_cast<uint8_t>(config_.ipv6_prefix));
  auto existed = sensor_.removeBlock(key.raw);
  if (!existed) return existed.error();
  if (enforcer_ != nullptr)
    SG_TRY(enforcer_->unblock(key, static_cast<uint8_t>(config_.ipv6_prefix)));
  auto it = known_.find(key.raw);
  const bool was_known = it != known_.end();
  const bool was_permanent = was_known && isPermanent(it->second.block);
  if (was_known) {
    noteChallenge(it->first, it->second.block);
    known_.erase(it);
  }
  syncChallenges();
  if (!*existed && !was_known) {
    return Error(Errc::kNotFound, source(key.raw) + " is not blocked");
  }
  if (was_permanent) {
    if (auto saved = saveState(); !saved) {
      return saved.error().context("unblocked, but the state file still holds it");
    }
  }
  counters_.blocks_removed++;
  nlohmann::json f{{"src", source(key.raw)}, {"reason", "manual"}};
  log_.emit("block_removed", f);
  return f;
}

Result<nlohmann::json> BlockBook::blocksJson() {
  auto table = sensor_.listBlocks();
  if (!table) return table.error();
  uint64_t now = clock_.nowNs();
  nlohmann::json arr = nlohmann::json::array();
  for (const auto& e : *table) {
    if (e.block.expires_ns <= now) continue;
    arr.push_back(describe(e.key, e.block));
  }
  auto prefixes = sensor_.listPrefixBlocks();
  if (!prefixes) return prefixes.error();
  for (const auto& e : *prefixes) {
    if (e.block.expires_ns <= now) continue;
    arr.push_back(describePrefix(e.prefix, e.block));
  }
  return arr;
}

}  // namespace sg::agent
