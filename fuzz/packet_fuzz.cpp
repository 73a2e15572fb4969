// libFuzzer target for the one packet parser (bpf/sg_parse.h, compiled here
// as in the kernel) and the Tracker behind it. The whole input is parsed as
// one Ethernet frame; then it is cut into a sequence of timed frames that go
// through a small Tracker (tiny maps, so eviction, full block map and sketch
// gating are reached). Nothing may crash; the invariants abort.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "core/tracker.h"
#include "sg_parse.h"

namespace {

void require(bool ok) {
  if (!ok) std::abort();
}

sg_pkt parseChecked(const uint8_t* data, size_t size) {
  static const uint8_t kNothing = 0;
  if (size == 0) data = &kNothing;  // the parser adds offsets before comparing
  sg_pkt p;
  const int kind = sg_parse_eth(data, data + size, &p);
  require(kind == p.kind);
  require(p.kind <= SG_PKT_LONG_CHAIN);
  if (p.has_src) require(p.family == 4 || p.family == 6);
  if (!p.has_src) {
    require(p.family == 0 && p.kind != SG_PKT_TCP && p.kind != SG_PKT_OTHER &&
            !sg_pkt_is_evasive(&p));
  }
  if (p.kind != SG_PKT_TCP) require(p.src_port == 0 && p.dst_port == 0 && p.tcp_seq == 0);
  if (p.kind == SG_PKT_LONG_CHAIN) require(p.family == 6);
  if (p.kind == SG_PKT_NON_IP) require(!p.has_src);
  if (p.family == 4) require(p.src.b[10] == 0xff && p.src.b[11] == 0xff);
  return p;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  parseChecked(data, size);
  if (size < 2) return 0;

  sg::TrackerOptions o;
  o.cfg.window_ns = 1'000'000'000;
  o.cfg.block_ns = 2'000'000'000;
  o.cfg.repeat_memory_ns = 10'000'000'000;
  o.cfg.threshold = 1 + data[0] % 4;
  o.cfg.events_per_sec = 3;
  o.cfg.admit_per_sec = 2;
  o.cfg.admit_min = 1 + (data[0] >> 4) % 3;
  o.cfg.enforce = static_cast<uint8_t>(data[1] % 3);
  o.cfg.v6_prefix_len = static_cast<uint8_t>(1 + (data[1] >> 2) % 128);
  o.cfg.max_level = 3;
  o.cfg.enabled = 1;
  o.max_sources = 4;
  o.max_blocks = 2;
  sg::Tracker tracker(o);

  std::vector<sg_event> events;
  uint64_t now = 1ull << 32;
  size_t off = 2;
  while (off + 2 <= size) {
    now += static_cast<uint64_t>(data[off]) << 24;  // 0..4.3 s per step
    const size_t len = data[off + 1];
    off += 2;
    const size_t n = len < size - off ? len : size - off;
    const sg_pkt p = parseChecked(data + off, n);
    off += n;
    events.clear();
    const sg::Verdict v = tracker.onPacket(p, now, &events);
    require(v == sg::Verdict::kPass || v == sg::Verdict::kDrop);
    require(tracker.sourceCount() <= o.max_sources);
    require(tracker.blockCount() <= o.max_blocks);
    for (const sg_event& e : events) {
      require(e.type >= SG_EV_BLOCK_ADDED && e.type <= SG_EV_PRESSURE);
      require(e.ts_ns == now);
    }
  }
  const sg_counters& c = tracker.counters();
  require(c.c[SG_CNT_EVENTS_SENT] + c.c[SG_CNT_EVENTS_SUPPRESSED] <=
          c.c[SG_CNT_BLOCKS_ADDED] + c.c[SG_CNT_SOURCES_NEW] + c.c[SG_CNT_SKETCH_GATED]);
  require(c.c[SG_CNT_SYN] <= c.c[SG_CNT_PACKETS]);
  require(c.c[SG_CNT_BLOCKS_ADDED] + c.c[SG_CNT_ALLOWLISTED] + c.c[SG_CNT_BLOCK_MAP_FULL] ==
          c.c[SG_CNT_FLAGGED]);
  return 0;
}
