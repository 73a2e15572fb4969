#include "core/duration.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <random>

#include "test_helpers.h"

namespace sg {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

TEST(DurationTest, ParsesUnitsSumsAndDecimals) {
  struct Case {
    const char* text;
    Nanos want;
  };
  const Case cases[] = {
      {"0s", Nanos(0)},
      {"0ms", Nanos(0)},
      {"250ms", milliseconds(250)},
      {"5s", seconds(5)},
      {"10m", minutes(10)},
      {"1h", hours(1)},
      {"1m30s", seconds(90)},
      {"1h2m3s4ms", hours(1) + minutes(2) + seconds(3) + milliseconds(4)},
      {"30s1m", seconds(90)},  // order is free; parts add up
      {"1.5s", milliseconds(1500)},
      {"0.5m", seconds(30)},
      {"0.25h", minutes(15)},
      {"1.000001ms", Nanos(1'000'001)},
      {"0.000001ms", Nanos(1)},
      {"2562047h", hours(2562047)},  // the largest whole number of hours that fits
      {"9223372036854ms", milliseconds(9223372036854)},
  };
  for (const auto& c : cases) {
    auto d = parseDuration(c.text);
    ASSERT_OK(d);
    EXPECT_EQ(d->count(), c.want.count()) << c.text;
  }
}

TEST(DurationTest, BareNumberAsksForAUnit) {
  auto d = parseDuration("5");
  EXPECT_ERROR(d, Errc::kInvalidArgument);
  EXPECT_EQ(d.error().message(), "missing unit in '5' (use ms, s, m or h)");
}

TEST(DurationTest, RejectsBadInputWithReason) {
  struct Case {
    const char* text;
    const char* says;
  };
  const Case cases[] = {
      {"", "empty duration"},
      {"1.5", "missing unit in '1.5'"},
      {"1m30", "missing unit after '30'"},
      {"5x", "unknown unit 'x'"},
      {"5sec", "unknown unit 'sec'"},
      {"5us", "unknown unit 'us'"},
      {"5S", "unknown unit 'S'"},
      {"-5s", "cannot be negative"},
      {"+5s", "expected a number"},
      {"s", "expected a number"},
      {" 5s", "expected a number"},
      {"5s ", "unknown unit 's '"},
      {"5 s", "unknown unit ' s'"},
      {".5s", "missing digits before '.'"},
      {"5.s", "missing digits after '.'"},
      {"1.2.3s", "missing unit after '1.2'"},
      {"2562048h", "too long"},
      {"9223372036855ms", "too long"},
      {"2562047h2562047h", "too long"},
      {"99999999999999999999999h", "number too long"},
      {"0.0000001ms", "not a whole number of nanoseconds"},
      {"1.0000000001s", "not a whole number of nanoseconds"},
  };
  for (const auto& c : cases) {
    auto d = parseDuration(c.text);
    EXPECT_ERROR(d, Errc::kInvalidArgument);
    EXPECT_NE(d.error().message().find(c.says), std::string::npos)
        << "'" << c.text << "' -> " << d.error().message();
  }
}

TEST(DurationTest, FormatsShortestExactForm) {
  struct Case {
    Nanos d;
    const char* want;
  };
  const Case cases[] = {
      {Nanos(0), "0s"},
      {milliseconds(250), "250ms"},
      {seconds(5), "5s"},
      {seconds(90), "1m30s"},
      {minutes(60), "1h"},
      {minutes(90), "1h30m"},
      {hours(24), "24h"},
      {milliseconds(1500), "1s500ms"},
      {hours(1) + milliseconds(1), "1h1ms"},
      {Nanos(1), "0.000001ms"},
      {Nanos(1'500'000), "1.5ms"},
      {seconds(1) + Nanos(20), "1s0.00002ms"},
      {seconds(-5), "-5s"},
      {-(hours(1) + seconds(1)), "-1h1s"},
  };
  for (const auto& c : cases) EXPECT_EQ(formatDuration(c.d), c.want) << c.d.count();
  // The most negative value cannot be negated; it must still print.
  EXPECT_EQ(formatDuration(Nanos(std::numeric_limits<int64_t>::min())).substr(0, 9), "-2562047h");
}

TEST(DurationTest, FormatThenParseRoundTrips) {
  std::mt19937_64 rng(12345);  // fixed seed: deterministic
  std::vector<int64_t> values = {
      0, 1, 999'999, 1'000'000, 59'999'999'999, std::numeric_limits<int64_t>::max()};
  for (int i = 0; i < 2000; i++) {
    values.push_back(static_cast<int64_t>(rng() >> (1 + rng() % 63)));
  }
  for (int64_t v : values) {
    const std::string text = formatDuration(Nanos(v));
    auto back = parseDuration(text);
    ASSERT_OK(back);
    EXPECT_EQ(back->count(), v) << text;
  }
}

}  // namespace
}  // namespace sg
