// Reflection in replay (core/replay_reflect.h): SYN-ACKs for handshakes the
// capture saw start are matched, the others counted and detected; and on the
// real SYN-ACK reflection capture in ../shared/data/captures when present
// (absent with CI=true: a failure).
#include "core/replay_reflect.h"

#include <gtest/gtest.h>

#include "core/captures_test_util.h"
#include "core/replay.h"
#include "core/tracker_test_util.h"
#include "test_helpers.h"

namespace sg {
namespace {

constexpr uint64_t kMs = 1'000'000;

sg_pkt tcp(uint8_t flags, uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport) {
  sg_pkt p{};
  p.kind = SG_PKT_TCP;
  p.tcp_flags = flags;
  p.family = 4;
  p.has_src = 1;
  p.src_port = sport;
  p.dst_port = dport;
  p.src.b[10] = p.src.b[11] = p.dst.b[10] = p.dst.b[11] = 0xff;
  for (int i = 0; i < 4; i++) {
    p.src.b[12 + i] = static_cast<uint8_t>(src >> (24 - 8 * i));
    p.dst.b[12 + i] = static_cast<uint8_t>(dst >> (24 - 8 * i));
  }
  return p;
}

constexpr uint32_t kHost = 0x0a0a0a0a, kServer = 0xc6336401;  // 10.10.10.10, 198.51.100.1

TEST(ReflectionReplay, SynAcksForHandshakesTheHostStartedAreNoReflection) {
  ReflectionReplay r{ReflectionOptions{}};
  for (uint16_t i = 0; i < 2000; i++) {
    const auto port = static_cast<uint16_t>(30000 + i);
    r.onPacket(tcp(SG_TCP_SYN, kHost, port, kServer, 443), i * kMs / 2);
    r.onPacket(tcp(SG_TCP_SYN | SG_TCP_ACK, kServer, 443, kHost, port), i * kMs / 2 + 1);
  }
  ReflectionStory s = r.finish(1000 * kMs);
  EXPECT_EQ(s.synacks, 2000u);
  EXPECT_EQ(s.unmatched, 0u);
  EXPECT_TRUE(s.reflections.empty());
}

TEST(ReflectionReplay, UnaskedSynAcksAreAReflectionWithItsReflectors) {
  ReflectionReplay r{ReflectionOptions{}};
  r.onPacket(tcp(SG_TCP_SYN, kHost, 30000, kServer, 443), 0);
  for (uint32_t i = 0; i < 3000; i++) {
    r.onPacket(tcp(SG_TCP_SYN | SG_TCP_ACK, kServer + (i % 50), 80, kHost,
                   static_cast<uint16_t>(1024 + i)),
               kMs + i * kMs / 3);
  }
  ReflectionStory s = r.finish(8000 * kMs);
  EXPECT_EQ(s.synacks, 3000u);
  EXPECT_EQ(s.unmatched, 3000u);
  ASSERT_EQ(s.reflections.size(), 1u);
  const Reflection& x = s.reflections[0].reflection;
  EXPECT_TRUE(s.reflections[0].ended) << "ends 3 s after the last SYN-ACK, inside 8 s";
  EXPECT_EQ(x.distinct_reflectors, 50u);
  ASSERT_FALSE(x.top_ports.empty());
  EXPECT_EQ(x.top_ports[0].src, "80");
  EXPECT_NEAR(x.peak_rate, 3000, 300);
  EXPECT_LE(x.detected_ns, 300 * kMs) << "detected within a few harvests";
}

TEST(ReflectionReplay, TheRealSynAckReflectionCaptureIsAReflection) {
  SG_NEED_CAPTURES(dir);
  const std::vector<uint8_t> bytes = test::readCaptureFile(dir, "amp.TCP.reflection.SYNACK.pcap");
  ASSERT_FALSE(bytes.empty());
  ReplayOptions o;
  o.cfg = test::testConfig(200);
  auto r = replayCapture(bytes, o);
  ASSERT_OK(r);
  const ReflectionStory& s = r->reflection;
  EXPECT_EQ(s.synacks, 6651u) << "the README's count";
  EXPECT_EQ(s.unmatched, s.synacks) << "the capture holds no SYN of ours";
  ASSERT_EQ(s.reflections.size(), 1u);
  const Reflection& x = s.reflections[0].reflection;
  EXPECT_EQ(x.distinct_reflectors, 6035u) << "distinct sources of its SYN-ACKs";
  ASSERT_GE(x.top_ports.size(), 2u);
  EXPECT_EQ(x.top_ports[0].src, "80");
  EXPECT_EQ(x.top_ports[0].synacks, 5890u);
  EXPECT_EQ(x.top_ports[1].src, "443");
  EXPECT_GT(x.peak_rate, 1000);
  EXPECT_LE(x.detected_ns, 200 * kMs) << "the first harvest after it began";
}

}  // namespace
}  // namespace sg
