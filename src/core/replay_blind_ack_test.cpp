// Replay credits a completed handshake only for the ACK the kernel would
// take (review finding M1): the handshake's third packet, whose sequence
// number follows the SYN's and, where the capture holds the host's SYN-ACKs,
// whose acknowledgement number acknowledges that SYN-ACK. A "SYN + blind ACK"
// flood completes nothing and is flagged as half-open, as the kernel
// (completions from sock:inet_sock_set_state) would block it.
#include <gtest/gtest.h>

#include <string>
#include <utility>

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
constexpr uint64_t kT0 = 1'700'000'000ull * kSec;

void put32At(Bytes& p, size_t at, uint32_t v) {
  for (int i = 0; i < 4; i++) p[at + i] = static_cast<uint8_t>(v >> (24 - 8 * i));
}

// A TCP segment between `client`:cport and 10.10.10.10:443 with these
// numbers, in an Ethernet frame; `from_host`: the host's, to the client.
Bytes segment(uint32_t client, uint16_t cport, uint8_t flags, uint32_t seq, uint32_t ack,
              bool from_host = false) {
  Bytes p = test::ipv4Tcp(client, 443, flags, cport);
  put32At(p, 24, seq);
  put32At(p, 28, ack);
  if (from_host) {
    for (int i = 0; i < 4; i++) std::swap(p[12 + i], p[16 + i]);
    std::swap(p[20], p[22]);
    std::swap(p[21], p[23]);
  }
  return test::ethernet(p, SG_ETH_P_IP);
}

enum class Third { kRealAck, kBlindAck, kWrongSeq };

// `n` handshake attempts from `client`, one every `every_ms` from `at_ms`:
// SYN, the host's SYN-ACK (when `two_way`), then the client's third packet.
void handshakes(test::PcapWriter& w, uint32_t client, uint16_t first_port, int n, uint64_t at_ms,
                uint64_t every_ms, Third third, bool two_way) {
  for (int i = 0; i < n; i++) {
    const uint64_t t = kT0 + (at_ms + static_cast<uint64_t>(i) * every_ms) * kMs;
    const auto port = static_cast<uint16_t>(first_port + i);
    const uint32_t c = 1000u * static_cast<uint32_t>(i + 1) + client;  // client's ISN
    const uint32_t s = 0x80000000u + 7u * static_cast<uint32_t>(i);    // host's ISN
    w.add(t, segment(client, port, SG_TCP_SYN, c, 0));
    if (two_way) w.add(t + 100'000, segment(client, port, SG_TCP_SYN | SG_TCP_ACK, s, c + 1, true));
    const uint32_t seq = third == Third::kWrongSeq ? c + 7777 : c + 1;
    // A blind ACK: zero, or a guess one off the host's number.
    const uint32_t ack = third == Third::kRealAck ? s + 1 : (i % 2 ? 0 : s + 2);
    w.add(t + 200'000, segment(client, port, SG_TCP_ACK, seq, ack));
  }
}

const Detection* detectionOf(const ReplayResult& r, const std::string& source) {
  for (const Detection& d : r.detections) {
    if (d.source == source) return &d;
  }
  return nullptr;
}

ReplayOptions options() {
  ReplayOptions o;
  o.cfg = test::testConfig(200);  // connection threshold 2,000
  return o;
}

// A two-direction capture: a client completing 500 handshakes in 2 s passes,
// a SYN + blind ACK flooder beside it at the same rate is flagged half-open.
TEST(ReplayBlindAck, ASynAndBlindAckFloodIsHalfOpenWhereTheHostsSynAcksAreSeen) {
  test::PcapWriter w(false, false, kLinkEthernet);
  handshakes(w, 0x0A010101, 10000, 500, 0, 4, Third::kRealAck, true);
  handshakes(w, 0x0A010105, 20000, 500, 1, 4, Third::kBlindAck, true);
  auto r = replayCapture(w.out, options());
  ASSERT_OK(r);
  EXPECT_TRUE(r->summary.completions_verified);
  EXPECT_EQ(detectionOf(*r, "10.1.1.1"), nullptr) << "its handshakes all completed";
  const Detection* flood = detectionOf(*r, "10.1.1.5");
  ASSERT_NE(flood, nullptr) << "blind ACKs credited as completions";
  EXPECT_EQ(flood->reason, SG_REASON_HALF_OPEN);
  EXPECT_EQ(flood->count, 201u);
  EXPECT_EQ(r->summary.completions, 500u);
  EXPECT_EQ(r->summary.counters.c[SG_CNT_SRC_COMPLETIONS], 500u);
  EXPECT_GE(r->summary.acks_not_completing, 200u);
}

// The same from the host's cooked (SLL2) view, its SYN-ACKs marked outgoing:
// replayed only to be matched, never counted as incoming.
TEST(ReplayBlindAck, TheHostsOutgoingSynAcksInACookedCaptureVerifyTheAcks) {
  test::PcapWriter eth(false, false, kLinkEthernet);
  handshakes(eth, 0x0A010101, 10000, 300, 0, 4, Third::kRealAck, true);
  handshakes(eth, 0x0A010105, 20000, 300, 1, 4, Third::kBlindAck, true);
  auto frames = readCapture(eth.out);
  ASSERT_OK(frames);
  test::PcapWriter w(false, false, kLinkLinuxSll2);
  for (const CapturedPacket& cp : *frames) {
    Bytes f = {0x08, 0x00, 0, 0, 0, 0, 0, 3, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0};
    if (cp.bytes[14 + 12] == 10 && cp.bytes[14 + 15] == 10) f[10] = 4;  // from 10.10.10.10
    f.insert(f.end(), cp.bytes.begin() + 14, cp.bytes.end());
    w.add(cp.timestamp_ns, f);
  }
  auto r = replayCapture(w.out, options());
  ASSERT_OK(r);
  EXPECT_EQ(r->summary.outgoing, 600u);
  EXPECT_TRUE(r->summary.completions_verified);
  EXPECT_EQ(r->summary.completions, 300u);
  EXPECT_EQ(detectionOf(*r, "10.1.1.1"), nullptr);
  const Detection* flood = detectionOf(*r, "10.1.1.5");
  ASSERT_NE(flood, nullptr);
  EXPECT_EQ(flood->reason, SG_REASON_HALF_OPEN);
}

// One direction (no SYN-ACK of the host's): acknowledgement numbers cannot be
// checked; third packets that follow the SYN's sequence number complete their
// handshake, and replay says the completions are unverified.
TEST(ReplayBlindAck, AOneDirectionCaptureCreditsAcksThatFollowTheSynButSaysUnverified) {
  test::PcapWriter w(false, false, kLinkEthernet);
  handshakes(w, 0x0A010101, 10000, 500, 0, 4, Third::kRealAck, false);
  auto r = replayCapture(w.out, options());
  ASSERT_OK(r);
  EXPECT_FALSE(r->summary.completions_verified);
  EXPECT_EQ(r->summary.completions, 500u);
  EXPECT_EQ(detectionOf(*r, "10.1.1.1"), nullptr);
}

// ...but an "ACK" whose sequence number does not follow the SYN's is no
// handshake's third packet, whichever direction the capture holds.
TEST(ReplayBlindAck, AnAckNotFollowingTheSynsSequenceNumberCompletesNothing) {
  test::PcapWriter w(false, false, kLinkEthernet);
  handshakes(w, 0x0A010106, 30000, 500, 0, 4, Third::kWrongSeq, false);
  auto r = replayCapture(w.out, options());
  ASSERT_OK(r);
  EXPECT_EQ(r->summary.completions, 0u);
  // Those of the 200 SYNs passed before the block (the rest were dropped).
  EXPECT_EQ(r->summary.acks_not_completing, 200u);
  const Detection* d = detectionOf(*r, "10.1.1.6");
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->reason, SG_REASON_HALF_OPEN);
}

// A SYN replay's own model dropped (its source blocked) was never answered:
// the ACK that follows it completes nothing.
TEST(ReplayBlindAck, AnAckAfterASynTheModelDroppedCompletesNothing) {
  test::PcapWriter w(false, false, kLinkEthernet);
  for (uint16_t i = 0; i < 300; i++) {  // bare SYNs: blocked at the 201st
    w.add(kT0 + i * kMs, segment(0x0A010107, static_cast<uint16_t>(40000 + i), SG_TCP_SYN, i, 0));
  }
  handshakes(w, 0x0A010107, 50000, 300, 1000, 4, Third::kRealAck, false);
  auto r = replayCapture(w.out, options());
  ASSERT_OK(r);
  const Detection* d = detectionOf(*r, "10.1.1.7");
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->reason, SG_REASON_HALF_OPEN);
  EXPECT_EQ(r->summary.completions, 0u) << "completions credited for SYNs the model dropped";
  EXPECT_EQ(r->summary.counters.c[SG_CNT_SRC_COMPLETIONS], 0u);
}

}  // namespace
}  // namespace sg
