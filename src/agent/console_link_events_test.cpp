#include "agent/console_link_events.h"

#include <gtest/gtest.h>

#include <cstdio>

#include "agent/block_book.h"
#include "agent/fake_sensor.h"
#include "test_helpers.h"

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
  EXPECT_EQ(e->rate, 0u) << "no span_ms: not observed (the console takes count / window)";
}

TEST(ConsoleLinkEvents, AnObservedRateAndItsSpanGoAlong) {
  nlohmann::json f{{"src", "192.0.2.7"}, {"count", 201},  {"window_ms", 5000}, {"block_ms", 60000},
                   {"rate", 5025},       {"span_ms", 40}, {"enforced", true}};
  auto e = reportEventFrom("block_added", f, kNow);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->rate, 5025u);
  EXPECT_EQ(e->first_attempt_ns, kNow - 40'000'000);
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

// The block book's own log lines, through the log's observer, as the link
// sees them: a detection, a manual block, an unblock, an expiry.
TEST(ConsoleLinkEvents, TheBlockBooksLinesBecomeReportEvents) {
  std::FILE* out = std::tmpfile();
  EventLog log(LogFormat::kJson, out);
  std::vector<proto::Event> seen;
  log.setObserver([&seen](const std::string& event, const nlohmann::json& fields) {
    if (auto e = reportEventFrom(event, fields, kNow)) seen.push_back(*e);
  });
  FakeSensor sensor;
  FakeClock clock(1'000'000'000);
  BlockBook book(sensor, nullptr, log, clock, AgentConfig{}, [](uint32_t) { return "eth0"; });
  sg_event ev{};
  ev.type = SG_EV_BLOCK_ADDED;
  ev.src = parseAddress("192.0.2.7")->raw;
  ev.ts_ns = clock.nowNs();
  ev.block_ns = 60'000'000'000;
  ev.count = 201;
  ev.dst_port = 8080;
  ev.first_ns = ev.ts_ns - 40'000'000;  // counted over 40 ms: 5,025/s observed
  ASSERT_OK(sensor.addBlock(
      ev.src, sg_block{ev.ts_ns, ev.ts_ns + ev.block_ns, 0, 201, 8080, 0, SG_BLK_XDP_DROP}));
  book.onKernelEvent(ev);
  ASSERT_OK(book.block(*parseAddress("192.0.2.8"), std::chrono::seconds(10)));
  ASSERT_OK(book.unblock(*parseAddress("192.0.2.8")));
  clock.advance(61'000'000'000);
  book.sweep();
  std::fclose(out);
  ASSERT_EQ(seen.size(), 4u);  // flood_detected of a block is not sent: its block_added is
  EXPECT_EQ(seen[0].kind, proto::EventKind::kBlockAdded);
  EXPECT_EQ(seen[0].source.str(), "192.0.2.7/32");
  EXPECT_EQ(seen[0].count, 201u);
  EXPECT_EQ(seen[0].dst_port, 8080);
  EXPECT_EQ(seen[0].window_ms, 5000u);
  EXPECT_EQ(seen[0].block_ms, 60000u);
  EXPECT_EQ(seen[0].rate, 5025u);
  EXPECT_EQ(seen[0].first_attempt_ns, kNow - 40'000'000);
  EXPECT_EQ(seen[1].rate, 0u) << "an operator's block observed no attempts";
  EXPECT_EQ(seen[1].kind, proto::EventKind::kBlockAdded);
  EXPECT_EQ(seen[1].block_ms, 10000u);
  EXPECT_EQ(seen[2].kind, proto::EventKind::kBlockRemoved);
  EXPECT_EQ(seen[3].kind, proto::EventKind::kBlockExpired);
  EXPECT_EQ(seen[3].source.str(), "192.0.2.7/32");
}

}  // namespace
}  // namespace sg::agent
