#include "agent/console_link_events.h"

#include <gtest/gtest.h>

namespace sg::agent {
namespace {

constexpr uint64_t kNow = 100'000'000'000;

TEST(ConsoleLinkEvents, ABlockAddedCarriesTheCrossingAndTheWindowStart) {
  nlohmann::json f{
      {"src", "2001:db8:1:2::/64"}, {"dst_port", 443}, {"count", 201},    {"window_ms", 5000},
      {"block_ms", 60000},          {"level", 1},      {"enforced", true}};
  auto e = reportEventFrom("block_added", f, kNow);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->kind, proto::EventKind::kBlockAdded);
  EXPECT_EQ(e->source.str(), "2001:db8:1:2::/64");
  EXPECT_EQ(e->dst_port, 443);
  EXPECT_EQ(e->count, 201u);
  EXPECT_EQ(e->block_ms, 60000u);
  EXPECT_EQ(e->level, 1);
  EXPECT_EQ(e->detected_ns, kNow);
  EXPECT_EQ(e->first_attempt_ns, kNow - 5'000'000'000);
}

TEST(ConsoleLinkEvents, FloodDetectedGoesOnlyWhenNothingBlocks) {
  nlohmann::json f{{"src", "192.0.2.7"}, {"count", 300}, {"window_ms", 5000}};
  f["enforced"] = true;
  EXPECT_FALSE(reportEventFrom("flood_detected", f, kNow).has_value());
  f["enforced"] = false;
  auto e = reportEventFrom("flood_detected", f, kNow);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->kind, proto::EventKind::kFloodDetected);
  EXPECT_EQ(e->block_ms, 0u);
}

TEST(ConsoleLinkEvents, EndsOfBlocksAndOtherLinesAndBadSources) {
  auto expired =
      reportEventFrom("block_expired", {{"src", "192.0.2.7"}, {"block_ms", 60000}}, kNow);
  ASSERT_TRUE(expired.has_value());
  EXPECT_EQ(expired->kind, proto::EventKind::kBlockExpired);
  EXPECT_EQ(expired->first_attempt_ns, kNow);
  auto removed =
      reportEventFrom("block_removed", {{"src", "192.0.2.7"}, {"reason", "manual"}}, kNow);
  ASSERT_TRUE(removed.has_value());
  EXPECT_EQ(removed->kind, proto::EventKind::kBlockRemoved);
  EXPECT_FALSE(reportEventFrom("ready", {{"src", "192.0.2.7"}}, kNow).has_value());
  EXPECT_FALSE(reportEventFrom("block_added", {{"src", "not an address"}}, kNow).has_value());
  EXPECT_FALSE(reportEventFrom("block_added", {{"count", 3}}, kNow).has_value());
}

}  // namespace
}  // namespace sg::agent
