#include "net/backoff.h"

#include <gtest/gtest.h>

#include "test_helpers.h"

namespace sg::net {
namespace {

using std::chrono::milliseconds;

TEST(BackoffTest, GrowsExponentiallyToTheCapWithoutJitter) {
  Backoff b(BackoffPolicy{milliseconds(100), milliseconds(1000), 2.0, 0.0}, [] { return 0.7; });
  EXPECT_EQ(b.next(), milliseconds(100));
  EXPECT_EQ(b.next(), milliseconds(200));
  EXPECT_EQ(b.next(), milliseconds(400));
  EXPECT_EQ(b.next(), milliseconds(800));
  EXPECT_EQ(b.next(), milliseconds(1000));
  for (int i = 0; i < 100; ++i) EXPECT_EQ(b.next(), milliseconds(1000));  // no overflow
  b.reset();
  EXPECT_EQ(b.next(), milliseconds(100));
}

TEST(BackoffTest, JitterDrawsBelowTheBaseFromTheInjectedSource) {
  double r = 0.0;
  Backoff b(BackoffPolicy{milliseconds(1000), milliseconds(8000), 2.0, 0.5}, [&] { return r; });
  EXPECT_EQ(b.next(), milliseconds(1000));  // r = 0: the base
  r = 0.999999;
  EXPECT_EQ(b.next(), milliseconds(1000));  // base 2000, r ~1: half of it
  r = 0.5;
  EXPECT_EQ(b.next(), milliseconds(3000));  // base 4000 * (1 - 0.25)
}

TEST(BackoffTest, ManyClientsSpreadOut) {
  // A console restart: 1000 agents with different random draws do not all
  // come back at the same instant.
  std::vector<int64_t> first;
  for (int i = 0; i < 1000; ++i) {
    double r = static_cast<double>(i) / 1000.0;
    Backoff b(BackoffPolicy{milliseconds(1000), milliseconds(30000), 2.0, 1.0}, [r] { return r; });
    first.push_back(b.next().count());
  }
  std::sort(first.begin(), first.end());
  EXPECT_LE(first.front(), 10);
  EXPECT_GE(first.back(), 990);
}

TEST(BackoffTest, PolicyValidation) {
  EXPECT_OK(BackoffPolicy{}.validate());
  EXPECT_ERROR((BackoffPolicy{milliseconds(0)}.validate()), Errc::kInvalidArgument);
  EXPECT_ERROR((BackoffPolicy{milliseconds(10), milliseconds(5)}.validate()),
               Errc::kInvalidArgument);
  EXPECT_ERROR((BackoffPolicy{milliseconds(10), milliseconds(50), 0.5}.validate()),
               Errc::kInvalidArgument);
  EXPECT_ERROR((BackoffPolicy{milliseconds(10), milliseconds(50), 2.0, 1.5}.validate()),
               Errc::kInvalidArgument);
}

}  // namespace
}  // namespace sg::net
