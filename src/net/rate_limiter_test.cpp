#include "net/rate_limiter.h"

#include <gtest/gtest.h>

#include <chrono>

namespace sg::net {
namespace {

TEST(RateLimiterTest, BurstThenSustainedRatePerAddress) {
  FakeClock clock;
  RateLimiter limiter(RateLimit{10, 5, 100}, clock);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(limiter.allow("10.0.0.1")) << i;
  EXPECT_FALSE(limiter.allow("10.0.0.1"));
  EXPECT_TRUE(limiter.allow("10.0.0.2"));  // another address has its own bucket
  clock.advance(100'000'000);              // 100 ms at 10/s: one more token
  EXPECT_TRUE(limiter.allow("10.0.0.1"));
  EXPECT_FALSE(limiter.allow("10.0.0.1"));
  clock.advance(10'000'000'000);  // long idle: back to the burst, not beyond
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(limiter.allow("10.0.0.1")) << i;
  EXPECT_FALSE(limiter.allow("10.0.0.1"));
}

TEST(RateLimiterTest, TableStaysBoundedUnderAddressChurn) {
  FakeClock clock;
  RateLimiter limiter(RateLimit{1, 2, 8}, clock);
  for (int i = 0; i < 1000; ++i) {
    EXPECT_TRUE(limiter.allow("10.1." + std::to_string(i / 256) + "." + std::to_string(i % 256)));
    clock.advance(1000);
  }
  EXPECT_LE(limiter.tracked(), 8u);
  // A busy address recently seen keeps its (empty) bucket against churn.
  FakeClock c2;
  RateLimiter l2(RateLimit{1, 2, 4}, c2);
  EXPECT_TRUE(l2.allow("busy"));
  EXPECT_TRUE(l2.allow("busy"));
  EXPECT_FALSE(l2.allow("busy"));
  for (int i = 0; i < 2; ++i) EXPECT_TRUE(l2.allow("new" + std::to_string(i)));
  EXPECT_FALSE(l2.allow("busy"));
}

// An IPv6 host usually holds a whole /64: one budget per /64, or an
// attacker would have 2^64 of them.
TEST(RateLimiterTest, IpV6AddressesOfOneSlash64ShareABudget) {
  EXPECT_EQ(rateKeyForAddress("2001:db8:1:2::1"), "2001:db8:1:2::/64");
  EXPECT_EQ(rateKeyForAddress("2001:db8:1:2:ffff:ffff:ffff:ffff"), "2001:db8:1:2::/64");
  EXPECT_EQ(rateKeyForAddress("2001:db8:1:3::1"), "2001:db8:1:3::/64");
  EXPECT_EQ(rateKeyForAddress("::ffff:192.0.2.7"), "192.0.2.7");  // IPv4-mapped: the IPv4 address
  EXPECT_EQ(rateKeyForAddress("192.0.2.7"), "192.0.2.7");
  EXPECT_EQ(rateKeyForAddress("not an address"), "not an address");
  FakeClock clock;
  RateLimiter limiter(RateLimit{1, 2, 100}, clock);
  EXPECT_TRUE(limiter.allow(rateKeyForAddress("2001:db8:1:2::1")));
  EXPECT_TRUE(limiter.allow(rateKeyForAddress("2001:db8:1:2::2")));
  EXPECT_FALSE(limiter.allow(rateKeyForAddress("2001:db8:1:2:abcd::3")));
  EXPECT_TRUE(limiter.allow(rateKeyForAddress("2001:db8:1:3::1")));  // another /64
}

// Eviction takes the least recently used key, in constant time: a full table
// under churn of new keys (each one an eviction) stays fast. The bound is
// loose (a scan of the table per new key took minutes here).
TEST(RateLimiterTest, EvictionIsLeastRecentlyUsedAndCheap) {
  FakeClock clock;
  RateLimiter small(RateLimit{1, 2, 3}, clock);
  EXPECT_TRUE(small.allow("a"));
  EXPECT_TRUE(small.allow("b"));
  EXPECT_TRUE(small.allow("c"));
  EXPECT_TRUE(small.allow("a"));
  EXPECT_FALSE(small.allow("a"));  // a: used most recently, bucket empty
  EXPECT_TRUE(small.allow("d"));   // b goes (least recently used), not a
  EXPECT_FALSE(small.allow("a"));
  EXPECT_EQ(small.tracked(), 3u);

  constexpr size_t kTracked = 65536;
  RateLimiter limiter(RateLimit{1, 2, kTracked}, clock);
  const auto start = std::chrono::steady_clock::now();
  for (size_t i = 0; i < 3 * kTracked; ++i) limiter.allow("k" + std::to_string(i));
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(limiter.tracked(), kTracked);
  EXPECT_LT(took, std::chrono::seconds(3));
}

}  // namespace
}  // namespace sg::net
