// How long NftEnforcer::block() takes: the agent aims at <= 1 ms from the
// kernel's detection to the element being in place. Prints median and p99
// over 1000 calls, for IPv4 and IPv6 keys, into an empty table and into one
// already holding 20,000 blocks per set (the libnftables text path grew to
// ~100 ms per call there, which is why block() talks netlink directly).
// The assertion is loose (a shared CI machine is noisy); the figures are the point.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "linux/netns_guard.h"
#include "linux/nft_enforcer.h"
#include "test_helpers.h"

namespace sg {
namespace {

using Micros = std::chrono::duration<double, std::micro>;

Address v4Key(uint32_t i) {
  auto a = parseAddress("10.0.0.0");
  if (!a) std::abort();
  a->raw.b[13] = static_cast<uint8_t>(i >> 16);
  a->raw.b[14] = static_cast<uint8_t>(i >> 8);
  a->raw.b[15] = static_cast<uint8_t>(i);
  return *a;
}

Address v6Key(uint32_t i) {  // 2001:db8:iiii:iiii::/64
  auto a = parseAddress("2001:db8::");
  if (!a) std::abort();
  a->raw.b[4] = static_cast<uint8_t>(i >> 24);
  a->raw.b[5] = static_cast<uint8_t>(i >> 16);
  a->raw.b[6] = static_cast<uint8_t>(i >> 8);
  a->raw.b[7] = static_cast<uint8_t>(i);
  return *a;
}

struct Figures {
  double p50_us = 0, p99_us = 0, max_us = 0;
};

// Times `n` block() calls of keys first..first+n-1.
Figures timeBlocks(NftEnforcer& e, Address (*key)(uint32_t), uint32_t first, uint32_t n) {
  std::vector<double> us;
  us.reserve(n);
  for (uint32_t i = first; i < first + n; ++i) {
    BlockSpec s{key(i), 64, std::chrono::seconds(600)};
    auto t0 = std::chrono::steady_clock::now();
    auto r = e.block(s);
    auto t1 = std::chrono::steady_clock::now();
    EXPECT_OK(r);
    if (!r) return {};
    us.push_back(Micros(t1 - t0).count());
  }
  std::sort(us.begin(), us.end());
  return {us[us.size() / 2], us[us.size() * 99 / 100], us.back()};
}

void report(const char* what, const Figures& f) {
  std::printf("[ latency  ] block() %-34s p50 %7.0f us  p99 %7.0f us  max %7.0f us\n", what,
              f.p50_us, f.p99_us, f.max_us);
  EXPECT_GT(f.p50_us, 0.0);
  EXPECT_LT(f.p50_us, 5000.0) << what;  // an order of magnitude over the aim: broken
}

TEST(NftEnforcerLatency, BlockMedianAndP99Over1000Calls) {
  SG_REQUIRE_ROOT();
  ASSERT_OK(runInFreshNetns([] {
    auto e = NftEnforcer::create();
    ASSERT_OK(e);
    constexpr uint32_t kCalls = 1000;
    constexpr uint32_t kFill = 20000;
    report("IPv4, empty set", timeBlocks(**e, v4Key, 0, kCalls));
    report("IPv6 /64, empty set", timeBlocks(**e, v6Key, 0, kCalls));
    report("IPv4, re-block (refresh)", timeBlocks(**e, v4Key, 0, kCalls));
    (void)timeBlocks(**e, v4Key, kCalls, kFill);
    (void)timeBlocks(**e, v6Key, kCalls, kFill);
    report("IPv4, 21k elements in set", timeBlocks(**e, v4Key, kCalls + kFill, kCalls));
    report("IPv6 /64, 21k elements in set", timeBlocks(**e, v6Key, kCalls + kFill, kCalls));
    auto listed = (*e)->listBlocked();
    ASSERT_OK(listed);
    EXPECT_EQ(listed->size(), 2u * (kCalls + kFill + kCalls));
  }));
}

}  // namespace
}  // namespace sg
