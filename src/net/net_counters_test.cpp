#include "net/net_counters.h"

#include <gtest/gtest.h>

namespace sg::net {
namespace {

TEST(NetCountersTest, EveryCounterIsExportedOnceWithItsValue) {
  NetCounters c;
  c.add(NetCounter::kBodyTooLarge, 3);
  c.add(NetCounter::kWsClosed);
  std::string out;
  appendPrometheus(out, c);
  EXPECT_NE(out.find("syn_guard_net_body_too_large_total 3\n"), std::string::npos);
  EXPECT_NE(out.find("syn_guard_net_ws_closed_total 1\n"), std::string::npos);
  EXPECT_NE(out.find("syn_guard_net_connections_refused_total 0\n"), std::string::npos);
  size_t lines = static_cast<size_t>(std::count(out.begin(), out.end(), '\n'));
  EXPECT_EQ(lines, 2 * static_cast<size_t>(NetCounter::kCount));
}

}  // namespace
}  // namespace sg::net
