#include "core/exact_tracker.h"

#include <cstring>
#include <map>

#include "sg_track.h"

namespace sg {

size_t ExactTracker::AddrHash::operator()(const sg_addr& a) const {
  return static_cast<size_t>(sg_addr_hash(&a, &kDefaultHashKey));
}

bool ExactTracker::AddrEq::operator()(const sg_addr& a, const sg_addr& b) const {
  return std::memcmp(a.b, b.b, sizeof(a.b)) == 0;
}

bool ExactTracker::allowed(const sg_addr& key) const {
  Address a;
  a.raw = key;
  for (const Prefix& p : options_.allow) {
    if (p.contains(a)) return true;
  }
  return false;
}

// The crossing: a block (or a flag) with the kernel's duration and level
// rules; count and port are exact (the attempts in the window, and the port
// most of them targeted; the lowest port on a tie).
Verdict ExactTracker::cross(Source* src, const sg_addr& key, uint64_t now,
                            std::vector<sg_event>* events) {
  const sg_config& cfg = options_.cfg;
  counters_.c[SG_CNT_FLAGGED]++;
  const auto count = static_cast<uint32_t>(src->recent.size());
  std::map<uint16_t, uint32_t> per_port;
  for (const Attempt& a : src->recent) per_port[a.dst_port]++;
  src->recent.clear();  // a block, or an allowlisted crossing, restarts the window
  if (allowed(key)) {
    counters_.c[SG_CNT_ALLOWLISTED]++;
    return Verdict::kPass;
  }
  uint16_t port = 0;
  uint32_t best = 0;
  for (const auto& [p, n] : per_port) {
    if (n > best) {
      port = p;
      best = n;
    }
  }
  sg_block b{};
  sg_source window{};  // the window restart is src->recent.clear() above
  sg_block_plan(&window, &src->history, &cfg, now, &b);
  sg_block_commit(&window, &src->history, &cfg, now, &b);
  b.count = count;
  b.dst_port = port;
  if (cfg.enforce != SG_ENFORCE_NONE) {
    b.flags = SG_BLK_XDP_DROP;
    b.drops = 1;  // this very attempt
    counters_.c[SG_CNT_DROPPED]++;
  }
  blocks_[key] = b;
  counters_.c[SG_CNT_BLOCKS_ADDED]++;
  if (events != nullptr) {
    sg_event e{};
    e.ts_ns = now;
    e.mono_ns = now;
    e.block_ns = b.expires_ns - b.added_ns;
    e.src = key;
    e.type = cfg.enforce != SG_ENFORCE_NONE ? SG_EV_BLOCK_ADDED : SG_EV_FLAGGED;
    e.count = b.count;
    e.dst_port = b.dst_port;
    e.level = b.level;
    events->push_back(e);
    counters_.c[SG_CNT_EVENTS_SENT]++;
  }
  return (b.flags & SG_BLK_XDP_DROP) ? Verdict::kDrop : Verdict::kPass;
}

Verdict ExactTracker::onPacket(const sg_pkt& pkt, uint64_t now_ns, std::vector<sg_event>* events) {
  const sg_config& cfg = options_.cfg;
  counters_.c[SG_CNT_PACKETS]++;
  if (!pkt.has_src) {
    counters_.c[pkt.kind == SG_PKT_NON_IP ? SG_CNT_NON_IP : SG_CNT_MALFORMED]++;
    return Verdict::kPass;
  }
  sg_addr key = pkt.src;
  sg_mask_source(&key, pkt.family, cfg.v6_prefix_len);

  // As the kernel: a block drops attempts only, unless block_scope is "all".
  auto blocked = blocks_.find(key);
  if (blocked != blocks_.end() && (sg_pkt_is_attempt(&pkt) || cfg.block_scope == SG_SCOPE_ALL)) {
    sg_block& b = blocked->second;
    if (now_ns < b.expires_ns) {
      if (b.flags & SG_BLK_XDP_DROP) {
        b.drops++;
        counters_.c[SG_CNT_DROPPED]++;
        return Verdict::kDrop;
      }
      if (sg_pkt_is_attempt(&pkt)) counters_.c[SG_CNT_SYN]++;  // flagged: not counted
      return Verdict::kPass;
    }
    blocks_.erase(blocked);
    counters_.c[SG_CNT_BLOCKS_EXPIRED]++;
  }

  if (pkt.kind == SG_PKT_MALFORMED) counters_.c[SG_CNT_MALFORMED]++;
  if (pkt.kind == SG_PKT_FRAGMENT) counters_.c[SG_CNT_FRAGMENTS]++;
  if (!sg_pkt_is_attempt(&pkt)) return Verdict::kPass;
  counters_.c[SG_CNT_SYN]++;

  auto [it, is_new] = sources_.try_emplace(key);
  if (is_new) counters_.c[SG_CNT_SOURCES_NEW]++;
  Source& src = it->second;
  // An attempt at t is in the window while now - t < window_ns.
  while (!src.recent.empty() && now_ns - src.recent.front().at_ns >= cfg.window_ns) {
    src.recent.pop_front();
  }
  src.recent.push_back({now_ns, pkt.dst_port});
  if (src.recent.size() <= cfg.threshold) return Verdict::kPass;
  return cross(&src, key, now_ns, events);
}

}  // namespace sg
