// The aggregate story of the real attack captures in ../shared/data/captures
// (never copied into the repository): port floods, their start, peak rate,
// distinct sources, concentration, the response, and the detection delay
// from the flood's first packet. Skipped when the folder is absent, except
// with CI=true (CI machines have it): then absent is a failure.
#include <gtest/gtest.h>

#include <cinttypes>
#include <cstdio>
#include <string>

#include "core/captures_test_util.h"
#include "core/replay.h"
#include "core/tracker_test_util.h"
#include "test_helpers.h"

namespace sg {
namespace {

std::vector<ReplayPortFlood> portFloods(const std::string& dir, const char* file) {
  const std::vector<uint8_t> bytes = test::readCaptureFile(dir, file);
  EXPECT_FALSE(bytes.empty()) << file;
  ReplayOptions o;
  o.cfg = test::testConfig(200);
  o.cfg.window_ns = 5 * test::kSec;
  auto r = replayCapture(bytes, o);
  EXPECT_OK(r);
  if (!r.ok()) return {};
  for (const ReplayPortFlood& p : r->port_floods) {
    std::printf(
        "%s: %s first packet +%.3f s, detected +%.3f s (delay %.0f ms), peak %.0f/s, "
        "%" PRIu64 " attempts, ~%" PRIu64
        " distinct sources, completion ratio %.3f, top-4 share %.4f, "
        "response %s, %s\n",
        file, formatTarget(p.flood.dst, p.flood.dst_port).c_str(), p.first_packet_ns / 1e9,
        p.flood.detected_ns / 1e9, p.detectionDelayNs() / 1e6, p.flood.peak_rate, p.flood.attempts,
        p.flood.total_distinct_sources, p.flood.completion_ratio, p.concentration,
        p.response.kind().c_str(), p.ended ? "ended" : "still on");
  }
  return r->port_floods;
}

TEST(ReplayPortFloods, TheSpoofedFloodIsOnePortFloodOfTensOfThousandsOfSources) {
  SG_NEED_CAPTURES(dir);
  auto floods = portFloods(dir, "pkt.TCP.synflood.spoofed.pcap");
  ASSERT_EQ(floods.size(), 1u);
  const ReplayPortFlood& p = floods[0];
  EXPECT_EQ(formatTarget(p.flood.dst, p.flood.dst_port), "10.10.10.10:25565");
  EXPECT_EQ(p.first_packet_ns, 0u) << "the capture starts with the flood";
  EXPECT_LE(p.detectionDelayNs(), 300'000'000u);
  EXPECT_GE(p.flood.peak_rate, 20000);  // README: 22,322 SYNs in one second
  EXPECT_GE(p.flood.attempts, 35000u);
  // 37,623 distinct sources in the capture; the HyperLogLog's 3 standard errors.
  EXPECT_NEAR(static_cast<double>(p.flood.total_distinct_sources), 37623, 37623 * 0.276);
  EXPECT_EQ(p.flood.completion_ratio, 0.0) << "no client ever completes";
  EXPECT_LT(p.concentration, 0.01) << "spread over the whole address space";
  EXPECT_EQ(p.response.kind(), "none") << "no few prefixes to block: SYN cookies' job";
  EXPECT_TRUE(p.ended);
}

TEST(ReplayPortFloods, TheDominateFloodIsFoundWithinAFractionOfASecondOfItsSurge) {
  SG_NEED_CAPTURES(dir);
  auto floods = portFloods(dir, "pkt.TCP.DOMINATE.syn.ecn.cwr.pcapng");
  ASSERT_EQ(floods.size(), 1u);
  const ReplayPortFlood& p = floods[0];
  EXPECT_EQ(formatTarget(p.flood.dst, p.flood.dst_port), "10.10.10.10:30120");
  EXPECT_LE(p.detectionDelayNs(), 500'000'000u);
  EXPECT_GE(p.flood.peak_rate, 5000);
  EXPECT_NEAR(static_cast<double>(p.flood.total_distinct_sources), p.flood.attempts,
              p.flood.attempts * 0.276)
      << "a source per SYN";
  EXPECT_EQ(p.flood.completion_ratio, 0.0);
  EXPECT_EQ(p.response.kind(), "none");
}

TEST(ReplayPortFloods, TheReflectionCapturesHoldNoPortFlood) {
  SG_NEED_CAPTURES(dir);
  EXPECT_TRUE(portFloods(dir, "amp.TCP.syn.optionallyACK.optionallysamePort.pcapng").empty())
      << "344 SYNs over 14 minutes";
  EXPECT_TRUE(portFloods(dir, "amp.TCP.reflection.SYNACK.pcap").empty())
      << "SYN-ACKs are no connection attempts";
}

}  // namespace
}  // namespace sg
