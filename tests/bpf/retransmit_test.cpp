// The XDP program counts a retransmitted SYN (same ports, same sequence
// number as one of the source's last SG_RECENT_SYNS) once, up to the repeat
// allowance per window bucket (threshold / 4); past it a repeat counts as any
// attempt, so at most threshold + allowance SYNs of a source pass.
#include "bpf/kernel_fixture.h"
#include "sg_track.h"

namespace sg::test {
namespace {

constexpr uint32_t kThreshold = 200;
constexpr uint32_t kAllowance = kThreshold / 4;

class RetransmitTest : public KernelTest {
 protected:
  void SetUp() override {
    KernelTest::SetUp();
    if (HasFatalFailure() || IsSkipped()) return;
    sg_config c = cfg_;
    c.threshold = kThreshold;
    setConfig(c);
  }
  static PacketSpec synSeq(const std::string& src, uint32_t seq, uint16_t sport = 40000) {
    PacketSpec s = synFrom(src);
    s.seq = seq;
    s.sport = sport;
    return s;
  }
};

TEST_F(RetransmitTest, RetransmissionsWithinTheAllowanceDoNotBlock) {
  const std::string client = "192.0.2.30";
  // threshold distinct attempts; the first `allowance` of them each sent again.
  for (uint32_t i = 0; i < kThreshold; i++) {
    ASSERT_EQ(send(synSeq(client, 1000 + i)), XDP_PASS) << "attempt " << i;
    if (i < kAllowance) {
      ASSERT_EQ(send(synSeq(client, 1000 + i)), XDP_PASS) << "resend " << i;
    }
  }
  EXPECT_FALSE(isBlocked(client));
  EXPECT_EQ(counter(SG_CNT_RETRANS_EXCUSED), kAllowance);
  EXPECT_EQ(send(synSeq(client, 999)), XDP_DROP) << "the next new attempt crosses";
}

TEST_F(RetransmitTest, OneSynRepeatedPastTheAllowanceBlocks) {
  const std::string attacker = "192.0.2.31";
  uint32_t first_drop = 0;
  for (uint32_t i = 1; i <= 2 * kThreshold && first_drop == 0; i++) {
    if (send(synSeq(attacker, 7)) == XDP_DROP) first_drop = i;
  }
  EXPECT_EQ(first_drop, kThreshold + kAllowance + 1);
  EXPECT_EQ(counter(SG_CNT_RETRANS_EXCUSED), kAllowance);
}

TEST_F(RetransmitTest, DistinctSequenceNumbersCount) {
  const std::string src = "192.0.2.32";
  for (uint32_t i = 0; i < kThreshold; i++) ASSERT_EQ(send(synSeq(src, 5000 + i)), XDP_PASS);
  EXPECT_EQ(send(synSeq(src, 4999)), XDP_DROP);
  EXPECT_EQ(counter(SG_CNT_RETRANS_EXCUSED), 0u);
}

TEST_F(RetransmitTest, OnePortRepeatedInTheKernelAsInTheTracker) {
  // The same SYN sent by the kernel's test-run repeat: one frame, n times.
  const std::string src = "192.0.2.33";
  auto r = prog_->run(buildPacket(synSeq(src, 42)), kThreshold + kAllowance);
  ASSERT_OK(r);
  EXPECT_FALSE(isBlocked(src)) << "threshold + allowance identical SYNs pass";
  EXPECT_EQ(send(synSeq(src, 42)), XDP_DROP);
}

}  // namespace
}  // namespace sg::test
