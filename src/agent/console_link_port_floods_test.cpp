#include "agent/console_link_port_floods.h"

#include <gtest/gtest.h>

#include "agent/port_flood_watch.h"

namespace sg::agent {
namespace {

PortFlood flood() {
  PortFlood f;
  Address a = *parseAddress("192.0.2.10");
  f.dst = a.raw;
  f.dst_port = 443;
  f.reason = "completion_ratio";
  f.first_ns = 1'000'000'000;
  f.detected_ns = 1'500'000'000;
  f.rate = 20345.4;
  f.peak_rate = 20345.4;
  f.normal_rate = 12.3;
  f.distinct_sources = 19000;
  f.completion_ratio = 0.0124;
  f.top_prefixes = {{*parsePrefix("198.51.100.0/24"), 900, 0.31}};
  f.response = "syncookies";
  return f;
}

// The watch's own event fields (portFloodJson) become protocol messages, and
// the end of a flood carries the first_ns its detection had.
TEST(PortFloodReporter, LogLinesAndStatusBecomeReportsOfOneFlood) {
  PortFloodReporter r;
  EXPECT_FALSE(r.fromLog("flood_detected", portFloodJson(flood(), false), 1).has_value());
  auto d = r.fromLog("port_flood_detected", portFloodJson(flood(), false), 2'000'000'000);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->kind, proto::PortFloodKind::kDetected);
  EXPECT_EQ(d->dst, *parsePrefix("192.0.2.10"));
  EXPECT_EQ(d->dst_port, 443);
  EXPECT_EQ(d->reason, "completion_ratio");
  EXPECT_EQ(d->rate, 20345u);
  EXPECT_EQ(d->peak_rate, 20345u);
  EXPECT_EQ(d->normal_rate, 12u);
  EXPECT_EQ(d->distinct_sources, 19000u);
  EXPECT_EQ(d->completion_permille, 12);
  ASSERT_EQ(d->top_prefixes.size(), 1u);
  EXPECT_EQ(d->top_prefixes[0].share_permille, 310);
  EXPECT_EQ(d->response, "syncookies");
  EXPECT_EQ(d->at_ns, 2'000'000'000u);
  EXPECT_EQ(d->first_ns, 1'500'000'000u);  // at - (detected - first)

  PortFlood later = flood();
  later.rate = 30000;
  later.peak_rate = 31000;
  later.attempts = 90000;
  nlohmann::json item = portFloodJson(later, false);
  item["peak_rate"] = 31000;
  item["attempts"] = 90000;
  auto ups = r.updates({{"active", {item}}}, 7'000'000'000);
  ASSERT_EQ(ups.size(), 1u);
  EXPECT_EQ(ups[0].kind, proto::PortFloodKind::kUpdated);
  EXPECT_EQ(ups[0].first_ns, d->first_ns);
  EXPECT_EQ(ups[0].rate, 30000u);
  EXPECT_EQ(ups[0].peak_rate, 31000u);
  EXPECT_EQ(ups[0].attempts, 90000u);

  PortFlood ended = later;
  ended.ended_ns = 9'000'000'000;
  auto e = r.fromLog("port_flood_ended", portFloodJson(ended, true), 9'100'000'000);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->kind, proto::PortFloodKind::kEnded);
  EXPECT_EQ(e->first_ns, d->first_ns);
  // Ended: no more updates of it.
  EXPECT_TRUE(r.updates({{"active", {item}}}, 10'000'000'000).empty());
}

TEST(PortFloodReporter, FieldsThatNameNoTargetAreSkipped) {
  PortFloodReporter r;
  nlohmann::json j = portFloodJson(flood(), false);
  j["dst"] = "192.0.2.0/24";
  EXPECT_FALSE(r.fromLog("port_flood_detected", j, 5).has_value());
  j = portFloodJson(flood(), false);
  j["dst_port"] = 0;
  EXPECT_FALSE(r.fromLog("port_flood_detected", j, 5).has_value());
  j = portFloodJson(flood(), false);
  j["response"] = "DROP";
  auto p = r.fromLog("port_flood_detected", j, 5'000'000'000);
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->response, "none");
}

}  // namespace
}  // namespace sg::agent
