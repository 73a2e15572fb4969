// The XDP cost benchmark's program objects (bench/xdp_cost_bench.cpp): one
// loaded copy of a program built from syn_guard.bpf.c with the bench's
// config and key, the maps filled for the rows that need blocks, prefix
// blocks or an armed challenge, and the searches for sources with a given
// prefilter bit or block-cache entry. Shared by the row table
// (xdp_cost_rows.cpp) and the runner.
#pragma once

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "bpf/packet_builder.h"
#include "core/kernel_config.h"
#include "linux/xdp_sensor_clock.h"
#include "sg_challenge.h"
#include "sg_shared.h"
#include "sg_syncookie.h"
#include "sg_track.h"

namespace sg::bench {

[[noreturn]] inline void die(const std::string& what) {
  std::fprintf(stderr, "xdp_cost_bench: %s\n", what.c_str());
  std::exit(1);
}

// Config for measuring steady states: a tracked source never crosses (the
// 1 ms window restarts long before a million attempts).
inline sg_config benchConfig() {
  sg_config c = sg::toKernelConfig(sg::AgentConfig{});  // the agent's defaults, then:
  c.window_ns = 1'000'000;
  c.block_ns = 3600'000'000'000ull;
  c.threshold = 1'000'000;
  c.block_scope = SG_SCOPE_ALL;  // blocks drop every packet: the rows below price that
  return c;
}

inline uint64_t nsPerJiffy() {
  static const uint64_t ns = [] {
    auto hz = sg::kernelHz();
    if (!hz.ok()) die(hz.error().message());
    return 1'000'000'000ull / *hz;
  }();
  return ns;
}

inline sg_addr v4Key(const std::string& text) {
  sg_addr a{};
  std::vector<uint8_t> b = sg::test::addrBytes(text);
  std::memcpy(a.b, b.data(), 16);
  return a;
}

// Any key costs the same; a fixed one keeps runs comparable.
inline constexpr sg_hash_key kBenchKey{0x0706050403020100ull, 0x0f0e0d0c0b0a0908ull};

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

inline constexpr uint32_t kBlocksActive = 16384;  // sg_blocks' default max_entries

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

inline constexpr uint32_t kPrefixesActive = 4096;  // each trie's default max_entries

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

}  // namespace sg::bench
