#include "net/rate_limiter.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace sg::net
