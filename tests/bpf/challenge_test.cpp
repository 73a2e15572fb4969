// Challenge instead of block (bpf/sg_challenge.h) through BPF_PROG_TEST_RUN,
// with source_response = challenge: a source over the threshold is
// challenged, not dropped; once armed, its SYNs come back as XDP_TX SYN-ACKs
// whose cookie the kernel accepts, the matching ACK passes, a forged ACK is
// dropped; other sources are untouched; completions past the connection
// threshold turn the challenge into a block; the allowlist wins; IPv4 and
// IPv6 (a challenged /64 is challenged whole).
#include <linux/bpf.h>

#include <cstring>
#include <string>
#include <vector>

#include "bpf/challenge_fixture.h"
#include "sg_handshake.h"

namespace sg::test {
namespace {

TEST_F(Challenge, ACrossingChallengesTheSourceInsteadOfDroppingIt) {
  EXPECT_EQ(cross("192.0.2.1"), 0) << "no SYN of a challenged source is dropped";
  const sg_block* b = findBlock("192.0.2.1");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->flags & (SG_BLK_CHALLENGE | SG_BLK_XDP_DROP), SG_BLK_CHALLENGE);
  EXPECT_TRUE(b->flags & SG_BLK_HALF_OPEN) << "it crossed the half-open threshold";
  EXPECT_EQ(b->level, 0);
  EXPECT_EQ(b->expires_ns - b->added_ns, cfg_.block_ns);
  EXPECT_EQ(counter(SG_CNT_CHAL_ADDED), 1u);
  EXPECT_EQ(counter(SG_CNT_BLOCKS_ADDED), 0u);
  const std::vector<sg_event> ev = drainEvents();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].type, static_cast<uint32_t>(SG_EV_CHALLENGED));
  EXPECT_EQ(ev[0].reason, SG_REASON_HALF_OPEN);
  // Not armed yet (the agent has not put it under SYNPROXY): its SYNs go to
  // the stack as before, untouched.
  const Frame s = syn("192.0.2.1", 41000);
  const TestOutput out = run(s.bytes);
  EXPECT_EQ(out.verdict, static_cast<uint32_t>(XDP_PASS));
  EXPECT_EQ(out.frame, s.bytes);
}

TEST_F(Challenge, AnArmedSourceGetsCookieSynAcksItsAckPassesAForgedOneIsDropped) {
  ASSERT_EQ(cross("192.0.2.1"), 0);
  arm("192.0.2.1");
  const Frame s = syn("192.0.2.1", 41000);
  const TestOutput synack = run(s.bytes);
  ASSERT_EQ(synack.verdict, static_cast<uint32_t>(XDP_TX));
  EXPECT_EQ(synack.frame[s.l4 + 13], kSyn | kAck);
  EXPECT_EQ(get32(synack.frame, s.l4 + 8), get32(s.bytes, s.l4 + 4) + 1) << "acknowledges the SYN";
  EXPECT_EQ(counter(SG_CNT_CHAL_SYNACKS), 1u);
  EXPECT_EQ(run(ackFor(s, synack)).verdict, static_cast<uint32_t>(XDP_PASS));
  EXPECT_EQ(counter(SG_CNT_CHAL_ACKS_VALID), 1u);
  // A forged ACK (no cookie: a spoofer never saw the SYN-ACK) is dropped.
  EXPECT_EQ(run(ackFor(s, synack, 0x5a5a5a5a)).verdict, static_cast<uint32_t>(XDP_DROP));
  EXPECT_EQ(counter(SG_CNT_CHAL_ACKS_DROPPED), 1u);
  // Other flags are the stack's: a RST passes.
  std::vector<uint8_t> rst = s.bytes;
  rst[s.l4 + 13] = kRst;
  EXPECT_EQ(run(rst).verdict, static_cast<uint32_t>(XDP_PASS));
}

TEST_F(Challenge, Ipv6ChallengesTheWholePrefix) {
  ASSERT_EQ(cross("2001:db8:7:7::1"), 0);
  arm("2001:db8:7:7::");
  // Another address of the same /64: the same challenged source.
  const Frame s = syn("2001:db8:7:7::99", 42000);
  const TestOutput synack = run(s.bytes);
  ASSERT_EQ(synack.verdict, static_cast<uint32_t>(XDP_TX));
  EXPECT_EQ(run(ackFor(s, synack)).verdict, static_cast<uint32_t>(XDP_PASS));
  EXPECT_EQ(run(ackFor(s, synack, 7)).verdict, static_cast<uint32_t>(XDP_DROP));
  // The next /64 is not challenged.
  const Frame other = syn("2001:db8:7:8::1", 42001);
  EXPECT_EQ(run(other.bytes).verdict, static_cast<uint32_t>(XDP_PASS));
}

TEST_F(Challenge, OtherSourcesAreUnaffected) {
  ASSERT_EQ(cross("192.0.2.1"), 0);
  arm("192.0.2.1");
  const Frame s = syn("192.0.2.2", 43000);
  TestOutput out = run(s.bytes);
  EXPECT_EQ(out.verdict, static_cast<uint32_t>(XDP_PASS));
  EXPECT_EQ(out.frame, s.bytes);
  std::vector<uint8_t> ack = s.bytes;  // an ACK of no cookie: not ours to judge
  ack[s.l4 + 13] = kAck;
  EXPECT_EQ(run(ack).verdict, static_cast<uint32_t>(XDP_PASS));
  EXPECT_EQ(counter(SG_CNT_CHAL_ACKS_DROPPED), 0u);
  EXPECT_EQ(counter(SG_CNT_CHAL_SYNACKS), 0u);
}

TEST_F(Challenge, CompletionsPastTheConnectionThresholdBlockTheSourceForReal) {
  ASSERT_EQ(cross("192.0.2.1"), 0);
  (void)drainEvents();
  arm("192.0.2.1");
  // conn_threshold 8: eight completions pass, the ninth is one too many.
  for (uint16_t i = 0; i < 8; i++) {
    EXPECT_EQ(handshake("192.0.2.1", static_cast<uint16_t>(44000 + i)),
              static_cast<uint32_t>(XDP_PASS))
        << i;
  }
  EXPECT_EQ(handshake("192.0.2.1", 44100), static_cast<uint32_t>(XDP_DROP));
  const sg_block* b = findBlock("192.0.2.1");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->flags & (SG_BLK_CHALLENGE | SG_BLK_XDP_DROP | SG_BLK_CONNECTIONS),
            SG_BLK_XDP_DROP | SG_BLK_CONNECTIONS);
  EXPECT_EQ(b->count, 9u);
  EXPECT_EQ(counter(SG_CNT_CHAL_BLOCKED), 1u);
  const std::vector<sg_event> ev = drainEvents();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].type, static_cast<uint32_t>(SG_EV_BLOCK_ADDED));
  EXPECT_EQ(ev[0].reason, SG_REASON_CONNECTIONS);
  // Blocked: its SYNs are dropped, no more SYN-ACKs.
  EXPECT_EQ(run(syn("192.0.2.1", 44200).bytes).verdict, static_cast<uint32_t>(XDP_DROP));
  EXPECT_EQ(counter(SG_CNT_CHAL_SYNACKS), 9u);
}

TEST_F(Challenge, TheAllowlistWins) {
  ASSERT_OK(sensor_->setAllowlist({*parsePrefix("192.0.2.0/24")}));
  EXPECT_EQ(cross("192.0.2.1"), 0);
  EXPECT_EQ(findBlock("192.0.2.1"), nullptr);
  EXPECT_EQ(counter(SG_CNT_CHAL_ADDED), 0u);
  EXPECT_EQ(counter(SG_CNT_ALLOWLISTED), 1u);
}

TEST_F(Challenge, BlockResponseStillDrops) {
  sg_config c = challengeConfig();
  c.source_response = SG_RESPONSE_BLOCK;
  setConfig(c);
  EXPECT_EQ(cross("192.0.2.1"), 1) << "the crossing SYN is dropped";
  const sg_block* b = findBlock("192.0.2.1");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->flags & (SG_BLK_CHALLENGE | SG_BLK_XDP_DROP), SG_BLK_XDP_DROP);
  EXPECT_EQ(counter(SG_CNT_CHAL_ADDED), 0u);
}

TEST_F(Challenge, ARepeatOffenceEscalatesLikeABlock) {
  ASSERT_EQ(cross("192.0.2.1"), 0);
  const sg_block* first = findBlock("192.0.2.1");
  ASSERT_NE(first, nullptr);
  const uint64_t first_end = first->expires_ns;
  // The challenge ends early (removed as the sweep removes an expired one);
  // the source crosses again: level 1, twice the duration.
  ASSERT_OK(sensor_->removeBlock(keyOf("192.0.2.1")));
  ASSERT_GT(first_end, 0u);
  ASSERT_EQ(cross("192.0.2.1"), 0);
  const sg_block* second = findBlock("192.0.2.1");
  ASSERT_NE(second, nullptr);
  EXPECT_EQ(second->level, 1);
  EXPECT_TRUE(second->flags & SG_BLK_CHALLENGE);
  EXPECT_EQ(second->expires_ns - second->added_ns, 2 * cfg_.block_ns);
}

// Review s16 M1: the client's first data segment (a TLS ClientHello right
// behind its ACK: the same sequence and acknowledgement numbers) passes the
// cookie check as well, so while conntrack has not confirmed the flow (XDP
// runs a NAPI batch before the stack sees its first packet) each real
// connection counted as two completions: the owner of a challenged address
// was blocked for real at half the connection threshold. A flow counts once
// (sg_chal_counted): 5 real connections (the threshold is 8) leave the
// address challenged.
TEST_F(Challenge, AClientsFirstDataSegmentIsNotASecondCompletion) {
  ASSERT_EQ(cross("192.0.2.1"), 0);
  arm("192.0.2.1");
  for (uint16_t i = 0; i < 5; i++) {
    const uint16_t sport = static_cast<uint16_t>(45000 + i);
    const Frame s = syn("192.0.2.1", sport);
    const TestOutput synack = run(s.bytes);
    ASSERT_EQ(synack.verdict, static_cast<uint32_t>(XDP_TX));
    const std::vector<uint8_t> ack = ackFor(s, synack);
    EXPECT_EQ(run(ack).verdict, static_cast<uint32_t>(XDP_PASS)) << "connection " << i + 1;
    PacketSpec d = synFrom("192.0.2.1", kPort);
    d.dst = "198.51.100.1";
    d.sport = sport;
    d.payload = 100;
    Frame data = buildFrame(d);
    data.bytes[data.l4 + 13] = kAck | 0x08;  // PSH|ACK
    put32(data.bytes, data.l4 + 4, get32(ack, s.l4 + 4));
    put32(data.bytes, data.l4 + 8, get32(ack, s.l4 + 8));
    (void)run(data.bytes);
  }
  const sg_block* b = findBlock("192.0.2.1");
  ASSERT_NE(b, nullptr);
  EXPECT_TRUE(b->flags & SG_BLK_CHALLENGE)
      << "5 connections (threshold 8) blocked the address: data segments counted as completions ("
      << counter(SG_CNT_CHAL_ACKS_VALID) << " valid ACKs)";
}

// Review s17 H1: the kernel's SYNPROXY (nft_synproxy) takes any segment with
// ACK and no SYN as the handshake's third packet when conntrack does not hold
// its flow, so each such segment of a challenged source is judged: mid-stream
// segments of a flow conntrack does not hold (no cookie's numbers) are
// dropped, as SYNPROXY would drop them in the stack; a bare RST and a SYN-ACK
// are the stack's.
TEST_F(Challenge, EverySegmentWithAckAndNoSynIsJudgedAsSynproxyWould) {
  ASSERT_EQ(cross("192.0.2.1"), 0);
  arm("192.0.2.1");
  auto segment = [](uint8_t flags, uint32_t payload) {
    PacketSpec d = synFrom("192.0.2.1", kPort);
    d.dst = "198.51.100.1";
    d.sport = 46000;
    d.payload = payload;
    Frame f = buildFrame(d);
    f.bytes[f.l4 + 13] = flags;
    put32(f.bytes, f.l4 + 4, 0x11223344);  // mid-stream: no cookie's numbers
    put32(f.bytes, f.l4 + 8, 0x55667788);
    return f.bytes;
  };
  EXPECT_EQ(run(segment(kAck, 0)).verdict, static_cast<uint32_t>(XDP_DROP)) << "ACK";
  EXPECT_EQ(run(segment(kAck | kPsh, 100)).verdict, static_cast<uint32_t>(XDP_DROP)) << "PSH|ACK";
  EXPECT_EQ(run(segment(kAck, 100)).verdict, static_cast<uint32_t>(XDP_DROP)) << "data";
  EXPECT_EQ(run(segment(kAck | 0x20, 0)).verdict, static_cast<uint32_t>(XDP_DROP)) << "URG|ACK";
  EXPECT_EQ(run(segment(kAck | kFin, 0)).verdict, static_cast<uint32_t>(XDP_DROP)) << "FIN|ACK";
  EXPECT_EQ(run(segment(kAck | kRst, 0)).verdict, static_cast<uint32_t>(XDP_DROP)) << "RST|ACK";
  EXPECT_EQ(counter(SG_CNT_CHAL_ACKS_DROPPED), 6u);
  EXPECT_EQ(run(segment(kRst, 0)).verdict, static_cast<uint32_t>(XDP_PASS)) << "RST";
  EXPECT_EQ(run(segment(kSyn | kAck, 0)).verdict, static_cast<uint32_t>(XDP_PASS)) << "SYN-ACK";
  EXPECT_EQ(counter(SG_CNT_CHAL_ACKS_DROPPED), 6u);
  EXPECT_EQ(counter(SG_CNT_CHAL_ACKS_VALID), 0u);
}

// Review s17 H1: a source that receives its SYN-ACKs (the connection flooder
// the threshold is for) completed as many handshakes as it liked with a third
// packet that was no pure ACK (here PSH|ACK): SYNPROXY completes it, and the
// judge left it to the stack uncounted. 20 such handshakes (conn_threshold 8)
// now turn the challenge into a block.
TEST_F(Challenge, ThirdPacketsWithPshStillMeetTheConnectionThreshold) {
  ASSERT_EQ(cross("192.0.2.1"), 0);
  (void)drainEvents();
  arm("192.0.2.1");
  for (uint16_t i = 0; i < 20; i++) {
    const Frame s = syn("192.0.2.1", static_cast<uint16_t>(46000 + i));
    const TestOutput synack = run(s.bytes);
    if (synack.verdict == XDP_DROP) break;  // blocked for real: its SYNs are dropped
    ASSERT_EQ(synack.verdict, static_cast<uint32_t>(XDP_TX)) << i;
    std::vector<uint8_t> ack = ackFor(s, synack);
    ack[s.l4 + 13] = kAck | kPsh;  // PSH|ACK, no payload: SYNPROXY completes it
    (void)run(ack);
  }
  const sg_block* b = findBlock("192.0.2.1");
  ASSERT_NE(b, nullptr);
  EXPECT_TRUE(b->flags & SG_BLK_XDP_DROP)
      << "20 cookie handshakes (conn_threshold 8) completed with PSH|ACK left the source "
         "challenged; valid ACKs counted: "
      << counter(SG_CNT_CHAL_ACKS_VALID);
}

// Review s17 H1: every shape of third packet SYNPROXY completes counts once:
// URG, a payload, FIN and RST beside ACK (one handshake each).
TEST_F(Challenge, EveryShapeOfThirdPacketCountsAsACompletion) {
  ASSERT_EQ(cross("192.0.2.1"), 0);
  arm("192.0.2.1");
  struct Shape {
    const char* name;
    uint8_t flags;
    size_t payload;
  };
  const Shape shapes[] = {{"URG|ACK", kAck | 0x20, 0},
                          {"PSH|ACK + 1 byte", kAck | kPsh, 1},
                          {"ACK + 100 bytes", kAck, 100},
                          {"FIN|ACK", kAck | kFin, 0},
                          {"RST|ACK", kAck | kRst, 0}};
  uint64_t counted = 0;
  uint16_t sport = 47000;
  for (const Shape& shape : shapes) {
    const PacketSpec spec = synSpec("192.0.2.1", ++sport);
    const TestOutput synack = run(buildPacket(spec));
    ASSERT_EQ(synack.verdict, static_cast<uint32_t>(XDP_TX)) << shape.name;
    EXPECT_EQ(run(segmentOf(spec, synack, shape.flags, shape.payload)).verdict,
              static_cast<uint32_t>(XDP_PASS))
        << shape.name;
    EXPECT_EQ(counter(SG_CNT_CHAL_ACKS_VALID), ++counted) << shape.name << " was not counted";
  }
  EXPECT_EQ(counter(SG_CNT_CHAL_ACKS_DROPPED), 0u);
}

// Review s17 H1: a valid cookie counts once per flow. A duplicated third ACK
// (the network's, or the client's retransmission) and the client's data
// segments behind it, while conntrack has yet to confirm the flow, pass and
// are not counted again; the next segment, whose sequence moved past the
// cookie's, passes too rather than fail the cookie.
TEST_F(Challenge, AFlowCountsOnceAndItsLaterSegmentsPass) {
  ASSERT_EQ(cross("192.0.2.1"), 0);
  arm("192.0.2.1");
  PacketSpec spec = synSpec("192.0.2.1", 48000);
  const TestOutput synack = run(buildPacket(spec));
  ASSERT_EQ(synack.verdict, static_cast<uint32_t>(XDP_TX));
  const std::vector<uint8_t> ack = segmentOf(spec, synack, kAck, 0);
  EXPECT_EQ(run(ack).verdict, static_cast<uint32_t>(XDP_PASS));
  EXPECT_EQ(run(ack).verdict, static_cast<uint32_t>(XDP_PASS)) << "the duplicate";
  EXPECT_EQ(counter(SG_CNT_CHAL_ACKS_VALID), 1u);
  EXPECT_EQ(run(segmentOf(spec, synack, kAck | kPsh, 100)).verdict, static_cast<uint32_t>(XDP_PASS))
      << "first data";
  EXPECT_EQ(run(segmentOf(spec, synack, kAck | kPsh, 100, 100)).verdict,
            static_cast<uint32_t>(XDP_PASS))
      << "second data: its seq no longer matches the cookie";
  EXPECT_EQ(counter(SG_CNT_CHAL_ACKS_VALID), 1u);
  EXPECT_EQ(counter(SG_CNT_CHAL_ACKS_DROPPED), 0u);
  // A new connection from the same port (another ISN, so another cookie)
  // counts.
  spec.seq = kIsn + 7;
  const TestOutput synack2 = run(buildPacket(spec));
  ASSERT_EQ(synack2.verdict, static_cast<uint32_t>(XDP_TX));
  ASSERT_NE(get32(synack2.frame, 34 + 4), get32(synack.frame, 34 + 4));
  EXPECT_EQ(run(segmentOf(spec, synack2, kAck, 0)).verdict, static_cast<uint32_t>(XDP_PASS));
  EXPECT_EQ(counter(SG_CNT_CHAL_ACKS_VALID), 2u);
}

}  // namespace
}  // namespace sg::test
