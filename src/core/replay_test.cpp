// Replay over synthesized captures: the capture's clock drives the tracker.
#include "core/replay.h"

#include <gtest/gtest.h>

#include "core/capture_test_util.h"
#include "core/tracker_test_util.h"
#include "test_helpers.h"

namespace sg {
namespace {

using test::Bytes;
using test::kSec;

ReplayOptions options(uint32_t threshold, uint64_t window_s) {
  ReplayOptions o;
  o.cfg = test::testConfig(threshold);
  o.cfg.window_ns = window_s * kSec;
  return o;
}

TEST(Replay, FlagsTheHeavySourceAtItsCrossingTime) {
  test::PcapWriter w(false, false, kLinkEthernet);
  const uint64_t t0 = 1'700'000'000ull * kSec;
  // A steady background of 50 sources, 1 SYN/s each; 198.51.100.7 sends
  // 10 SYN/s from t=2 s; threshold 20 per 5 s: its 21st SYN at 2 s + 2.0 s.
  for (uint64_t ms = 0; ms < 10'000; ms += 100) {
    const uint64_t ts = t0 + ms * 1'000'000;
    if (ms % 1000 == 0) {
      for (uint32_t s = 0; s < 50; s++) {
        w.add(ts, test::ethernet(test::ipv4Tcp(0x0A000000 + s, 443, SG_TCP_SYN), SG_ETH_P_IP));
      }
    }
    if (ms >= 2000) {
      w.add(ts, test::ethernet(test::ipv4Tcp(0xC6336407, 80, SG_TCP_SYN), SG_ETH_P_IP));
      // ACKs of another connection: no handshake its SYNs began completes
      // (a completed one would be credited: tracker_handshake_test.cpp).
      w.add(ts, test::ethernet(test::ipv4Tcp(0xC6336407, 80, SG_TCP_ACK, 23456), SG_ETH_P_IP));
    }
  }
  auto r = replayCapture(w.out, options(20, 5));
  ASSERT_OK(r);
  ASSERT_EQ(r->detections.size(), 1u);
  const Detection& d = r->detections[0];
  EXPECT_EQ(d.source, "198.51.100.7");
  EXPECT_EQ(d.dst_port, 80);
  EXPECT_EQ(d.count, 21u);
  EXPECT_EQ(d.at_ns, 4 * kSec);
  EXPECT_EQ(d.block_ns, 60 * kSec);
  const ReplaySummary& s = r->summary;
  EXPECT_EQ(s.first_detection_ns, 4 * kSec);
  EXPECT_EQ(s.packets, 500u + 2 * 80u);
  EXPECT_EQ(s.attempts, 500u + 80u);
  EXPECT_EQ(s.distinct_sources, 51u);
  EXPECT_EQ(s.blocks, 1u);
  // After the block its attempts are dropped (block_scope "attempts", the
  // default): its SYNs from 4.0 s, the crossing SYN included; its ACKs pass.
  EXPECT_EQ(s.dropped, 60u);
  EXPECT_EQ(s.peak_attempts_per_sec, 60u);
  EXPECT_EQ(s.duration_ns, 9'900'000'000ull);
  EXPECT_FALSE(s.sketch_gated);
}

// --exact: the same capture through the exact counter finds the same
// crossing and says which mode answered.
TEST(Replay, ExactModeAgreesOnASimpleFloodAndSaysSo) {
  test::PcapWriter w(false, false, kLinkRaw);
  for (int i = 0; i < 30; i++) {
    w.add(kSec + i * (kSec / 10), test::ipv4Tcp(0xC6336407, 80, SG_TCP_SYN));
  }
  ReplayOptions o = options(20, 5);
  auto kernel = replayCapture(w.out, o);
  o.exact = true;
  auto exact = replayCapture(w.out, o);
  ASSERT_OK(kernel);
  ASSERT_OK(exact);
  EXPECT_FALSE(kernel->summary.exact);
  EXPECT_TRUE(exact->summary.exact);
  ASSERT_EQ(exact->detections.size(), 1u);
  ASSERT_EQ(kernel->detections.size(), 1u);
  EXPECT_EQ(exact->detections[0].source, kernel->detections[0].source);
  EXPECT_EQ(exact->detections[0].at_ns, kernel->detections[0].at_ns);
  EXPECT_EQ(exact->detections[0].count, 21u);
  EXPECT_EQ(exact->summary.dropped, kernel->summary.dropped);
  EXPECT_EQ(exact->summary.max_sources_used, 1u);
}

// Where they differ: 10 SYNs at 0..0.9 s, then 10 at 5.50..5.95 s, 14 allowed
// per 5 s. No 5 s ever holds more than 10, but the kernel's two-bucket
// estimate (sg_window.h: cur + prev * (window - elapsed) / window, error
// bounded by the previous bucket) reaches 15 at the 6th late SYN.
TEST(Replay, ExactModeUsesATrueSlidingWindow) {
  test::PcapWriter w(false, false, kLinkRaw);
  for (uint64_t i = 0; i < 10; i++) {
    w.add(kSec + i * (kSec / 10), test::ipv4Tcp(0xC6336407, 80, SG_TCP_SYN));
  }
  for (uint64_t i = 0; i < 10; i++) {
    w.add(kSec + 5 * kSec + kSec / 2 + i * (kSec / 20), test::ipv4Tcp(0xC6336407, 80, SG_TCP_SYN));
  }
  ReplayOptions o = options(14, 5);
  auto kernel = replayCapture(w.out, o);
  o.exact = true;
  auto exact = replayCapture(w.out, o);
  ASSERT_OK(kernel);
  ASSERT_OK(exact);
  EXPECT_TRUE(exact->detections.empty());
  ASSERT_EQ(kernel->detections.size(), 1u);
  EXPECT_EQ(kernel->detections[0].at_ns, 5 * kSec + kSec / 2 + 5 * (kSec / 20));
}

TEST(Replay, Ipv6AggregatesPerPrefixAndCooksSll2) {
  test::PcapngWriter w(true);
  w.interface(static_cast<uint16_t>(kLinkLinuxSll2), 9);
  for (uint16_t i = 0; i < 30; i++) {
    Bytes f = {0x86, 0xdd, 0, 0, 0, 0, 0, 3, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0};
    if (i % 10 == 9) f[10] = 4;  // outgoing: not replayed
    Bytes ip = test::ipv6Tcp(static_cast<uint16_t>(i + 1), 22, SG_TCP_SYN);
    f.insert(f.end(), ip.begin(), ip.end());
    w.epb(0, 5'000'000'000ull + i * 1'000'000ull, f);
  }
  auto r = replayCapture(w.out, options(20, 5));
  ASSERT_OK(r);
  EXPECT_EQ(r->summary.outgoing, 3u);
  EXPECT_EQ(r->summary.attempts, 27u);
  EXPECT_EQ(r->summary.distinct_sources, 1u);
  ASSERT_EQ(r->detections.size(), 1u);
  EXPECT_EQ(r->detections[0].source, "2001:db8::/64");
  EXPECT_EQ(r->detections[0].at_ns, 22'000'000ull);  // the 21st counted attempt
}

TEST(Replay, ErrorsOnUnsupportedLinkTypeAndBadFiles) {
  test::PcapWriter w(false, false, 105);
  w.add(1, Bytes(40, 0));
  auto r = replayCapture(w.out, options(20, 5));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("packet 1: unsupported link type 105"), std::string::npos)
      << r.error().message();
  EXPECT_ERROR(replayCapture(Bytes{'h', 'e', 'l', 'l', 'o'}, options(20, 5)),
               Errc::kInvalidArgument);
  auto empty = replayCapture(test::PcapWriter(true, true, 1).out, options(20, 5));
  ASSERT_OK(empty);
  EXPECT_EQ(empty->summary.packets, 0u);
}

TEST(Replay, EmptyAndShortFramesAreMalformed) {
  test::PcapWriter w(false, false, kLinkEthernet);
  w.add(1, Bytes{});  // found by pcap_fuzz: the parser got a null pointer
  w.add(2, Bytes(13, 0));
  test::PcapngWriter ng(false);
  ng.interface(static_cast<uint16_t>(kLinkLinuxSll));
  ng.epb(0, 1, Bytes(15, 0));  // cooked header cut short
  for (const Bytes* file : {&w.out, &ng.out}) {
    auto r = replayCapture(*file, options(20, 5));
    ASSERT_OK(r);
    EXPECT_EQ(r->summary.malformed, r->summary.packets);
    EXPECT_EQ(r->summary.counters.c[SG_CNT_MALFORMED], r->summary.packets);
  }
}

TEST(Replay, CaptureOutOfOrderNeverMovesTheClockBack) {
  test::PcapWriter w(false, true, kLinkRaw);
  auto syn = [] { return test::ipv4Tcp(0x0A000001, 80, SG_TCP_SYN); };  // each a new attempt
  w.add(10 * kSec, syn());
  w.add(20 * kSec, syn());
  w.add(5 * kSec, syn());  // earlier than the first
  for (int i = 0; i < 19; i++) w.add(20 * kSec, syn());
  auto r = replayCapture(w.out, options(20, 5));
  ASSERT_OK(r);
  ASSERT_EQ(r->detections.size(), 1u);  // 21 attempts held at 20 s (the first is out of window)
  EXPECT_EQ(r->detections[0].at_ns, 10 * kSec);
}

TEST(Replay, AGapOfDecadesInTheCaptureClockIsSkippedNotSteppedThrough) {
  // The fuzzer's find: port-flood sampling stepped every 100 ms of a gap
  // (a timestamp 130 years on: 4e10 steps). An idle stretch is now one step.
  test::PcapWriter w(false, true, kLinkRaw);
  auto syn = [] { return test::ipv4Tcp(0x0A000001, 80, SG_TCP_SYN); };
  w.add(1 * kSec, syn());
  w.add(4'100'000'000ull * kSec, syn());
  w.add(4'100'000'001ull * kSec, syn());
  auto r = replayCapture(w.out, options(20, 5));
  ASSERT_OK(r);
  EXPECT_EQ(r->summary.attempts, 3u);
  EXPECT_TRUE(r->detections.empty());
  EXPECT_TRUE(r->port_floods.empty());
}

TEST(Replay, ParsesAHashSeed) {
  auto k = parseHashKey("0123456789abcdefFEDCBA9876543210");
  ASSERT_OK(k);
  EXPECT_EQ(k->k0, 0x0123456789abcdefull);
  EXPECT_EQ(k->k1, 0xfedcba9876543210ull);
  EXPECT_ERROR(parseHashKey("0123"), Errc::kInvalidArgument);
  EXPECT_ERROR(parseHashKey("0123456789abcdefFEDCBA987654321x"), Errc::kInvalidArgument);
}

}  // namespace
}  // namespace sg
