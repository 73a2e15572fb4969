// block_scope through the loaded program: "attempts" (the agent's default)
// drops a blocked source's connection attempts only; "all" every packet.
#include "bpf/kernel_fixture.h"

namespace sg::test {
namespace {

using BlockScopeVerdictTest = KernelTest;

TEST_F(BlockScopeVerdictTest, AttemptsScopeDropsOnlyTheBlockedSourcesAttempts) {
  sg_config c = cfg_;
  c.block_scope = SG_SCOPE_ATTEMPTS;
  setConfig(c);
  ASSERT_EQ(synBurst("192.0.2.80", cfg_.threshold + 1), 1);
  ASSERT_TRUE(isBlocked("192.0.2.80"));
  EXPECT_EQ(send(synFrom("192.0.2.80")), XDP_DROP);
  PacketSpec synfin = synFrom("192.0.2.80");
  synfin.tcp_flags = kSyn | kFin;
  EXPECT_EQ(send(synfin), XDP_DROP) << "a SYN without ACK is an attempt whatever else is set";
  PacketSpec synack = synFrom("192.0.2.80");
  synack.tcp_flags = kSyn | kAck;
  PacketSpec frag = udpFrom("192.0.2.80");
  frag.frag_offset = 3;
  for (const PacketSpec& s : {ackFrom("192.0.2.80"), udpFrom("192.0.2.80"), synack, frag}) {
    EXPECT_EQ(send(s), XDP_PASS);
  }
  EXPECT_EQ(counter(SG_CNT_DROPPED), 3u);  // the crossing, the SYN, the SYN|FIN

  // The same holds for a manual block.
  sg_block b{};
  b.added_ns = sensor_->kernelNowNs();
  b.expires_ns = b.added_ns + 60'000'000'000ull;
  b.flags = SG_BLK_XDP_DROP | SG_BLK_MANUAL;
  ASSERT_OK(sensor_->addBlock(keyOf("203.0.113.80"), b));
  EXPECT_EQ(send(ackFrom("203.0.113.80")), XDP_PASS);
  EXPECT_EQ(send(synFrom("203.0.113.80")), XDP_DROP);
}

TEST_F(BlockScopeVerdictTest, AllScopeDropsEveryPacketAndTheScopeChangesAtRunTime) {
  sg_config c = cfg_;
  c.block_scope = SG_SCOPE_ALL;
  setConfig(c);
  ASSERT_EQ(synBurst("192.0.2.81", cfg_.threshold + 1), 1);
  EXPECT_EQ(send(ackFrom("192.0.2.81")), XDP_DROP);
  EXPECT_EQ(send(udpFrom("192.0.2.81")), XDP_DROP);
  c.block_scope = SG_SCOPE_ATTEMPTS;  // no reload
  setConfig(c);
  EXPECT_EQ(send(ackFrom("192.0.2.81")), XDP_PASS);
  EXPECT_EQ(send(synFrom("192.0.2.81")), XDP_DROP);
}

}  // namespace
}  // namespace sg::test
