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
constexpr uint32_t kShort = 100;  // of which the last kShort are made to expire

// The keys listBlocked() reports, as text (a /64 with its length).
std::set<std::string> heldKeys(NftEnforcer& e) {
  std::set<std::string> held;
  auto listed = e.listBlocked();
  EXPECT_OK(listed);
  if (listed.ok()) {
    for (const auto& b : *listed) held.insert(b.str());
    EXPECT_EQ(held.size(), listed->size()) << "a key listed twice";
  }
  return held;
}

// All blocks go in for 10 minutes, so that none can expire before they are
// counted however slow the machine (a 500 ms block among the last added was
// once gone by the listing: 9,996 of 10,000 under load). Then the last
// kShort of each family are blocked again for 500 ms (block() replaces an
// element's timeout) and must go by themselves, the rest staying.
TEST(NftEnforcerScale, ThousandsOfBlocksAreHeldFoundAndExpire) {
  SG_REQUIRE_ROOT();
  ASSERT_OK(runInFreshNetns([] {
    auto e = NftEnforcer::create();
    ASSERT_OK(e);
    for (uint32_t i = 0; i < kPerFamily; ++i) {
      ASSERT_OK((*e)->block(BlockSpec{v4Key(i), 64, seconds(600)}));
      ASSERT_OK((*e)->block(BlockSpec{v6Key(i), 64, seconds(600)}));
    }
    std::set<std::string> held = heldKeys(**e);
    EXPECT_EQ(held.size(), 2u * kPerFamily);
    for (uint32_t i : {0u, 1u, kPerFamily / 2, kPerFamily - 1}) {
      EXPECT_TRUE(held.count(v4Key(i).str())) << v4Key(i).str();
      EXPECT_TRUE(held.count(v6Key(i).str() + "/64")) << v6Key(i).str();
    }
    // The kernel's own lookup finds a held key and not an absent one.
    auto inside = nftRun("get element inet syn_guard blocked_v6_64 { 2001:db8:0:1:: }");
    EXPECT_OK(inside);
    EXPECT_ERROR(nftRun("get element inet syn_guard blocked_v4 { 10.200.0.1 }"), Errc::kIo);

    // The short ones go by themselves; the rest stay (bounded wait).
    for (uint32_t i = kPerFamily - kShort; i < kPerFamily; ++i) {
      ASSERT_OK((*e)->block(BlockSpec{v4Key(i), 64, milliseconds(500)}));
      ASSERT_OK((*e)->block(BlockSpec{v6Key(i), 64, milliseconds(500)}));
    }
    const auto start = std::chrono::steady_clock::now();
    while (held.size() != 2u * (kPerFamily - kShort) &&
           std::chrono::steady_clock::now() - start < seconds(30)) {
      std::this_thread::sleep_for(milliseconds(200));
      held = heldKeys(**e);
    }
    EXPECT_EQ(held.size(), 2u * (kPerFamily - kShort));
    for (uint32_t i : {0u, kPerFamily - kShort - 1}) {
      EXPECT_TRUE(held.count(v4Key(i).str())) << "a long block went: " << v4Key(i).str();
      EXPECT_TRUE(held.count(v6Key(i).str() + "/64")) << "a long block went: " << v6Key(i).str();
    }
    for (uint32_t i : {kPerFamily - kShort, kPerFamily - 1}) {
      EXPECT_FALSE(held.count(v4Key(i).str())) << "a short block stayed: " << v4Key(i).str();
      EXPECT_FALSE(held.count(v6Key(i).str() + "/64"))
          << "a short block stayed: " << v6Key(i).str();
    }
  }));
}

}  // namespace
}  // namespace sg
