// The row table of bench/xdp_cost_bench and the objects its rows run.
//
// "Tracked source" rows send SYNs of one source, each with a new sequence
// number (bpf/bench/track.bpf.c; the rewrite's own cost is a [part] row): a
// frame replayed as is repeats its ports and sequence number, and the program
// takes every copy after the first for a retransmission (excused up to the
// bucket's allowance, then counted after a division): the "repeated" rows,
// which the clock variants keep, price that path.
//
// "Blocks active" rows run against a block map holding 16,384 blocks (the
// map's default size, filled to capacity) with their prefilter bits set
// (1.6 % of the 2^20 bits), from a source whose own bit is clear, as 98.4 %
// of unblocked sources' are; the "its bit set (miss)" [part] rows
// from a source whose bit is set by them (the program looks the block map
// up, and misses). The blocked source's packets after its first are dropped
// through the block cache (bpf/sg_block_cache_bpf.h), as a real blocked
// source's are.
//
// "[cache]" rows alternate two blocked sources (16k blocks active) packet
// by packet, against the same rewrite that passes: with an entry of the
// block cache each, and sharing one (about 39% of a full table's blocks
// share an entry with another): each packet then misses, looks the block up
// and refills the entry, folding the other's drops (a second lookup).
//
// "[prefix]" rows run with 4,096 IPv4 /24 and 4,096 IPv6 /32 prefix blocks
// (bpf/sg_prefix.h; each trie's default size, full), from sources outside
// them (the trie lookup misses) and inside (dropped); every other row runs
// with no prefix block, where the per-packet cost is the gate's one load.
#include "xdp_cost_rows.h"

#include "xdp_cost_objects.h"
// clang-format off
#include "overhead_bench.skel.h"
#include "spoof_bench.skel.h"
#include "spoof_bench_coarse.skel.h"
#include "spoof_bench_fine.skel.h"
#include "syn_guard.skel.h"
#include "syn_guard_coarse.skel.h"
#include "syn_guard_fine.skel.h"
#include "track_bench.skel.h"
// clang-format on

namespace sg::bench {

using sg::test::ackFrom;
using sg::test::buildPacket;
using sg::test::synFrom;
using sg::test::udpFrom;

// Every object a row may run, loaded on first use.
struct CostRows::Objects {
  // The production program plus the tracked-SYN wrappers (bpf/bench/track.bpf.c).
  using Guard = Loaded<track_bench>;
  using Spoof = Loaded<spoof_bench>;
  static std::unique_ptr<Guard> guard() {
    return std::make_unique<Guard>(track_bench__open, track_bench__load, track_bench__destroy,
                                   "track_bench");
  }
  static std::unique_ptr<Spoof> spoofObj(const char* what, uint32_t slots = 65536) {
    return std::make_unique<Spoof>(spoof_bench__open, spoof_bench__load, spoof_bench__destroy, what,
                                   slots);
  }

  Lazy<Guard> quiet{guard};
  Lazy<Guard> busy{[] {  // blocks active: a full block map
    auto l = guard();
    fillBlocks(*l, "10.99.0.1");
    return l;
  }};
  Lazy<Guard> busy_attempts{[] {
    auto l = guard();
    fillBlocks(*l, "10.99.0.1");
    l->setScope(SG_SCOPE_ATTEMPTS);  // the default: non-attempts skip the lookup
    return l;
  }};
  // Prefix blocks (bpf/sg_prefix.h): 4,096 per family, scope "all" (every
  // packet pays the trie lookup) and the default "attempts".
  Lazy<Guard> prefixed{[] {
    auto l = guard();
    fillPrefixes(*l);
    // one /24 an allowlist entry overlaps: its hits look the allowlist up (and miss)
    const uint8_t a4[4] = {10, 15, 255, 0};  // the last of fillPrefixes, replaced
    l->blockPrefix(true, a4, 24, SG_PFX_ALLOW_CHECK);
    return l;
  }};
  Lazy<Guard> prefixed_attempts{[] {
    auto l = guard();
    fillPrefixes(*l);
    l->setScope(SG_SCOPE_ATTEMPTS);
    return l;
  }};
  // One armed challenge (192.0.2.77). Its SYN's row cannot be run here: a
  // test run repeats on the frame the program left, a SYN-ACK after the first
  // XDP_TX; bench/syncookie_bench prices the cookie SYN-ACK itself.
  Lazy<Guard> chal{[] {
    auto l = guard();
    l->setScope(SG_SCOPE_ATTEMPTS);
    l->challenge("192.0.2.77");
    return l;
  }};
  Lazy<Loaded<syn_guard_fine>> fine{[] {
    return std::make_unique<Loaded<syn_guard_fine>>(syn_guard_fine__open, syn_guard_fine__load,
                                                    syn_guard_fine__destroy, "syn_guard_fine");
  }};
  Lazy<Loaded<syn_guard_coarse>> coarse{[] {
    return std::make_unique<Loaded<syn_guard_coarse>>(
        syn_guard_coarse__open, syn_guard_coarse__load, syn_guard_coarse__destroy,
        "syn_guard_coarse");
  }};
  Lazy<Loaded<spoof_bench_coarse>> spoof_coarse{[] {
    return std::make_unique<Loaded<spoof_bench_coarse>>(
        spoof_bench_coarse__open, spoof_bench_coarse__load, spoof_bench_coarse__destroy,
        "spoof_coarse");
  }};
  Lazy<Spoof> spoof{[] { return spoofObj("spoof"); }};
  // The spoofed case with 1,024 slots (64 KiB, cache-resident): prices the
  // cold misses of the set probe in the 4 MiB default array.
  Lazy<Spoof> spoof_small{[] { return spoofObj("spoof_small", 1024); }};
  Lazy<Loaded<spoof_bench_fine>> spoof_fine{[] {
    return std::make_unique<Loaded<spoof_bench_fine>>(
        spoof_bench_fine__open, spoof_bench_fine__load, spoof_bench_fine__destroy, "spoof_fine");
  }};
  Lazy<Loaded<overhead_bench>> ov{[] {
    return std::make_unique<Loaded<overhead_bench>>(overhead_bench__open, overhead_bench__load,
                                                    overhead_bench__destroy, "overhead");
  }};
  // The block cache (bpf/sg_block_cache_bpf.h) with two blocked sources
  // whose packets interleave: apart (each its own entry: both dropped from
  // the cache), or sharing an entry (each packet misses, looks the block up,
  // refills the entry and folds the other's drops: the thrash).
  Lazy<Spoof> apart{[] {
    auto l = spoofObj("spoof_apart");
    alternateBlocked(*l, "10.99.0.1", sourceSharingEntry(*l, "10.99.0.1", false));
    return l;
  }};
  Lazy<Spoof> shared{[] {
    auto l = spoofObj("spoof_shared");
    alternateBlocked(*l, "10.99.0.1", sourceSharingEntry(*l, "10.99.0.1", true));
    return l;
  }};

  // Sources chosen by their prefilter bit in `busy` (found when a row needs
  // them): one sharing a bit with a block, one clear as most unblocked
  // sources' are.
  std::string near, clear;
  const std::string& nearSrc() {
    if (near.empty()) near = sourceWithBit(*busy, true);
    return near;
  }
  const std::string& clearSrc() {
    if (clear.empty()) clear = sourceWithBit(*busy, false);
    return clear;
  }
};

namespace {

FrameFn fixed(Frame f) {
  return [f = std::move(f)] { return f; };
}

}  // namespace

CostRows::CostRows() : o_(std::make_unique<Objects>()) {}
CostRows::~CostRows() = default;

std::vector<Row> CostRows::rows() {
  auto in = [](auto& lazy, const char* name) -> ProgFn {
    return [&lazy, name] { return lazy->prog(name); };
  };
  Objects& o = *o_;
  const Frame syn = buildPacket(synFrom("192.0.2.1"));
  const Frame ack = buildPacket(ackFrom("192.0.2.1"));
  const Frame udp = buildPacket(udpFrom("192.0.2.1"));
  const Frame blocked = buildPacket(ackFrom("10.99.0.1"));
  const Frame syn6 = buildPacket(synFrom("2001:db8::1"));
  // Sources chosen by their prefilter bit in `busy` (found when a row needs them).
  const FrameFn ack_near = [&o] { return buildPacket(ackFrom(o.nearSrc())); };
  const FrameFn syn_near = [&o] { return buildPacket(synFrom(o.nearSrc())); };
  const FrameFn ack_clear = [&o] { return buildPacket(ackFrom(o.clearSrc())); };
  const FrameFn syn_clear = [&o] { return buildPacket(synFrom(o.clearSrc())); };

  const Frame ack_forged = buildPacket(ackFrom("192.0.2.77"));
  const Frame syn_in_prefix = buildPacket(synFrom("10.3.7.9"));
  const Frame ack_in_prefix = buildPacket(ackFrom("10.3.7.9"));
  const Frame syn6_in_prefix = buildPacket(synFrom("2a00:123:4::9"));
  const Frame syn_in_checked = buildPacket(synFrom("10.15.255.9"));
  const ProgFn q = in(o.quiet, "syn_guard_xdp"), b = in(o.busy, "syn_guard_xdp");
  const ProgFn pf = in(o.prefixed, "syn_guard_xdp"), pa = in(o.prefixed_attempts, "syn_guard_xdp");
  const ProgFn ba = in(o.busy_attempts, "syn_guard_xdp"), ch = in(o.chal, "syn_guard_xdp");
  // A tracked source's SYNs, each with a new sequence number (a new attempt,
  // not a retransmission of the last: bpf/bench/track.bpf.c).
  const ProgFn tq = in(o.quiet, "track_syn"), tb = in(o.busy, "track_syn");
  const ProgFn tpf = in(o.prefixed, "track_syn"), tpa = in(o.prefixed_attempts, "track_syn");
  const ProgFn none;
  return {
      {"SYN, tracked source", tq, fixed(syn), none, 2.0},
      {"SYN, tracked IPv6 source", tq, fixed(syn6), none, 2.0},
      {"non-SYN TCP (ACK), no block active", q, fixed(ack), none, 1.3},
      {"non-TCP (UDP), no block active", q, fixed(udp), none, 1.3},
      {"non-SYN TCP (ACK), 16k blocks active", b, ack_clear, none, 2.0},
      {"SYN, tracked source, 16k blocks active", tb, syn_clear, none, 2.0},
      {"packet from a blocked source (16k)", b, fixed(blocked), none, 2.0},
      {"[part] ACK, 16k blocks, its bit set (miss)", b, ack_near, none, 0},
      {"[part] SYN, 16k blocks, its bit set (miss)", tb, syn_near, none, 0},
      {"[part] new sequence number, then pass", in(o.quiet, "track_pass"), fixed(syn), none, 0},
      {"[part] tracked SYN, repeated", q, fixed(syn), none, 0},
      {"SYN, new spoofed source each time", in(o.spoof, "spoof_syn"), fixed(syn), none, 4.0},
      {"[part] spoofed-source rewrite, then pass", in(o.spoof, "spoof_pass"), fixed(syn), none, 0},
      {"[part] SYN, spoofed source, 1024 slots", in(o.spoof_small, "spoof_syn"), fixed(syn), none,
       0},
      {"[part] spoofed SYN, destination counters", in(o.spoof, "spoof_dst"), fixed(syn),
       in(o.spoof, "spoof_pass"), 0},
      {"[scope attempts] ACK, 16k blocks active", ba, ack_near, none, 0},
      {"[scope attempts] ACK from a blocked source", ba, fixed(blocked), none, 0},
      {"[prefix] SYN, tracked, 4k+4k prefixes", tpf, fixed(syn), none, 0},
      {"[prefix] IPv6 SYN, tracked, 4k+4k", tpf, fixed(syn6), none, 0},
      {"[prefix] ACK, 4k+4k, scope all", pf, fixed(ack), none, 0},
      {"[prefix] ACK, 4k+4k, attempts", pa, fixed(ack), none, 0},
      {"[prefix] SYN, tracked, 4k+4k, attempts", tpa, fixed(syn), none, 0},
      {"[prefix] SYN from a blocked /24 (drop)", pf, fixed(syn_in_prefix), none, 0},
      {"[prefix] ACK from a blocked /24, scope all", pf, fixed(ack_in_prefix), none, 0},
      {"[prefix] IPv6 SYN from a blocked /32", pf, fixed(syn6_in_prefix), none, 0},
      {"[prefix] SYN, blocked /24, allowlist check", pf, fixed(syn_in_checked), none, 0},
      {"[cache] 2 blocked sources, own entries", in(o.apart, "spoof_alt"), fixed(blocked),
       in(o.apart, "spoof_alt_pass"), 0},
      {"[cache] 2 blocked sources, entry shared", in(o.shared, "spoof_alt"), fixed(blocked),
       in(o.shared, "spoof_alt_pass"), 0},
      {"[challenge] SYN, tracked source, 1 armed", in(o.chal, "track_syn"), fixed(syn), none, 0},
      {"[challenge] ACK, other source, 1 armed", ch, fixed(ack), none, 0},
      {"[challenge] forged ACK, challenged (drop)", ch, fixed(ack_forged), none, 0},
      {"[fine clock] tracked SYN, repeated", in(o.fine, "syn_guard_xdp"), fixed(syn), none, 0},
      {"[fine clock] SYN, spoofed source", in(o.spoof_fine, "spoof_syn"), fixed(syn), none, 0},
      {"[coarse clock] tracked SYN, repeated", in(o.coarse, "syn_guard_xdp"), fixed(syn), none, 0},
      {"[coarse clock] SYN, spoofed source", in(o.spoof_coarse, "spoof_syn"), fixed(syn), none, 0},
      {"[part] counters+config lookups", in(o.ov, "ov_lookups"), fixed(ack), none, 0},
      {"[part] lookups + PACKETS++", in(o.ov, "ov_lookups_count"), fixed(ack), none, 0},
      {"[part] parse only", in(o.ov, "ov_parse"), fixed(ack), none, 0},
      {"[part] parse SYN", in(o.ov, "ov_parse_syn"), fixed(syn), none, 0},
      {"[part] parse + destination lookup", in(o.ov, "ov_dst_find"), fixed(syn), none, 0},
      {"[part] same + hash, count, sample draw", in(o.ov, "ov_dst_inline"), fixed(syn), none, 0},
      {"[part] parse + hash + destination counters", in(o.ov, "ov_parse_dst"), fixed(syn), none, 0},
      {"[part] parse + unkeyed mix (old hash)", in(o.ov, "ov_hash_unkeyed"), fixed(syn), none, 0},
      {"[part] parse + SipHash-1-3 (the hash)", in(o.ov, "ov_hash_sip13"), fixed(syn), none, 0},
      {"[part] parse + SipHash-2-4", in(o.ov, "ov_hash_sip24"), fixed(syn), none, 0},
      {"[part] parse + sg_blocks lookup (miss)", in(o.ov, "ov_parse_block_lookup"), fixed(ack),
       none, 0},
      {"[part] parse + hash + sg_slots set probe", in(o.ov, "ov_parse_slot_probe"), fixed(ack),
       none, 0},
      {"[part] bpf_ktime_get_coarse_ns", in(o.ov, "ov_coarse_clock"), fixed(ack), none, 0},
      {"[part] bpf_ktime_get_ns", in(o.ov, "ov_fine_clock"), fixed(ack), none, 0},
      {"[part] bpf_jiffies64", in(o.ov, "ov_jiffies"), fixed(ack), none, 0},
      {"[part] bpf_get_prandom_u32", in(o.ov, "ov_prandom"), fixed(ack), none, 0},
  };
}

void CostRows::printSetting() const {
  if (!o_->clear.empty() || !o_->near.empty()) {  // a row ran against `busy`
    std::printf(
        "blocks active: %u blocks, %.1f%% of the prefilter's %u bits set; source %s (bit "
        "clear),\nfalse positive %s (bit set)\n",
        kBlocksActive, 100 * o_->busy->bitsSetShare(), SG_BLOCK_BITS, o_->clear.c_str(),
        o_->near.c_str());
  }
  std::printf(
      "[prefix] rows: %u IPv4 /24 and %u IPv6 /32 prefix blocks; the rows without\n"
      "[prefix] run with none (the gate closed: one load per packet)\n",
      kPrefixesActive, kPrefixesActive);
}

}  // namespace sg::bench
