// Tracker: bpf/syn_guard.bpf.c's syn_guard_xdp() in user space, decision for
// decision. Each function below names the kernel function it mirrors; the
// arithmetic is the kernel's own (sg_track.h, sg_parse.h), called, not copied.
//
// Map stand-ins:
//   sg_slots        -> slots_: the same 2-way set-associative array (max_sources
//                      rounded up to a power of two), the same set choice,
//                      hit test and replacement (sg_track.h).
//   sg_blocks       -> blocks_: insert of a new key fails when max_blocks are
//                      stored, like a full BPF hash (-E2BIG).
//   sg_epochs       -> epoch_: one CPU (replay models one CPU: the kernel's
//                      per-CPU budgets and races do not arise).
//   sg_sketch_updates -> sketch_updates_, flushed by the same code.
//   sg_sketch       -> sketch_: SG_SKETCH_LINES lines of 64 bytes (allocated
//                      on first use).
//   sg_offenders    -> offenders_: max_blocks entries, least recently written
//                      evicted first.
//   sg_allow        -> options_.allow: LPM lookup of the masked key with
//                      prefixlen 128 = any prefix that contains the key.
//   sg_events       -> *events (never full: EVENTS_LOST stays 0).
//   sg_src_done     -> done_: slot_count_ / 4 entries, least recently
//                      credited evicted first (core/completion_windows.h).
//   sg_block_bits   -> none: the prefilter only skips lookups that would miss,
//                      so looking blocks_ up every time gives the same outcome.
//   sg_block_cache  -> none: it only drops what the lookup would drop (a
//                      block in force that XDP drops), so the same.
#include "core/tracker.h"

#include <cstring>
#include <random>

#include "sg_handshake.h"
#include "sg_track.h"

namespace sg {

const sg_hash_key& processHashKey() {
  static const sg_hash_key key = [] {
    std::random_device entropy;
    auto draw = [&] { return (uint64_t{entropy()} << 32) | entropy(); };
    return sg_hash_key{draw(), draw()};
  }();
  return key;
}

size_t Tracker::AddrHash::operator()(const sg_addr& a) const {
  return static_cast<size_t>(sg_addr_hash(&a, &processHashKey()));
}

bool Tracker::AddrEq::operator()(const sg_addr& a, const sg_addr& b) const {
  return std::memcmp(a.b, b.b, sizeof(a.b)) == 0;
}

namespace {
uint32_t slotCount(uint32_t max_sources) {
  uint32_t n = SG_SLOT_WAYS;
  while (n < max_sources && n < (1u << 24)) n <<= 1;
  return n;
}
}  // namespace

Tracker::Tracker(TrackerOptions options)
    : options_(std::move(options)),
      slot_count_(slotCount(options_.max_sources)),
      done_(slot_count_ / 4) {}

// sg_epoch(): the per-CPU epoch struct, reset when the ~1 s epoch changes.
sg_cpu_epoch& Tracker::epoch(uint64_t now) {
  uint64_t e = now >> SG_EPOCH_SHIFT;
  if (epoch_.epoch != e) {
    epoch_.epoch = e;
    epoch_.events = 0;
    epoch_.admitted = 0;
    epoch_.sketched = 0;
    epoch_.pressure = 0;
  }
  return epoch_;
}

// sg_emit(): budgeted by events_per_sec per epoch.
void Tracker::emit(uint32_t type, const sg_addr& key, uint64_t now, uint32_t count,
                   uint64_t block_ns, uint16_t port, uint8_t level, std::vector<sg_event>* events,
                   uint8_t reason, uint64_t first_ns) {
  sg_cpu_epoch& ep = epoch_;  // the caller has just called epoch(now)
  if (ep.events >= options_.cfg.events_per_sec) {
    counters_.c[SG_CNT_EVENTS_SUPPRESSED]++;
    return;
  }
  ep.events++;
  if (events != nullptr) {
    sg_event e{};
    e.ts_ns = now;
    e.mono_ns = now;  // replay has one clock
    e.block_ns = block_ns;
    e.src = key;
    e.type = type;
    e.count = count;
    e.ifindex = 0;
    e.dst_port = port;
    e.level = level;
    e.reason = reason;
    e.first_ns = first_ns;
    events->push_back(e);
  }
  counters_.c[SG_CNT_EVENTS_SENT]++;
}

// bpf_map_lookup_elem(&sg_allow, {128, key}): longest-prefix match exists.
bool Tracker::allowed(const sg_addr& key) const {
  for (const Prefix& p : options_.allow) {
    unsigned bits = p.bits > 128 ? 128 : p.bits;
    unsigned full = bits / 8, rest = bits % 8;
    if (std::memcmp(key.b, p.addr.raw.b, full) != 0) continue;
    if (rest != 0) {
      auto mask = static_cast<uint8_t>(0xff << (8 - rest));
      if ((key.b[full] & mask) != (p.addr.raw.b[full] & mask)) continue;
    }
    return true;
  }
  return false;
}

// The two sg_slots lookups and sg_slot_holds(): the way that holds the key.
sg_slot* Tracker::findSlot(sg_slot* set, const sg_addr& key) {
  for (uint32_t w = 0; w < SG_SLOT_WAYS; w++) {
    if (sg_slot_holds(&set[w], &key)) return &set[w];
  }
  return nullptr;
}

// sg_admit(): a slot of the set, or nullptr while the sketch gates the source.
sg_slot* Tracker::admit(sg_slot* set, const sg_addr& key, uint64_t h, uint64_t now,
                        std::vector<sg_event>* events) {
  sg_cpu_epoch& ep = epoch(now);
  const sg_config& cfg = options_.cfg;
  if (ep.admitted >= cfg.admit_per_sec) {
    if (!ep.pressure) {
      ep.pressure = 1;
      emit(SG_EV_PRESSURE, key, now, ep.admitted, 0, 0, 0, events);
    }
    // 512 KiB of cells, allocated the first time admission is gated; zeroed
    // cells read as empty whatever the epoch, as the kernel's zeroed global.
    if (sketch_.empty()) sketch_.resize(SG_SKETCH_LINES);
    uint32_t est = sg_sketch_add(sketch_.data(), h, ep.epoch);
    if (++ep.sketched >= SG_SKETCH_BATCH) {
      sg_sketch_flush(&sketch_updates_, ep.epoch, ep.sketched);
      ep.sketched = 0;
    }
    if (!sg_sketch_admits(est, sg_sketch_total(sketch_updates_, ep.epoch) + ep.sketched,
                          cfg.admit_min)) {
      counters_.c[SG_CNT_SKETCH_GATED]++;
      return nullptr;
    }
  }
  ep.admitted++;
  sg_slot* slot = &set[sg_slot_victim(&set[0], &set[1])];
  if (sg_slot_fill(slot, &key, now)) counters_.c[SG_CNT_SLOTS_FILLED]++;
  counters_.c[SG_CNT_SOURCES_NEW]++;
  return slot;
}

// sg_block_verdict(): one more packet of a blocked source.
Verdict Tracker::blockVerdict(sg_block& b) {
  if ((b.flags & (SG_BLK_XDP_DROP | SG_BLK_HANDED_OFF)) == SG_BLK_XDP_DROP) {
    b.drops++;
    counters_.c[SG_CNT_DROPPED]++;
    return Verdict::kDrop;
  }
  return Verdict::kPass;
}

// sg_recheck_block(): the block's verdict, if the source has an active one.
Verdict Tracker::recheckBlock(const sg_addr& key, uint64_t now) {
  auto it = blocks_.find(key);
  if (it == blocks_.end() || now >= it->second.expires_ns) return Verdict::kPass;
  return blockVerdict(it->second);
}

// bpf_map_update_elem(&sg_offenders, BPF_ANY): an LRU hash of max_blocks.
void Tracker::rememberOffence(const sg_addr& key, const sg_offence& h) {
  auto it = offenders_.find(key);
  if (it != offenders_.end()) {
    offender_ages_.erase(it->second.age);
  } else if (offenders_.size() >= options_.max_blocks && !offender_ages_.empty()) {
    offenders_.erase(offender_ages_.back());
    offender_ages_.pop_back();
  }
  offender_ages_.push_front(key);
  offenders_[key] = Offender{h, offender_ages_.begin()};
}

const char* reasonName(uint32_t reason) {
  switch (reason) {
    case SG_REASON_ATTEMPTS:
      return "attempts";
    case SG_REASON_HALF_OPEN:
      return "half_open";
    case SG_REASON_CONNECTIONS:
      return "connections";
    default:
      return "";
  }
}

const char* blockReasonName(uint8_t flags) {
  if (flags & SG_BLK_HALF_OPEN) return "half_open";
  if (flags & SG_BLK_CONNECTIONS) return "connections";
  return nullptr;
}

// sg_src_completed(): credit a completed handshake to its masked source.
void Tracker::onCompletion(const sg_addr& client, uint64_t now_ns) {
  const sg_config& cfg = options_.cfg;
  if (!cfg.enabled || cfg.conn_threshold == 0) return;
  sg_addr key = client;
  sg_completion_key(&key, cfg.v6_prefix_len);
  sg_window_record(&done_.credit(key), now_ns, cfg.window_ns);
  counters_.c[SG_CNT_SRC_COMPLETIONS]++;
}

// sg_src_attempt(): count the attempt; the threshold it crossed, if any.
uint32_t Tracker::attempt(sg_source* src, const sg_addr& key, uint64_t now, uint16_t dst_port) {
  const sg_config& cfg = options_.cfg;
  const uint32_t pos = sg_window_record(&src->win, now, cfg.window_ns);
  sg_vote_port(src, dst_port);
  if (!sg_window_over(&src->win, pos, now, cfg.window_ns, cfg.threshold)) return SG_REASON_NONE;
  if (cfg.conn_threshold == 0) return SG_REASON_ATTEMPTS;
  if (sg_over_connections(&src->win, pos, now, &cfg)) return SG_REASON_CONNECTIONS;
  const uint32_t reason = sg_half_open_reason(&src->win, pos, done_.find(key), now, &cfg);
  if (reason == SG_REASON_NONE) counters_.c[SG_CNT_HALF_OPEN_CREDITED]++;
  return reason;
}

namespace {
// sg_count_reason()
void countReason(sg_counters& c, uint32_t reason) {
  if (reason == SG_REASON_HALF_OPEN) c.c[SG_CNT_FLAGGED_HALF_OPEN]++;
  if (reason == SG_REASON_CONNECTIONS) c.c[SG_CNT_FLAGGED_CONNECTIONS]++;
}
}  // namespace

// sg_cross(): the attempt took the source over its threshold.
Verdict Tracker::cross(sg_source* src, const sg_addr& key, uint64_t now, uint32_t reason,
                       std::vector<sg_event>* events) {
  const sg_config& cfg = options_.cfg;
  if (allowed(key)) {
    counters_.c[SG_CNT_FLAGGED]++;
    counters_.c[SG_CNT_ALLOWLISTED]++;
    countReason(counters_, reason);
    src->win.cur_start_ns = 0;
    return Verdict::kPass;
  }
  sg_offence h{};
  if (auto o = offenders_.find(key); o != offenders_.end()) h = o->second.history;
  sg_block b{};
  sg_block_plan(src, &h, &cfg, now, &b);
  if (cfg.enforce != SG_ENFORCE_NONE) {
    b.flags = SG_BLK_XDP_DROP;
    b.drops = 1;  // this very attempt
  }
  if (reason == SG_REASON_HALF_OPEN || reason == SG_REASON_CONNECTIONS) {
    sg_block_reason(&b, reason, &src->win, done_.find(key), now, cfg.window_ns);
  }
  // bpf_map_update_elem(BPF_NOEXIST): -EEXIST, -E2BIG when full.
  if (blocks_.count(key) != 0) return recheckBlock(key, now);
  counters_.c[SG_CNT_FLAGGED]++;
  countReason(counters_, reason);
  if (blocks_.size() >= options_.max_blocks) {
    counters_.c[SG_CNT_BLOCK_MAP_FULL]++;  // stays over its threshold: every attempt dropped
    if (cfg.enforce == SG_ENFORCE_NONE) return Verdict::kPass;
    counters_.c[SG_CNT_DROPPED]++;
    return Verdict::kDrop;
  }
  blocks_[key] = b;
  const uint64_t first = sg_window_span_start(&src->win, now, cfg.window_ns);  // before the reset
  sg_block_commit(src, &h, &cfg, now, &b);
  rememberOffence(key, h);
  counters_.c[SG_CNT_BLOCKS_ADDED]++;
  if (b.flags & SG_BLK_XDP_DROP) counters_.c[SG_CNT_DROPPED]++;
  epoch(now);
  emit(cfg.enforce != SG_ENFORCE_NONE ? SG_EV_BLOCK_ADDED : SG_EV_FLAGGED, key, now, b.count,
       b.expires_ns - b.added_ns, b.dst_port, b.level, events, static_cast<uint8_t>(reason), first);
  return (b.flags & SG_BLK_XDP_DROP) ? Verdict::kDrop : Verdict::kPass;
}

// syn_guard_xdp(), from the parsed packet on (the parser runs in the caller).
Verdict Tracker::onPacket(const sg_pkt& pkt, uint64_t now_ns, std::vector<sg_event>* events) {
  const sg_config& cfg = options_.cfg;
  if (!cfg.enabled) return Verdict::kPass;
  counters_.c[SG_CNT_PACKETS]++;
  if (!pkt.has_src) {
    counters_.c[pkt.kind == SG_PKT_NON_IP ? SG_CNT_NON_IP : SG_CNT_MALFORMED]++;
    return Verdict::kPass;
  }
  sg_addr key = pkt.src;
  sg_mask_source(&key, pkt.family, cfg.v6_prefix_len);

  // The block check: attempts only, unless the scope is "all".
  if (!blocks_.empty() && (sg_pkt_is_attempt(&pkt) || cfg.block_scope == SG_SCOPE_ALL)) {
    auto it = blocks_.find(key);
    if (it != blocks_.end()) {
      sg_block& b = it->second;
      if (now_ns < b.expires_ns) {
        if (blockVerdict(b) == Verdict::kDrop) return Verdict::kDrop;
        if (sg_pkt_is_attempt(&pkt)) counters_.c[SG_CNT_SYN]++;
        return Verdict::kPass;
      }
      blocks_.erase(it);
      counters_.c[SG_CNT_BLOCKS_EXPIRED]++;
    }
  }

  // sg_pass_other(): the evasive shapes are dropped unless detect-only.
  if (pkt.kind != SG_PKT_TCP) {
    if (pkt.kind == SG_PKT_MALFORMED) {
      counters_.c[SG_CNT_MALFORMED]++;
    } else if (pkt.kind == SG_PKT_FRAGMENT) {
      counters_.c[SG_CNT_FRAGMENTS]++;
    } else if (sg_pkt_is_evasive(&pkt)) {
      counters_.c[pkt.kind == SG_PKT_LONG_CHAIN ? SG_CNT_LONG_CHAINS : SG_CNT_TINY_FRAGMENTS]++;
      if (cfg.enforce != SG_ENFORCE_NONE) return Verdict::kDrop;
    }
    return Verdict::kPass;
  }
  if (!sg_pkt_is_attempt(&pkt)) return Verdict::kPass;
  counters_.c[SG_CNT_SYN]++;

  // 64 B per slot, allocated on the first attempt (zeroed: every slot empty).
  if (slots_.empty()) slots_.resize(slot_count_);
  const uint64_t h = hash(key);
  sg_slot* set = &slots_[sg_slot_first(h, slot_count_ / SG_SLOT_WAYS - 1)];
  sg_slot* slot = findSlot(set, key);
  if (slot == nullptr) {
    slot = admit(set, key, h, now_ns, events);
    if (slot == nullptr) return Verdict::kPass;
  }
  slot->last_ns = now_ns ? now_ns : 1;
  const uint64_t fp =
      sg_syn_fingerprint(&options_.hash_key, pkt.src_port, pkt.dst_port, pkt.tcp_seq);
  if (sg_syn_repeat(&slot->st, &cfg, fp)) {
    counters_.c[SG_CNT_RETRANS_EXCUSED]++;
    return Verdict::kPass;
  }
  const uint32_t reason = attempt(&slot->st, key, now_ns, pkt.dst_port);
  if (reason == SG_REASON_NONE) {
    if (sg_blocked_meanwhile(&slot->st, now_ns)) return recheckBlock(key, now_ns);
    return Verdict::kPass;
  }
  return cross(&slot->st, key, now_ns, reason, events);
}

}  // namespace sg
