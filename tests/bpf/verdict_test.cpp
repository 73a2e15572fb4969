// Packets in -> verdict out through the loaded program: counting, the
// threshold, blocks, the allowlist, IPv6 aggregation, VLAN tags, modes.
#include "bpf/kernel_fixture.h"

namespace sg::test {
namespace {

using VerdictTest = KernelTest;

TEST_F(VerdictTest, CountsPacketsAttemptsAndNonIp) {
  EXPECT_EQ(send(synFrom("192.0.2.1")), XDP_PASS);
  EXPECT_EQ(send(ackFrom("192.0.2.1")), XDP_PASS);
  EXPECT_EQ(send(udpFrom("192.0.2.1")), XDP_PASS);
  std::vector<uint8_t> arp = buildPacket(synFrom("192.0.2.1"));
  arp[12] = 0x08;
  arp[13] = 0x06;
  EXPECT_EQ(sendBytes(arp), XDP_PASS);
  PacketSpec frag = synFrom("192.0.2.1");
  frag.frag_offset = 10;
  EXPECT_EQ(send(frag), XDP_PASS);

  EXPECT_EQ(counter(SG_CNT_PACKETS), 5u);
  EXPECT_EQ(counter(SG_CNT_SYN), 1u);
  EXPECT_EQ(counter(SG_CNT_NON_IP), 1u);
  EXPECT_EQ(counter(SG_CNT_FRAGMENTS), 1u);
  EXPECT_EQ(counter(SG_CNT_MALFORMED), 0u);
  EXPECT_EQ(counter(SG_CNT_SOURCES_NEW), 1u);
  EXPECT_EQ(counter(SG_CNT_DROPPED), 0u);
}

TEST_F(VerdictTest, OnlySynWithoutAckOrRstIsAnAttempt) {
  const struct {
    uint8_t flags;
    bool attempt;
  } cases[] = {{kSyn, true},         {kSyn | kPsh, true},  {kSyn | kFin, true},
               {kSyn | kAck, false}, {kSyn | kRst, false}, {kAck, false},
               {kRst, false},        {kFin | kAck, false}, {0, false}};
  uint64_t expected = 0;
  for (const auto& c : cases) {
    PacketSpec s = synFrom("192.0.2.7");
    s.tcp_flags = c.flags;
    EXPECT_EQ(send(s), XDP_PASS);
    expected += c.attempt ? 1 : 0;
    EXPECT_EQ(counter(SG_CNT_SYN), expected) << "flags 0x" << std::hex << int(c.flags);
  }
}

TEST_F(VerdictTest, AttemptThresholdPlusOneIsDroppedNotBefore) {
  for (uint32_t i = 1; i <= cfg_.threshold; i++) {
    ASSERT_EQ(send(newSyn("192.0.2.10")), XDP_PASS) << "attempt " << i;
  }
  EXPECT_FALSE(isBlocked("192.0.2.10"));
  EXPECT_EQ(send(newSyn("192.0.2.10")), XDP_DROP) << "attempt threshold+1";
  EXPECT_TRUE(isBlocked("192.0.2.10"));
  EXPECT_TRUE(sensor_->blocksActiveHint());
  EXPECT_EQ(counter(SG_CNT_BLOCKS_ADDED), 1u);
  EXPECT_EQ(counter(SG_CNT_FLAGGED), 1u);
  EXPECT_EQ(counter(SG_CNT_DROPPED), 1u) << "the crossing packet is dropped and counted";
}

TEST_F(VerdictTest, DetectionAndBlockHappenWithinTheCrossingPacket) {
  // XDP's detection-to-block time, measured: the block event's detection
  // timestamp falls inside the test-run of the packet that crossed, and that
  // very packet is dropped; the one before it passed, with no event.
  synBurst("192.0.2.11", cfg_.threshold);
  EXPECT_TRUE(drainEvents().empty());
  const uint64_t before = monotonicNs();
  EXPECT_EQ(send(synFrom("192.0.2.11")), XDP_DROP);
  const uint64_t after = monotonicNs();
  auto events = drainEvents();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, static_cast<uint32_t>(SG_EV_BLOCK_ADDED));
  EXPECT_GE(events[0].mono_ns, before);
  EXPECT_LE(events[0].mono_ns, after);
  EXPECT_EQ(send(ackFrom("192.0.2.11")), XDP_DROP) << "and the block holds for what follows";
}

TEST_F(VerdictTest, EveryPacketOfABlockedSourceIsDroppedOthersUntouched) {
  synBurst("192.0.2.20", cfg_.threshold + 1);
  ASSERT_TRUE(isBlocked("192.0.2.20"));
  PacketSpec frag = udpFrom("192.0.2.20");
  frag.frag_offset = 3;
  PacketSpec v6frag = synFrom("2001:db8::1");
  const std::vector<PacketSpec> from_blocked = {synFrom("192.0.2.20"), ackFrom("192.0.2.20"),
                                                udpFrom("192.0.2.20"), frag};
  for (const PacketSpec& s : from_blocked) EXPECT_EQ(send(s), XDP_DROP);
  // + 1: the crossing attempt, dropped by the detector itself.
  EXPECT_EQ(counter(SG_CNT_DROPPED), from_blocked.size() + 1);

  const std::vector<PacketSpec> from_others = {synFrom("192.0.2.21"), ackFrom("192.0.2.21"),
                                               udpFrom("198.51.100.20"), synFrom("2001:db8::1")};
  for (const PacketSpec& s : from_others) EXPECT_EQ(send(s), XDP_PASS);

  auto blocks = sensor_->listBlocks();
  ASSERT_OK(blocks);
  ASSERT_EQ(blocks->size(), 1u);
  EXPECT_EQ(blocks->front().block.drops, from_blocked.size() + 1);
  // Dropping, and crossed by half-open attempts (none of them completed).
  EXPECT_EQ(blocks->front().block.flags, SG_BLK_XDP_DROP | SG_BLK_HALF_OPEN);
}

TEST_F(VerdictTest, BlockRecordsCountPortAndDuration) {
  synBurst("192.0.2.30", cfg_.threshold + 1, 443);
  auto blocks = sensor_->listBlocks();
  ASSERT_OK(blocks);
  ASSERT_EQ(blocks->size(), 1u);
  const sg_block& b = blocks->front().block;
  EXPECT_EQ(b.count, cfg_.threshold + 1);
  EXPECT_EQ(b.dst_port, 443);
  EXPECT_EQ(b.level, 0);
  EXPECT_EQ(b.expires_ns - b.added_ns, cfg_.block_ns);
}

TEST_F(VerdictTest, AllowlistedSourceIsCountedNeverBlocked) {
  auto p = parsePrefix("192.0.2.0/28");
  ASSERT_OK(p);
  ASSERT_OK(sensor_->setAllowlist({*p}));
  EXPECT_EQ(synBurst("192.0.2.5", 3 * (cfg_.threshold + 1)), 0);
  EXPECT_FALSE(isBlocked("192.0.2.5"));
  EXPECT_EQ(counter(SG_CNT_ALLOWLISTED), 3u);  // once per threshold crossing
  // Just outside the prefix: blocked as usual.
  EXPECT_EQ(synBurst("192.0.2.16", cfg_.threshold + 1), 1);

  // Replacing the list removes the stale prefix.
  auto other = parsePrefix("2001:db8::/32");
  ASSERT_OK(other);
  ASSERT_OK(sensor_->setAllowlist({*other}));
  EXPECT_EQ(synBurst("192.0.2.5", cfg_.threshold + 1), 1);
  EXPECT_EQ(synBurst("2001:db8:1::1", 3 * (cfg_.threshold + 1)), 0);
  ASSERT_OK(sensor_->setAllowlist({}));
  EXPECT_EQ(synBurst("2001:db8:1::1", cfg_.threshold + 1), 1);
}

TEST_F(VerdictTest, Ipv6SourcesAreCountedPerSlash64) {
  // threshold+1 attempts spread over different hosts of one /64.
  for (uint32_t i = 0; i < cfg_.threshold; i++) {
    EXPECT_EQ(send(newSyn("2001:db8:0:1::" + std::to_string(i + 1))), XDP_PASS);
  }
  EXPECT_EQ(send(newSyn("2001:db8:0:1:ffff::9")), XDP_DROP);
  EXPECT_TRUE(isBlocked("2001:db8:0:1::"));
  EXPECT_EQ(send(ackFrom("2001:db8:0:1:abcd::1")), XDP_DROP) << "the whole /64 is blocked";
  EXPECT_EQ(send(ackFrom("2001:db8:0:2::1")), XDP_PASS) << "the next /64 is not";

  sg_config c = cfg_;
  c.v6_prefix_len = 128;
  setConfig(c);
  for (uint32_t i = 0; i < 2 * cfg_.threshold; i++) {
    EXPECT_EQ(send(synFrom("2001:db8:0:3::" + std::to_string(i + 1))), XDP_PASS);
  }
}

TEST_F(VerdictTest, VlanAndQinqFramesAreParsed) {
  for (const std::vector<uint16_t>& tags :
       std::vector<std::vector<uint16_t>>{{0x8100}, {0x88a8, 0x8100}, {0x9100, 0x8100}}) {
    const std::string src = "192.0.2." + std::to_string(40 + tags.size() * 2 + tags[0] % 7);
    PacketSpec s = synFrom(src);
    s.vlan_tpids = tags;
    uint32_t last = XDP_PASS;
    for (uint32_t i = 0; i <= cfg_.threshold; i++, s.seq++) last = send(s);  // new attempts
    EXPECT_EQ(last, XDP_DROP) << src;
    PacketSpec v6 = synFrom("2001:db8:" + std::to_string(tags.size() * 10 + tags[0] % 7) + "::1");
    v6.vlan_tpids = tags;
    last = XDP_PASS;
    for (uint32_t i = 0; i <= cfg_.threshold; i++, v6.seq++) last = send(v6);
    EXPECT_EQ(last, XDP_DROP) << v6.src;
  }
  EXPECT_EQ(counter(SG_CNT_MALFORMED), 0u);
}

TEST_F(VerdictTest, DetectOnlyFlagsWithoutDropping) {
  sg_config c = cfg_;
  c.enforce = SG_ENFORCE_NONE;
  setConfig(c);
  EXPECT_EQ(synBurst("192.0.2.50", 3 * (cfg_.threshold + 1)), 0);
  EXPECT_EQ(send(ackFrom("192.0.2.50")), XDP_PASS);
  auto events = drainEvents();
  ASSERT_EQ(events.size(), 1u) << "flagged once; later attempts are not recounted";
  EXPECT_EQ(events[0].type, static_cast<uint32_t>(SG_EV_FLAGGED));
  auto blocks = sensor_->listBlocks();
  ASSERT_OK(blocks);
  ASSERT_EQ(blocks->size(), 1u);
  EXPECT_EQ(blocks->front().block.flags & SG_BLK_XDP_DROP, 0);
  EXPECT_EQ(counter(SG_CNT_DROPPED), 0u);
}

TEST_F(VerdictTest, HandoffModeDropsUntilMarkedHandedOff) {
  sg_config c = cfg_;
  c.enforce = SG_ENFORCE_HANDOFF;
  setConfig(c);
  EXPECT_EQ(synBurst("192.0.2.60", cfg_.threshold + 1), 1);
  EXPECT_EQ(send(ackFrom("192.0.2.60")), XDP_DROP);
  ASSERT_OK(sensor_->markHandedOff(keyOf("192.0.2.60")));
  EXPECT_EQ(send(ackFrom("192.0.2.60")), XDP_PASS);
  EXPECT_EQ(send(synFrom("192.0.2.60")), XDP_PASS);
  EXPECT_EQ(counter(SG_CNT_DROPPED), 2u);  // the crossing attempt and the ACK
  EXPECT_ERROR(sensor_->markHandedOff(keyOf("192.0.2.61")), Errc::kNotFound);
}

class SmallBlockMapTest : public KernelTest {
 protected:
  SensorOptions sensorOptions() const override {
    SensorOptions o;
    o.max_blocks = 16;
    return o;
  }
};

TEST_F(SmallBlockMapTest, FullBlockMapStillDropsOverThresholdSyns) {
  for (int i = 0; i < 16; i++) {
    ASSERT_EQ(synBurst("10.1.0." + std::to_string(i + 1), cfg_.threshold + 1), 1) << i;
  }
  // The 17th offender finds no room: its over-threshold SYNs are still dropped.
  EXPECT_EQ(synBurst("10.1.1.1", cfg_.threshold), 0);
  EXPECT_EQ(synBurst("10.1.1.1", 10), 10);
  EXPECT_FALSE(isBlocked("10.1.1.1"));
  EXPECT_EQ(counter(SG_CNT_BLOCK_MAP_FULL), 10u);
  EXPECT_EQ(send(ackFrom("10.1.1.1")), XDP_PASS) << "without a block, only SYNs are limited";
}

TEST_F(VerdictTest, ManualBlockDropsAndRemovalRestores) {
  sg_block b{};
  b.added_ns = sensor_->kernelNowNs();
  b.expires_ns = b.added_ns + 60'000'000'000ull;
  b.flags = SG_BLK_XDP_DROP | SG_BLK_MANUAL;
  ASSERT_OK(sensor_->addBlock(keyOf("203.0.113.9"), b));
  EXPECT_EQ(send(udpFrom("203.0.113.9")), XDP_DROP);
  auto removed = sensor_->removeBlock(keyOf("203.0.113.9"));
  ASSERT_OK(removed);
  EXPECT_TRUE(*removed);
  EXPECT_FALSE(sensor_->blocksActiveHint()) << "empty map: the hint is cleared";
  EXPECT_EQ(send(udpFrom("203.0.113.9")), XDP_PASS);
  auto again = sensor_->removeBlock(keyOf("203.0.113.9"));
  ASSERT_OK(again);
  EXPECT_FALSE(*again);
}

TEST_F(VerdictTest, DisabledConfigPassesEverythingUncounted) {
  sg_config c = cfg_;
  c.enabled = 0;
  setConfig(c);
  EXPECT_EQ(synBurst("192.0.2.70", 3 * (cfg_.threshold + 1)), 0);
  EXPECT_EQ(counter(SG_CNT_SYN), 0u);
}

}  // namespace
}  // namespace sg::test
