#include "agent/metrics.h"

#include <gtest/gtest.h>

#include "agent/event_log.h"

namespace sg::agent {
namespace {

TEST(Metrics, EveryKernelCounterIsExportedOnceWithItsValue) {
  sg_counters k{};
  for (int i = 0; i < SG_CNT__MAX; i++) k.c[i] = 1000 + i;
  BookCounters b;
  b.late_blocks = 3;
  Gauges g;
  g.active_blocks = 2;
  g.sources = 17;
  g.active_prefix_blocks = 4;
  b.prefix_blocks = 5;
  std::string text = renderMetrics(k, b, g);
  for (int i = 0; i < SG_CNT__MAX; i++) {
    std::string line =
        std::string("\nsyn_guard_") + counterName(i) + " " + std::to_string(1000 + i) + "\n";
    EXPECT_NE(text.find(line), std::string::npos) << counterName(i);
  }
  EXPECT_NE(text.find("syn_guard_agent_late_blocks_total 3\n"), std::string::npos);
  EXPECT_NE(text.find("syn_guard_active_blocks 2\n"), std::string::npos);
  EXPECT_NE(text.find("syn_guard_sources_tracked 17\n"), std::string::npos);
  EXPECT_NE(text.find("syn_guard_active_prefix_blocks 4\n"), std::string::npos);
  EXPECT_NE(text.find("syn_guard_agent_prefix_blocks_total 5\n"), std::string::npos);
  EXPECT_NE(text.find("# TYPE syn_guard_dropped_total counter"), std::string::npos);
}

TEST(EventLog, JsonAndTextLines) {
  EventLog json(LogFormat::kJson, stdout);
  std::string line = json.render("block_added", {{"src", "192.0.2.1"}, {"count", 201}}, "T");
  EXPECT_EQ(line, R"({"event":"block_added","ts":"T","count":201,"src":"192.0.2.1"})");
  EventLog text(LogFormat::kText, stdout);
  EXPECT_EQ(text.render("ready", {{"enforcer", "xdp"}}, "T"), "T ready enforcer=xdp");
}

}  // namespace
}  // namespace sg::agent
