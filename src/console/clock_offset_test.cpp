#include "console/clock_offset.h"

#include <gtest/gtest.h>

namespace sg::console {
namespace {

TEST(ClockOffset, RoundTripTakesTheMidpointOfTheFastestSample) {
  ClockOffset c;
  EXPECT_FALSE(c.offsetNs().has_value());
  // Agent clock = console + 5000; a 200 ns RTT sample, answered at the midpoint.
  c.addRoundTrip(1000, 1100 + 5000, 1200);
  EXPECT_EQ(*c.offsetNs(), 5000);
  // A slower sample (queueing on the way back) is not used.
  c.addRoundTrip(2000, 2100 + 5000, 2900);
  EXPECT_EQ(*c.offsetNs(), 5000);
  EXPECT_EQ(*c.rttNs(), 200u);
  // Negative offsets: the agent's clock behind the console's.
  ClockOffset behind;
  behind.addRoundTrip(10'000, 2'050, 10'100);
  EXPECT_EQ(*behind.offsetNs(), -8'000);
}

TEST(ClockOffset, OnlyTheLastSamplesCount) {
  ClockOffset c;
  c.addRoundTrip(0, 50, 100);  // fast, offset 0
  for (uint64_t i = 1; i <= ClockOffset::kSamples; ++i) {
    c.addRoundTrip(i * 1000, i * 1000 + 700, i * 1000 + 1000);  // slower, offset +200
  }
  EXPECT_EQ(*c.offsetNs(), 200);  // the fast one aged out: the clocks may have drifted
}

TEST(ClockOffset, OneWayReadingsGiveAnEstimateUntilTheFirstPong) {
  ClockOffset c;
  c.addOneWay(5'000, 1'200);  // sent at agent 5000, arrived at console 1200
  c.addOneWay(6'000, 2'100);  // less delay on this one
  EXPECT_EQ(*c.offsetNs(), 3'900);
  EXPECT_FALSE(c.rttNs().has_value());
  c.addRoundTrip(3'000, 7'000, 3'200);
  EXPECT_EQ(*c.offsetNs(), 3'900);
  EXPECT_EQ(*c.rttNs(), 200u);
}

}  // namespace
}  // namespace sg::console
