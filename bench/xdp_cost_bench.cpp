// Reproduce (root; ~2.5 min idle for every row; --only loads just the objects its rows run):
//   cmake -S . -B build-kernel -DSYNGUARD_BENCH=ON &&
//   cmake --build build-kernel -j2 --target xdp_cost_bench &&
//   sudo build-kernel/bin/xdp_cost_bench [--repeat 2000000] [--rounds 7] [--only SUBSTRING|=NAME]
//
// Per-packet cost of the XDP program through BPF_PROG_TEST_RUN (the kernel
// runs one frame `repeat` times and reports the mean), as ns/packet, as the
// marginal ns above a bare XDP_PASS program measured right next to it in the
// same round, and as the ratio of the two. Every row has that same baseline
// (the spoofed row too: its source rewrite is priced in a [part] row of its
// own). Cases and baselines are interleaved, the whole set repeated --rounds
// times, and the median of each column reported. The process is pinned to one
// CPU. The test-run harness costs ~20 ns per run, in the case and in the
// baseline alike: it pulls every ratio toward 1x, which is why the marginal
// ns is printed beside it.
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
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "bpf/packet_builder.h"
#include "bpf/xdp_program.h"
#include "core/kernel_config.h"
#include "linux/xdp_sensor_clock.h"
#include "sg_challenge.h"
#include "sg_shared.h"  // before the skeletons: their .bss names these types
#include "sg_syncookie.h"
#include "sg_track.h"
// clang-format off
#include "overhead_bench.skel.h"
#include "spoof_bench.skel.h"
#include "spoof_bench_coarse.skel.h"
#include "spoof_bench_fine.skel.h"
#include "syn_guard.skel.h"
#include "syn_guard_coarse.skel.h"
#include "syn_guard_fine.skel.h"
#include "track_bench.skel.h"
#include "xdp_pass.skel.h"
// clang-format on

namespace {

using sg::test::buildPacket;
using sg::test::PacketSpec;

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "xdp_cost_bench: %s\n", what.c_str());
  std::exit(1);
}

// Config for measuring steady states: a tracked source never crosses (the
// 1 ms window restarts long before a million attempts).
sg_config benchConfig() {
  sg_config c = sg::toKernelConfig(sg::AgentConfig{});  // the agent's defaults, then:
  c.window_ns = 1'000'000;
  c.block_ns = 3600'000'000'000ull;
  c.threshold = 1'000'000;
  c.block_scope = SG_SCOPE_ALL;  // blocks drop every packet: the rows below price that
  return c;
}

uint64_t nsPerJiffy() {
  static const uint64_t ns = [] {
    auto hz = sg::kernelHz();
    if (!hz.ok()) die(hz.error().message());
    return 1'000'000'000ull / *hz;
  }();
  return ns;
}

sg_addr v4Key(const std::string& text) {
  sg_addr a{};
  std::vector<uint8_t> b = sg::test::addrBytes(text);
  std::memcpy(a.b, b.data(), 16);
  return a;
}

// Any key costs the same; a fixed one keeps runs comparable.
constexpr sg_hash_key kBenchKey{0x0706050403020100ull, 0x0f0e0d0c0b0a0908ull};

// One loaded copy of a program object built from syn_guard.bpf.c (the
// skeletons share member names, so one template serves them all).
template <class S>
struct Loaded {
  S* skel = nullptr;
  void (*destroy)(S*) = nullptr;

  // slots: entries of sg_slots (a power of two; the agent's default 65536).
  Loaded(S* (*open)(), int (*load)(S*), void (*destroy_fn)(S*), const char* what,
         uint32_t slots = 65536)
      : destroy(destroy_fn) {
    skel = open();
    if (skel == nullptr) die(std::string("open ") + what);
    if (bpf_map__set_max_entries(skel->maps.sg_slots, slots) != 0) die("size sg_slots");
    skel->rodata->sg_slot_set_mask = slots / SG_SLOT_WAYS - 1;
    skel->rodata->sg_ns_per_jiffy = nsPerJiffy();
    skel->rodata->sg_hash_key.k0 = kBenchKey.k0;
    skel->rodata->sg_hash_key.k1 = kBenchKey.k1;
    if (load(skel) != 0) die(std::string("load ") + what + " (root needed)");
    const uint32_t zero = 0;
    const sg_config cfg = benchConfig();
    if (bpf_map_update_elem(bpf_map__fd(skel->maps.sg_config_map), &zero, &cfg, BPF_ANY) != 0) {
      die("config");
    }
  }
  ~Loaded() { destroy(skel); }
  void setScope(uint8_t scope) {
    const uint32_t zero = 0;
    sg_config cfg = benchConfig();
    cfg.block_scope = scope;
    if (bpf_map_update_elem(bpf_map__fd(skel->maps.sg_config_map), &zero, &cfg, BPF_ANY) != 0) {
      die("config");
    }
  }
  int prog(const char* name) const {
    bpf_program* p = bpf_object__find_program_by_name(skel->obj, name);
    if (p == nullptr) die(std::string("no program ") + name);
    return bpf_program__fd(p);
  }
  void block(const std::string& src) { block(v4Key(src)); }
  void block(const sg_addr& k) {
    sg_block b{};
    b.added_ns = 1;
    b.expires_ns = ~0ull;
    b.flags = SG_BLK_XDP_DROP;
    if (bpf_map_update_elem(bpf_map__fd(skel->maps.sg_blocks), &k, &b, BPF_ANY) != 0) die("block");
    const uint32_t bit = sg_block_bit(sg_addr_hash(&k, &kBenchKey));
    skel->data_blockbits->sg_block_bits[bit / 64] |= 1ull << (bit % 64);
    skel->data_blockbits->sg_blocks_maybe = 1;
  }
  // An armed challenge of `src` (bpf/sg_challenge.h), as the kernel marks it
  // and the agent arms it: the gate sg_chal.live opens for every packet.
  void challenge(const std::string& src) {
    const sg_addr k = v4Key(src);
    sg_block b{};
    b.added_ns = 1;
    b.expires_ns = ~0ull;
    b.flags = SG_BLK_CHALLENGE;
    if (bpf_map_update_elem(bpf_map__fd(skel->maps.sg_blocks), &k, &b, BPF_ANY) != 0) die("block");
    sg_challenge c{};
    c.expires_ns = ~0ull;
    if (bpf_map_update_elem(bpf_map__fd(skel->maps.sg_challenged), &k, &c, BPF_ANY) != 0) {
      die("challenge");
    }
    skel->data_chal->sg_chal.live = 1;
  }
  // A prefix block (IPv4 when v4, else IPv6), and the gate that turns the lookup on.
  void blockPrefix(bool v4, const uint8_t* addr, uint32_t len, uint8_t extra_flags = 0) {
    sg_prefix_block b{};
    b.added_ns = 1;
    b.expires_ns = ~0ull;
    b.flags = SG_BLK_XDP_DROP | extra_flags;
    int err = 0;
    if (v4) {
      sg_lpm4_key k{len, {}};
      std::memcpy(k.addr, addr, 4);
      err = bpf_map_update_elem(bpf_map__fd(skel->maps.sg_prefix4), &k, &b, BPF_ANY);
    } else {
      sg_lpm_key k{len, {}};
      std::memcpy(k.addr.b, addr, 16);
      err = bpf_map_update_elem(bpf_map__fd(skel->maps.sg_prefix6), &k, &b, BPF_ANY);
    }
    if (err != 0) die("prefix block");
    skel->data_blockbits->sg_prefix_maybe |= v4 ? SG_PREFIX_V4 : SG_PREFIX_V6;
  }
  bool bitSet(const sg_addr& k) const {
    const uint32_t bit = sg_block_bit(sg_addr_hash(&k, &kBenchKey));
    return (skel->data_blockbits->sg_block_bits[bit / 64] >> (bit % 64)) & 1;
  }
  double bitsSetShare() const {
    uint64_t n = 0;
    for (uint64_t w : skel->data_blockbits->sg_block_bits) n += __builtin_popcountll(w);
    return static_cast<double>(n) / SG_BLOCK_BITS;
  }
};

constexpr uint32_t kBlocksActive = 16384;  // sg_blocks' default max_entries

// Fills `l` with kBlocksActive blocks (10.99.0.0 on), `blocked` the first.
template <class S>
void fillBlocks(Loaded<S>& l, const std::string& blocked) {
  l.block(blocked);
  for (uint32_t i = 1; i < kBlocksActive; i++) {
    sg_addr k = v4Key("10.99.0.0");
    k.b[14] = static_cast<uint8_t>(i >> 8);
    k.b[15] = static_cast<uint8_t>(i);
    l.block(k);
  }
}

constexpr uint32_t kPrefixesActive = 4096;  // each trie's default max_entries

// Fills both prefix tries: IPv4 /24s 10.0.0.0 to 10.15.255.0, IPv6 /32s
// 2a00:: to 2a00:fff::, so that 192.0.2.1 and 2001:db8::1 miss.
template <class S>
void fillPrefixes(Loaded<S>& l) {
  for (uint32_t i = 0; i < kPrefixesActive; i++) {
    const uint8_t a4[4] = {10, static_cast<uint8_t>(i >> 8), static_cast<uint8_t>(i), 0};
    l.blockPrefix(true, a4, 24);
    uint8_t a6[16] = {0x2a, 0x00, static_cast<uint8_t>(i >> 8), static_cast<uint8_t>(i)};
    l.blockPrefix(false, a6, 32);
  }
}

// A 192.0.2.0/24 (then 198.18.0.0/15) source whose prefilter bit in `l` is
// set (want_set) or clear.
template <class S>
std::string sourceWithBit(const Loaded<S>& l, bool want_set) {
  for (uint32_t i = 1; i < (1u << 17); i++) {
    const std::string src =
        i < 255 ? "192.0.2." + std::to_string(i)
                : "198.18." + std::to_string((i >> 8) & 1) + "." + std::to_string(i & 255);
    if (l.bitSet(v4Key(src)) == want_set) return src;
  }
  die(std::string("no source with its prefilter bit ") + (want_set ? "set" : "clear"));
}

// A source (172.16.0.0/12) whose block-cache entry in `l` is (share) or is
// not the entry of `of`.
template <class S>
std::string sourceSharingEntry(const Loaded<S>& l, const std::string& of, bool share) {
  const uint32_t mask = l.skel->rodata->sg_block_cache_mask;
  const sg_addr ko = v4Key(of);
  const uint32_t want = sg_block_cache_index(sg_addr_hash(&ko, &kBenchKey), mask);
  for (uint32_t i = 1; i < (1u << 20); i++) {
    const std::string src = "172." + std::to_string(16 + (i >> 16)) + "." +
                            std::to_string((i >> 8) & 255) + "." + std::to_string(i & 255);
    const sg_addr k = v4Key(src);
    if ((sg_block_cache_index(sg_addr_hash(&k, &kBenchKey), mask) == want) == share) return src;
  }
  die("no source " + std::string(share ? "sharing" : "apart from") + " the cache entry of " + of);
}

// Blocks `a` and `b` besides the full block map, and makes spoof_alt
// alternate between them (the block cache's thrash rows).
template <class S>
void alternateBlocked(Loaded<S>& l, const std::string& a, const std::string& b) {
  fillBlocks(l, a);
  l.block(b);
  const sg_addr ka = v4Key(a), kb = v4Key(b);
  std::memcpy(&l.skel->bss->sg_bench_alt[0], &ka.b[12], 4);
  std::memcpy(&l.skel->bss->sg_bench_alt[1], &kb.b[12], 4);
}

struct Case {
  std::string name;
  int prog;
  std::vector<uint8_t> frame;
  int base_prog;
  std::vector<uint8_t> base_frame;
  double aim;  // 0: no aim
  std::vector<double> ns, base_ns, extra_ns, ratio;
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

double runNs(int prog, const std::vector<uint8_t>& frame, uint32_t repeat) {
  auto r = sg::test::XdpProgram(prog).run(frame, repeat);
  if (!r.ok()) die(r.error().message());
  return r->duration_ns;
}

// A benchmark object loaded on first use, so that --only loads (and the
// verifier checks) just the objects its rows run: a full set takes minutes.
template <class T>
class Lazy {
 public:
  explicit Lazy(std::function<std::unique_ptr<T>()> make) : make_(std::move(make)) {}
  T& operator*() {
    if (!obj_) obj_ = make_();
    return *obj_;
  }
  T* operator->() { return &**this; }

 private:
  std::function<std::unique_ptr<T>()> make_;
  std::unique_ptr<T> obj_;
};

using Frame = std::vector<uint8_t>;
using FrameFn = std::function<Frame()>;
using ProgFn = std::function<int()>;

// A row before its programs and frame are resolved (only the kept rows are).
struct Row {
  std::string name;
  ProgFn prog;
  FrameFn frame;
  ProgFn base_prog;  // empty: the bare XDP_PASS program
  double aim;
};

FrameFn fixed(Frame f) {
  return [f = std::move(f)] { return f; };
}

}  // namespace

int main(int argc, char** argv) {
  uint32_t repeat = 2'000'000;
  int rounds = 7;
  std::string only;  // --only SUBSTRING: just the rows whose name contains it (=NAME: is it)
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--only") == 0) only = argv[i + 1];
    if (std::strcmp(argv[i], "--repeat") == 0)
      repeat = static_cast<uint32_t>(std::atoi(argv[i + 1]));
    if (std::strcmp(argv[i], "--rounds") == 0) rounds = std::atoi(argv[i + 1]);
  }
  if (geteuid() != 0) die("needs root (BPF_PROG_TEST_RUN)");
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(sched_getcpu(), &one);
  sched_setaffinity(0, sizeof(one), &one);
  libbpf_set_print(nullptr);

  xdp_pass* bare = xdp_pass__open_and_load();
  if (bare == nullptr) die("load xdp_pass (root needed)");
  const int pass = bpf_program__fd(bare->progs.xdp_pass);

  // The production program plus the tracked-SYN wrappers (bpf/bench/track.bpf.c).
  using Guard = Loaded<track_bench>;
  using Spoof = Loaded<spoof_bench>;
  auto guard = [] {
    return std::make_unique<Guard>(track_bench__open, track_bench__load, track_bench__destroy,
                                   "track_bench");
  };
  auto spoofObj = [](const char* what, uint32_t slots = 65536) {
    return std::make_unique<Spoof>(spoof_bench__open, spoof_bench__load, spoof_bench__destroy, what,
                                   slots);
  };
  Lazy<Guard> quiet(guard);
  Lazy<Guard> busy([&] {  // blocks active: a full block map
    auto l = guard();
    fillBlocks(*l, "10.99.0.1");
    return l;
  });
  Lazy<Guard> busy_attempts([&] {
    auto l = guard();
    fillBlocks(*l, "10.99.0.1");
    l->setScope(SG_SCOPE_ATTEMPTS);  // the default: non-attempts skip the lookup
    return l;
  });
  // Prefix blocks (bpf/sg_prefix.h): 4,096 per family, scope "all" (every
  // packet pays the trie lookup) and the default "attempts".
  Lazy<Guard> prefixed([&] {
    auto l = guard();
    fillPrefixes(*l);
    // one /24 an allowlist entry overlaps: its hits look the allowlist up (and miss)
    const uint8_t a4[4] = {10, 15, 255, 0};  // the last of fillPrefixes, replaced
    l->blockPrefix(true, a4, 24, SG_PFX_ALLOW_CHECK);
    return l;
  });
  Lazy<Guard> prefixed_attempts([&] {
    auto l = guard();
    fillPrefixes(*l);
    l->setScope(SG_SCOPE_ATTEMPTS);
    return l;
  });
  // One armed challenge (192.0.2.77). Its SYN's row cannot be run here: a
  // test run repeats on the frame the program left, a SYN-ACK after the first
  // XDP_TX; bench/syncookie_bench prices the cookie SYN-ACK itself.
  Lazy<Guard> chal([&] {
    auto l = guard();
    l->setScope(SG_SCOPE_ATTEMPTS);
    l->challenge("192.0.2.77");
    return l;
  });
  Lazy<Loaded<syn_guard_fine>> fine([] {
    return std::make_unique<Loaded<syn_guard_fine>>(syn_guard_fine__open, syn_guard_fine__load,
                                                    syn_guard_fine__destroy, "syn_guard_fine");
  });
  Lazy<Loaded<syn_guard_coarse>> coarse([] {
    return std::make_unique<Loaded<syn_guard_coarse>>(
        syn_guard_coarse__open, syn_guard_coarse__load, syn_guard_coarse__destroy,
        "syn_guard_coarse");
  });
  Lazy<Loaded<spoof_bench_coarse>> spoof_coarse([] {
    return std::make_unique<Loaded<spoof_bench_coarse>>(
        spoof_bench_coarse__open, spoof_bench_coarse__load, spoof_bench_coarse__destroy,
        "spoof_coarse");
  });
  Lazy<Spoof> spoof([&] { return spoofObj("spoof"); });
  // The spoofed case with 1,024 slots (64 KiB, cache-resident): prices the
  // cold misses of the set probe in the 4 MiB default array.
  Lazy<Spoof> spoof_small([&] { return spoofObj("spoof_small", 1024); });
  Lazy<Loaded<spoof_bench_fine>> spoof_fine([] {
    return std::make_unique<Loaded<spoof_bench_fine>>(
        spoof_bench_fine__open, spoof_bench_fine__load, spoof_bench_fine__destroy, "spoof_fine");
  });
  Lazy<Loaded<overhead_bench>> ov([] {
    return std::make_unique<Loaded<overhead_bench>>(overhead_bench__open, overhead_bench__load,
                                                    overhead_bench__destroy, "overhead");
  });
  // The block cache (bpf/sg_block_cache_bpf.h) with two blocked sources
  // whose packets interleave: apart (each its own entry: both dropped from
  // the cache), or sharing an entry (each packet misses, looks the block up,
  // refills the entry and folds the other's drops: the thrash).
  Lazy<Spoof> apart([&] {
    auto l = spoofObj("spoof_apart");
    alternateBlocked(*l, "10.99.0.1", sourceSharingEntry(*l, "10.99.0.1", false));
    return l;
  });
  Lazy<Spoof> shared([&] {
    auto l = spoofObj("spoof_shared");
    alternateBlocked(*l, "10.99.0.1", sourceSharingEntry(*l, "10.99.0.1", true));
    return l;
  });

  const Frame syn = buildPacket(sg::test::synFrom("192.0.2.1"));
  const Frame ack = buildPacket(sg::test::ackFrom("192.0.2.1"));
  const Frame udp = buildPacket(sg::test::udpFrom("192.0.2.1"));
  const Frame blocked = buildPacket(sg::test::ackFrom("10.99.0.1"));
  const Frame syn6 = buildPacket(sg::test::synFrom("2001:db8::1"));
  // Sources chosen by their prefilter bit in `busy` (found when a row needs them).
  std::string near, clear;
  auto nearSrc = [&] {  // shares a prefilter bit with a block
    if (near.empty()) near = sourceWithBit(*busy, true);
    return near;
  };
  auto clearSrc = [&] {  // as most unblocked sources
    if (clear.empty()) clear = sourceWithBit(*busy, false);
    return clear;
  };
  const FrameFn ack_near = [&] { return buildPacket(sg::test::ackFrom(nearSrc())); };
  const FrameFn syn_near = [&] { return buildPacket(sg::test::synFrom(nearSrc())); };
  const FrameFn ack_clear = [&] { return buildPacket(sg::test::ackFrom(clearSrc())); };
  const FrameFn syn_clear = [&] { return buildPacket(sg::test::synFrom(clearSrc())); };

  const Frame ack_forged = buildPacket(sg::test::ackFrom("192.0.2.77"));
  const Frame syn_in_prefix = buildPacket(sg::test::synFrom("10.3.7.9"));
  const Frame ack_in_prefix = buildPacket(sg::test::ackFrom("10.3.7.9"));
  const Frame syn6_in_prefix = buildPacket(sg::test::synFrom("2a00:123:4::9"));
  const Frame syn_in_checked = buildPacket(sg::test::synFrom("10.15.255.9"));

  auto in = [](auto& lazy, const char* name) -> ProgFn {
    return [&lazy, name] { return lazy->prog(name); };
  };
  const ProgFn q = in(quiet, "syn_guard_xdp"), b = in(busy, "syn_guard_xdp");
  const ProgFn pf = in(prefixed, "syn_guard_xdp"), pa = in(prefixed_attempts, "syn_guard_xdp");
  const ProgFn ba = in(busy_attempts, "syn_guard_xdp"), ch = in(chal, "syn_guard_xdp");
  // A tracked source's SYNs, each with a new sequence number (a new attempt,
  // not a retransmission of the last: bpf/bench/track.bpf.c).
  const ProgFn tq = in(quiet, "track_syn"), tb = in(busy, "track_syn");
  const ProgFn tpf = in(prefixed, "track_syn"), tpa = in(prefixed_attempts, "track_syn");
  const ProgFn none;
  std::vector<Row> rows = {
      {"SYN, tracked source", tq, fixed(syn), none, 2.0},
      {"SYN, tracked IPv6 source", tq, fixed(syn6), none, 2.0},
      {"non-SYN TCP (ACK), no block active", q, fixed(ack), none, 1.3},
      {"non-TCP (UDP), no block active", q, fixed(udp), none, 1.3},
      {"non-SYN TCP (ACK), 16k blocks active", b, ack_clear, none, 2.0},
      {"SYN, tracked source, 16k blocks active", tb, syn_clear, none, 2.0},
      {"packet from a blocked source (16k)", b, fixed(blocked), none, 2.0},
      {"[part] ACK, 16k blocks, its bit set (miss)", b, ack_near, none, 0},
      {"[part] SYN, 16k blocks, its bit set (miss)", tb, syn_near, none, 0},
      {"[part] new sequence number, then pass", in(quiet, "track_pass"), fixed(syn), none, 0},
      {"[part] tracked SYN, repeated", q, fixed(syn), none, 0},
      {"SYN, new spoofed source each time", in(spoof, "spoof_syn"), fixed(syn), none, 4.0},
      {"[part] spoofed-source rewrite, then pass", in(spoof, "spoof_pass"), fixed(syn), none, 0},
      {"[part] SYN, spoofed source, 1024 slots", in(spoof_small, "spoof_syn"), fixed(syn), none, 0},
      {"[part] spoofed SYN, destination counters", in(spoof, "spoof_dst"), fixed(syn),
       in(spoof, "spoof_pass"), 0},
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
      {"[cache] 2 blocked sources, own entries", in(apart, "spoof_alt"), fixed(blocked),
       in(apart, "spoof_alt_pass"), 0},
      {"[cache] 2 blocked sources, entry shared", in(shared, "spoof_alt"), fixed(blocked),
       in(shared, "spoof_alt_pass"), 0},
      {"[challenge] SYN, tracked source, 1 armed", in(chal, "track_syn"), fixed(syn), none, 0},
      {"[challenge] ACK, other source, 1 armed", ch, fixed(ack), none, 0},
      {"[challenge] forged ACK, challenged (drop)", ch, fixed(ack_forged), none, 0},
      {"[fine clock] tracked SYN, repeated", in(fine, "syn_guard_xdp"), fixed(syn), none, 0},
      {"[fine clock] SYN, spoofed source", in(spoof_fine, "spoof_syn"), fixed(syn), none, 0},
      {"[coarse clock] tracked SYN, repeated", in(coarse, "syn_guard_xdp"), fixed(syn), none, 0},
      {"[coarse clock] SYN, spoofed source", in(spoof_coarse, "spoof_syn"), fixed(syn), none, 0},
      {"[part] counters+config lookups", in(ov, "ov_lookups"), fixed(ack), none, 0},
      {"[part] lookups + PACKETS++", in(ov, "ov_lookups_count"), fixed(ack), none, 0},
      {"[part] parse only", in(ov, "ov_parse"), fixed(ack), none, 0},
      {"[part] parse SYN", in(ov, "ov_parse_syn"), fixed(syn), none, 0},
      {"[part] parse + destination lookup", in(ov, "ov_dst_find"), fixed(syn), none, 0},
      {"[part] same + hash, count, sample draw", in(ov, "ov_dst_inline"), fixed(syn), none, 0},
      {"[part] parse + hash + destination counters", in(ov, "ov_parse_dst"), fixed(syn), none, 0},
      {"[part] parse + unkeyed mix (old hash)", in(ov, "ov_hash_unkeyed"), fixed(syn), none, 0},
      {"[part] parse + SipHash-1-3 (the hash)", in(ov, "ov_hash_sip13"), fixed(syn), none, 0},
      {"[part] parse + SipHash-2-4", in(ov, "ov_hash_sip24"), fixed(syn), none, 0},
      {"[part] parse + sg_blocks lookup (miss)", in(ov, "ov_parse_block_lookup"), fixed(ack), none,
       0},
      {"[part] parse + hash + sg_slots set probe", in(ov, "ov_parse_slot_probe"), fixed(ack), none,
       0},
      {"[part] bpf_ktime_get_coarse_ns", in(ov, "ov_coarse_clock"), fixed(ack), none, 0},
      {"[part] bpf_ktime_get_ns", in(ov, "ov_fine_clock"), fixed(ack), none, 0},
      {"[part] bpf_jiffies64", in(ov, "ov_jiffies"), fixed(ack), none, 0},
      {"[part] bpf_get_prandom_u32", in(ov, "ov_prandom"), fixed(ack), none, 0},
  };

  if (!only.empty()) {
    const bool exact = only[0] == '=';
    std::erase_if(rows, [&](const Row& r) {
      return exact ? r.name != only.substr(1) : r.name.find(only) == std::string::npos;
    });
    if (rows.empty()) die("no row's name contains \"" + only + "\"");
  }
  std::vector<Case> cases;
  for (const Row& r : rows) {
    Frame f = r.frame();
    const int base = r.base_prog ? r.base_prog() : pass;
    cases.push_back({r.name, r.prog(), f, base, f, r.aim, {}, {}, {}, {}});
  }
  // Warm up: tracked sources get their state, caches fill.
  for (Case& c : cases) runNs(c.prog, c.frame, 10000);
  for (int r = 0; r < rounds; r++) {
    for (Case& c : cases) {
      const double base1 = runNs(c.base_prog, c.base_frame, repeat);
      const double ns = runNs(c.prog, c.frame, repeat);
      const double base2 = runNs(c.base_prog, c.base_frame, repeat);
      const double base = (base1 + base2) / 2;
      c.ns.push_back(ns);
      c.base_ns.push_back(base);
      c.extra_ns.push_back(ns - base);
      c.ratio.push_back(ns / base);
    }
  }

  std::printf(
      "xdp_cost_bench: repeat %u, %d rounds, median; kernel test-run mean ns/packet;\n"
      "base: bare XDP_PASS in the same round; +ns: above it\n",
      repeat, rounds);
  if (!clear.empty() || !near.empty()) {  // a row ran against `busy`
    std::printf(
        "blocks active: %u blocks, %.1f%% of the prefilter's %u bits set; source %s (bit "
        "clear),\nfalse positive %s (bit set)\n",
        kBlocksActive, 100 * busy->bitsSetShare(), SG_BLOCK_BITS, clear.c_str(), near.c_str());
  }
  std::printf(
      "[prefix] rows: %u IPv4 /24 and %u IPv6 /32 prefix blocks; the rows without\n"
      "[prefix] run with none (the gate closed: one load per packet)\n",
      kPrefixesActive, kPrefixesActive);
  std::printf("%-42s %8s %8s %7s %7s %6s\n", "case", "ns/pkt", "base ns", "+ns", "ratio", "aim");
  for (const Case& c : cases) {
    const double ratio = median(c.ratio);
    std::string aim = "-";
    if (c.aim > 0) aim = (ratio <= c.aim ? "<=" : "> ") + std::to_string(c.aim).substr(0, 3) + "x";
    std::printf("%-42s %8.1f %8.1f %7.1f %6.2fx %6s\n", c.name.c_str(), median(c.ns),
                median(c.base_ns), median(c.extra_ns), ratio, aim.c_str());
  }
  xdp_pass__destroy(bare);
  return 0;
}
