// Replay answers as the kernel's handshake-aware counting does: a capture's
// client ACKs that complete a handshake it saw begin credit their source
// (what completes one: core/handshake_match.h, replay_blind_ack_test.cpp).
#include <gtest/gtest.h>

#include <string>

#include "core/capture_test_util.h"
#include "core/replay.h"
#include "core/tracker_test_util.h"
#include "sg_handshake.h"
#include "test_helpers.h"

namespace sg {
namespace {

using test::Bytes;
using test::kSec;
constexpr uint64_t kMs = 1'000'000;

const Detection* detectionOf(const ReplayResult& r, const std::string& source) {
  for (const Detection& d : r.detections) {
    if (d.source == source) return &d;
  }
  return nullptr;
}

// Over 4 s: a NAT gateway (10.1.1.1) opening 250 connections a second, each
// completed 20 ms later; a half-open flooder (10.1.1.2) at 100 SYNs a second;
// a connection flooder (10.1.1.3) completing 800 connections a second.
Bytes natFlooderAndConnectionFlood() {
  test::PcapWriter w(false, false, kLinkEthernet);
  const uint64_t t0 = 1'700'000'000ull * kSec;
  // The third packet's sequence number follows the SYN's, as a real client's
  // does (HandshakeMatch takes nothing else as the handshake's end).
  auto add = [&](uint64_t at, uint32_t src, uint8_t flags, uint16_t sport) {
    Bytes p = test::ipv4Tcp(src, 443, flags, sport);
    const uint32_t seq = (src << 16 | sport) + (flags == SG_TCP_ACK ? 1 : 0);
    for (int i = 0; i < 4; i++) p[24 + i] = static_cast<uint8_t>(seq >> (24 - 8 * i));
    w.add(t0 + at, test::ethernet(p, SG_ETH_P_IP));
  };
  for (uint64_t ms = 0; ms < 4000; ms++) {
    if (ms % 4 == 0) add(ms * kMs, 0x0A010101, SG_TCP_SYN, static_cast<uint16_t>(1000 + ms / 4));
    if (ms >= 20 && (ms - 20) % 4 == 0) {
      add(ms * kMs, 0x0A010101, SG_TCP_ACK, static_cast<uint16_t>(1000 + (ms - 20) / 4));
    }
    if (ms % 10 == 0) add(ms * kMs, 0x0A010102, SG_TCP_SYN, static_cast<uint16_t>(2000 + ms));
    for (uint16_t k = 0; k < 4; k++) {
      if (ms % 5 != 0) break;
      const auto sport = static_cast<uint16_t>(10000 + (ms / 5) * 4 + k);
      add(ms * kMs, 0x0A010103, SG_TCP_SYN, sport);
      add(ms * kMs + 500'000, 0x0A010103, SG_TCP_ACK, sport);
    }
  }
  return w.out;
}

TEST(ReplayHandshakes, ANatGatewayPassesWhileAHalfOpenAndAConnectionFlooderAreBlocked) {
  ReplayOptions o;
  o.cfg = test::testConfig(200);  // connection threshold 2,000 (10x)
  ASSERT_EQ(o.cfg.conn_threshold, 2000u);
  auto r = replayCapture(natFlooderAndConnectionFlood(), o);
  ASSERT_OK(r);
  EXPECT_EQ(detectionOf(*r, "10.1.1.1"), nullptr) << "1,000 attempts, all completed";
  const Detection* half = detectionOf(*r, "10.1.1.2");
  ASSERT_NE(half, nullptr);
  EXPECT_EQ(half->reason, SG_REASON_HALF_OPEN);
  EXPECT_EQ(half->count, 201u);
  EXPECT_NEAR(static_cast<double>(half->at_ns) / kSec, 2.0, 0.02);
  const Detection* conn = detectionOf(*r, "10.1.1.3");
  ASSERT_NE(conn, nullptr);
  EXPECT_EQ(conn->reason, SG_REASON_CONNECTIONS);
  EXPECT_NEAR(static_cast<double>(conn->at_ns) / kSec, 2.5, 0.02);
  EXPECT_EQ(r->summary.counters.c[SG_CNT_SRC_COMPLETIONS] > 1000, true);
  // One direction: the host's SYN-ACKs are not in it.
  EXPECT_FALSE(r->summary.completions_verified);
}

TEST(ReplayHandshakes, WithHandshakeCountingOffTheGatewayIsBlockedAtTheFloodThreshold) {
  ReplayOptions o;
  o.cfg = test::testConfig(200);
  o.cfg.conn_threshold = 0;
  auto r = replayCapture(natFlooderAndConnectionFlood(), o);
  ASSERT_OK(r);
  const Detection* nat = detectionOf(*r, "10.1.1.1");
  ASSERT_NE(nat, nullptr);
  EXPECT_EQ(nat->reason, SG_REASON_ATTEMPTS);
}

TEST(ReplayHandshakes, AnAckWithoutASeenSynCreditsNothing) {
  // ACKs alone (a capture that began mid-connection, or forged ACKs) are
  // no completions: the source is judged by its SYNs.
  test::PcapWriter w(false, false, kLinkEthernet);
  const uint64_t t0 = 1'700'000'000ull * kSec;
  for (uint16_t i = 0; i < 300; i++) {
    w.add(t0 + i * kMs,
          test::ethernet(test::ipv4Tcp(0x0A010104, 443, SG_TCP_ACK, 5000 + i), SG_ETH_P_IP));
    w.add(t0 + i * kMs + 1,
          test::ethernet(test::ipv4Tcp(0x0A010104, 443, SG_TCP_SYN, 6000 + i), SG_ETH_P_IP));
  }
  ReplayOptions o;
  o.cfg = test::testConfig(200);
  auto r = replayCapture(w.out, o);
  ASSERT_OK(r);
  EXPECT_EQ(r->summary.counters.c[SG_CNT_SRC_COMPLETIONS], 0u);
  const Detection* d = detectionOf(*r, "10.1.1.4");
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->reason, SG_REASON_HALF_OPEN);
}

}  // namespace
}  // namespace sg
