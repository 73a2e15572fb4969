// How long NftEnforcer::block() takes, in a fresh network namespace: p50,
// p99 and max over `calls` blocks, for IPv4 addresses and IPv6 /64 prefixes,
// into sets already holding ~1k and ~21k elements. The baseline is the IPv4
// block measured in the same run: an IPv6 /64 block (a hash set of masked
// keys) should cost about what an IPv4 one does, at any set size.
// The agent aims at <= 1 ms from detection to the element being in place.
//
//   sudo build/bin/nft_latency_bench [calls]   (default 1000; needs root)
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "linux/netns_guard.h"
#include "linux/nft_enforcer.h"

namespace {

using Micros = std::chrono::duration<double, std::micro>;

sg::Address v4Key(uint32_t i) {  // 10.x.y.z
  sg::Address a = sg::parseAddress("10.0.0.0").value();
  a.raw.b[13] = static_cast<uint8_t>(i >> 16);
  a.raw.b[14] = static_cast<uint8_t>(i >> 8);
  a.raw.b[15] = static_cast<uint8_t>(i);
  return a;
}

sg::Address v6Key(uint32_t i) {  // 2001:db8:iiii:iiii::/64
  sg::Address a = sg::parseAddress("2001:db8::").value();
  a.raw.b[4] = static_cast<uint8_t>(i >> 24);
  a.raw.b[5] = static_cast<uint8_t>(i >> 16);
  a.raw.b[6] = static_cast<uint8_t>(i >> 8);
  a.raw.b[7] = static_cast<uint8_t>(i);
  return a;
}

struct Figures {
  double p50_us = 0, p99_us = 0, max_us = 0;
};

// Blocks keys first..first+n-1; their latencies (empty on an error).
Figures timeBlocks(sg::NftEnforcer& e, sg::Address (*key)(uint32_t), uint32_t first, uint32_t n,
                   bool* ok) {
  std::vector<double> us;
  us.reserve(n);
  for (uint32_t i = first; i < first + n; ++i) {
    sg::BlockSpec s{key(i), 64, std::chrono::seconds(600)};
    auto t0 = std::chrono::steady_clock::now();
    auto r = e.block(s);
    auto t1 = std::chrono::steady_clock::now();
    if (!r) {
      std::fprintf(stderr, "nft_latency_bench: block: %s\n", r.error().message().c_str());
      *ok = false;
      return {};
    }
    us.push_back(Micros(t1 - t0).count());
  }
  if (us.empty()) return {};
  std::sort(us.begin(), us.end());
  return {us[us.size() / 2], us[us.size() * 99 / 100], us.back()};
}

void row(const char* what, const Figures& f, const Figures& base) {
  std::printf("%-34s p50 %7.1f us  p99 %7.1f us  max %8.1f us  p50 %5.2fx IPv4\n", what, f.p50_us,
              f.p99_us, f.max_us, base.p50_us > 0 ? f.p50_us / base.p50_us : 0.0);
}

}  // namespace

int main(int argc, char** argv) {
  if (geteuid() != 0) {
    std::fprintf(stderr, "nft_latency_bench: needs root (network namespace, nftables)\n");
    return 2;
  }
  uint32_t calls = argc > 1 ? static_cast<uint32_t>(std::strtoul(argv[1], nullptr, 10)) : 1000;
  if (calls < 10 || calls > 100000) {
    std::fprintf(stderr, "nft_latency_bench: calls must be in 10..100000\n");
    return 2;
  }
  constexpr uint32_t kFill = 20000;
  bool ok = true;
  auto ran = sg::runInFreshNetns([&] {
    auto e = sg::NftEnforcer::create();
    if (!e) {
      std::fprintf(stderr, "nft_latency_bench: %s\n", e.error().message().c_str());
      ok = false;
      return;
    }
    std::printf("NftEnforcer::block(), %u calls per row (ratio: p50 over IPv4's at that size)\n",
                calls);
    Figures v4_small = timeBlocks(**e, v4Key, 0, calls, &ok);
    Figures v6_small = timeBlocks(**e, v6Key, 0, calls, &ok);
    Figures v4_again = timeBlocks(**e, v4Key, 0, calls, &ok);  // refresh existing elements
    (void)timeBlocks(**e, v4Key, calls, kFill, &ok);
    (void)timeBlocks(**e, v6Key, calls, kFill, &ok);
    Figures v4_big = timeBlocks(**e, v4Key, calls + kFill, calls, &ok);
    Figures v6_big = timeBlocks(**e, v6Key, calls + kFill, calls, &ok);
    if (!ok) return;
    row("IPv4, into 0..1k elements", v4_small, v4_small);
    row("IPv6 /64, into 0..1k elements", v6_small, v4_small);
    row("IPv4 re-block (refresh), 1k", v4_again, v4_small);
    row("IPv4, into 21k elements", v4_big, v4_big);
    row("IPv6 /64, into 21k elements", v6_big, v4_big);
  });
  if (!ran) {
    std::fprintf(stderr, "nft_latency_bench: %s\n", ran.error().message().c_str());
    return 1;
  }
  return ok ? 0 : 1;
}
