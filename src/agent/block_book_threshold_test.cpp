// Which threshold a detector block crossed (bpf/sg_handshake.h) is named in
// the agent's events and in `blocks`.
#include <gtest/gtest.h>

#include <string>

#include "agent/block_book.h"
#include "agent/block_book_fixture.h"
#include "sg_handshake.h"
#include "test_helpers.h"

namespace sg::agent {
namespace {

TEST(BlockBookThreshold, EventsAndBlocksNameTheThresholdTheSourceCrossed) {
  Fixture f;
  BlockBook book(f.sensor, nullptr, f.log, f.clock, f.config, [](uint32_t) { return "eth0"; });
  const sg_addr half = v4(198, 51, 100, 8), conn = v4(198, 51, 100, 9), old = v4(198, 51, 100, 10);
  sg_event e1 = blockEvent(half, f.clock.nowNs(), 60'000'000'000);
  e1.reason = SG_REASON_HALF_OPEN;
  sg_event e2 = blockEvent(conn, f.clock.nowNs(), 60'000'000'000);
  e2.reason = SG_REASON_CONNECTIONS;
  sg_event e3 = blockEvent(old, f.clock.nowNs(), 60'000'000'000);  // counting off
  // The kernel's table holds the same flag the events carry.
  const uint8_t flags[] = {SG_BLK_XDP_DROP | SG_BLK_HALF_OPEN, SG_BLK_XDP_DROP | SG_BLK_CONNECTIONS,
                           SG_BLK_XDP_DROP};
  int i = 0;
  for (const sg_event* e : {&e1, &e2, &e3}) {
    f.sensor.blocks.push_back(
        {e->src, {e->ts_ns, e->ts_ns + e->block_ns, 0, 201, 8080, 0, flags[i++]}});
    book.onKernelEvent(*e);
  }
  const std::string text = f.logText();
  EXPECT_NE(text.find("\"src\":\"198.51.100.8\",\"threshold\":\"half_open\""), std::string::npos)
      << text;
  EXPECT_NE(text.find("\"src\":\"198.51.100.9\",\"threshold\":\"connections\""), std::string::npos)
      << text;
  EXPECT_EQ(text.find("\"src\":\"198.51.100.10\",\"threshold\""), std::string::npos) << text;
  auto blocks = book.blocksJson();
  ASSERT_OK(blocks);
  int named = 0;
  for (const auto& b : *blocks) {
    const std::string src = b.value("src", "");
    if (src == "198.51.100.8") {
      EXPECT_EQ(b.value("threshold", ""), "half_open") << b.dump();
    } else if (src == "198.51.100.9") {
      EXPECT_EQ(b.value("threshold", ""), "connections") << b.dump();
    } else {
      EXPECT_FALSE(b.contains("threshold")) << b.dump();
    }
    named += b.contains("threshold") ? 1 : 0;
  }
  EXPECT_EQ(named, 2);
}

}  // namespace
}  // namespace sg::agent
