// NftEnforcer with thousands of blocks per set: every element is there, can
// be found, and the short ones expire. What it cannot flake on: no timing is
// asserted here; how long block() takes is bench/nft_latency_bench's job.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <set>
#include <thread>

#include "linux/netns_guard.h"
#include "linux/nft_enforcer.h"
#include "linux/nft_enforcer_test_util.h"
#include "test_helpers.h"

namespace sg {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

Address v4Key(uint32_t i) {  // 10.x.y.z
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

constexpr uint32_t kPerFamily = 5000;
constexpr uint32_t kShort = 100;  // of which the last kShort expire soon

TEST(NftEnforcerScale, ThousandsOfBlocksAreHeldFoundAndExpire) {
  SG_REQUIRE_ROOT();
  ASSERT_OK(runInFreshNetns([] {
    auto e = NftEnforcer::create();
    ASSERT_OK(e);
    for (uint32_t i = 0; i < kPerFamily; ++i) {
      Nanos ttl = i < kPerFamily - kShort ? Nanos(seconds(600)) : Nanos(milliseconds(500));
      ASSERT_OK((*e)->block(BlockSpec{v4Key(i), 64, ttl}));
      ASSERT_OK((*e)->block(BlockSpec{v6Key(i), 64, ttl}));
    }
    auto start = std::chrono::steady_clock::now();
    auto listed = (*e)->listBlocked();
    ASSERT_OK(listed);
    EXPECT_EQ(listed->size(), 2u * kPerFamily);
    std::set<std::string> held;
    for (const auto& b : *listed) held.insert(b.str());
    for (uint32_t i : {0u, 1u, kPerFamily / 2, kPerFamily - 1}) {
      EXPECT_TRUE(held.count(v4Key(i).str())) << v4Key(i).str();
      EXPECT_TRUE(held.count(v6Key(i).str() + "/64")) << v6Key(i).str();
    }
    // The kernel's own lookup finds a held key and not an absent one.
    auto inside = nftRun("get element inet syn_guard blocked_v6_64 { 2001:db8:0:1:: }");
    EXPECT_OK(inside);
    EXPECT_ERROR(nftRun("get element inet syn_guard blocked_v4 { 10.200.0.1 }"), Errc::kIo);

    // The short ones go by themselves; the rest stay (bounded wait).
    size_t left = listed->size();
    while (std::chrono::steady_clock::now() - start < seconds(10)) {
      std::this_thread::sleep_for(milliseconds(200));
      auto now = (*e)->listBlocked();
      ASSERT_OK(now);
      left = now->size();
      if (left == 2u * (kPerFamily - kShort)) break;
    }
    EXPECT_EQ(left, 2u * (kPerFamily - kShort));
  }));
}

}  // namespace
}  // namespace sg
