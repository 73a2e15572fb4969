#include "console/flood_json.h"

#include <gtest/gtest.h>

#include "test_helpers.h"

namespace sg::console {
namespace {

constexpr uint64_t kMs = 1'000'000;

Flood sample() {
  Flood f;
  f.id = 42;
  f.source = *parsePrefix("2001:db8:1:2::/64");
  f.state = FloodState::kBlock;
  f.severity = Severity::kHigh;
  f.started_ns = 5'000 * kMs;
  f.last_seen_ns = 9'000 * kMs;
  f.last_report_ns = 9'500 * kMs;
  f.peak_rate = 41.5;
  f.active = false;
  f.ended_ns = 70'000 * kMs;
  Sighting s;
  s.ports = {80, 443};
  s.max_count = 250;
  s.peak_rate = 41.5;
  s.attempts = true;
  s.first_attempt_ns = 5'000 * kMs;
  s.last_detected_ns = 9'000 * kMs;
  s.action = EndpointAction::kBlocked;
  s.action_agent_ns = 123'456'789;
  s.action_rank = 1;
  f.endpoints["web-1"] = s;
  s.action = EndpointAction::kUnblocked;
  f.endpoints["db-1"] = s;
  return f;
}

TEST(FloodJson, RoundTripsThroughTextOnAnotherTimeBase) {
  const Flood f = sample();
  const TimeBase before{10'000 * kMs, 1'764'480'000'000};
  const std::string text = floodToJson(f, before).dump();
  // After a reboot the monotonic clock restarted: the same wall instant is
  // another monotonic time, and every time moves with it.
  const TimeBase after{100'000 * kMs, 1'764'480'000'000};
  auto back = floodFromJsonText(text, after);
  ASSERT_OK(back);
  Flood expect = f;
  const uint64_t shift = 90'000 * kMs;
  expect.started_ns += shift;
  expect.last_seen_ns += shift;
  expect.last_report_ns += shift;
  expect.ended_ns += shift;
  for (auto& [name, s] : expect.endpoints) {
    s.first_attempt_ns += shift;
    s.last_detected_ns += shift;
  }
  EXPECT_EQ(*back, expect);
}

TEST(FloodJson, ApiFieldsAreWallClockAndNames) {
  const TimeBase base{10'000 * kMs, 1'000'000};
  auto j = floodToJson(sample(), base);
  EXPECT_EQ(j["source"], "2001:db8:1:2::/64");
  EXPECT_EQ(j["state"], "BLOCK");
  EXPECT_EQ(j["severity"], "HIGH");
  EXPECT_EQ(j["ports"], nlohmann::json::parse("[80,443]"));
  EXPECT_EQ(j["endpoints"], nlohmann::json::parse(R"(["db-1","web-1"])"));
  EXPECT_EQ(j["started_at"], 1'000'000 - 5'000);
  EXPECT_EQ(j["ended_at"], 1'000'000 + 60'000);
  EXPECT_EQ(j["sightings"]["db-1"]["action"], "UNBLOCKED");
  Flood active = sample();
  active.active = true;
  EXPECT_TRUE(floodToJson(active, base)["ended_at"].is_null());
}

TEST(FloodJson, MalformedBodiesAreErrorsNotCrashes) {
  const TimeBase base{};
  EXPECT_ERROR(floodFromJsonText("not json", base), Errc::kInvalidArgument);
  EXPECT_ERROR(floodFromJsonText("[]", base), Errc::kInvalidArgument);
  auto j = floodToJson(sample(), base);
  j.erase("severity");
  EXPECT_ERROR(floodFromJson(j, base), Errc::kInvalidArgument);
  j = floodToJson(sample(), base);
  j["state"] = "MAYBE";
  EXPECT_ERROR(floodFromJson(j, base), Errc::kInvalidArgument);
  j = floodToJson(sample(), base);
  j["id"] = "seven";
  EXPECT_ERROR(floodFromJson(j, base), Errc::kInvalidArgument);
  j = floodToJson(sample(), base);
  j["sightings"]["web-1"]["ports"] = nlohmann::json::parse("[70000]");
  EXPECT_ERROR(floodFromJson(j, base), Errc::kInvalidArgument);
}

TEST(FloodJson, TimesBeforeThisBootClampAtZero) {
  const TimeBase base{1'000 * kMs, 50'000};
  EXPECT_EQ(base.toMonoNs(40'000), 0u);
  EXPECT_EQ(base.toWallMs(base.toMonoNs(50'500)), 50'500);
  EXPECT_EQ(base.toWallMs(999'999'999), 49'999);  // floor, not toward zero
}

}  // namespace
}  // namespace sg::console
