// The block prefilter: sg_blocks is looked up only for keys whose bit is set;
// the kernel and addBlock set bits, rebuilds (sweepExpired, removeBlock)
// clear the stale ones and keep every live block's bit.
#include "bpf/kernel_fixture.h"

namespace sg::test {
namespace {

using PrefilterTest = KernelTest;

sg_block blockUntil(uint64_t expires_ns) {
  sg_block b{};
  b.added_ns = expires_ns > 1000 ? expires_ns - 1000 : 1;
  b.expires_ns = expires_ns;
  b.flags = SG_BLK_XDP_DROP | SG_BLK_MANUAL;
  return b;
}

TEST_F(PrefilterTest, EmptyAtLoadAndOneBitPerKernelBlock) {
  EXPECT_EQ(sensor_->blockBitsSet(), 0u);
  EXPECT_FALSE(sensor_->blocksActiveHint());
  ASSERT_EQ(synBurst("192.0.2.40", cfg_.threshold + 1), 1);
  EXPECT_EQ(sensor_->blockBitsSet(), 1u);
  EXPECT_TRUE(sensor_->blocksActiveHint());
  EXPECT_EQ(send(udpFrom("192.0.2.40")), XDP_DROP);
  EXPECT_EQ(send(udpFrom("192.0.2.41")), XDP_PASS);
}

TEST_F(PrefilterTest, KernelExpiryLeavesAStaleBitThatTheSweepClears) {
  ASSERT_OK(sensor_->addBlock(keyOf("192.0.2.50"), blockUntil(1)));
  EXPECT_EQ(sensor_->blockBitsSet(), 1u);
  EXPECT_EQ(send(ackFrom("192.0.2.50")), XDP_PASS) << "expired: passed and removed";
  EXPECT_EQ(counter(SG_CNT_BLOCKS_EXPIRED), 1u);
  EXPECT_EQ(sensor_->blockBitsSet(), 1u) << "the kernel never clears a bit";
  auto swept = sensor_->sweepExpired(sensor_->kernelNowNs());
  ASSERT_OK(swept);
  EXPECT_TRUE(swept->empty());
  EXPECT_EQ(sensor_->blockBitsSet(), 0u);
  EXPECT_FALSE(sensor_->blocksActiveHint());
}

TEST_F(PrefilterTest, RebuildKeepsTheBitOfEveryLiveBlock) {
  const uint64_t far = sensor_->kernelNowNs() + 600'000'000'000ull;
  std::vector<std::string> live;
  for (int i = 1; i <= 40; i++) {
    live.push_back("198.51.100." + std::to_string(i));
    ASSERT_OK(sensor_->addBlock(keyOf(live.back()), blockUntil(far)));
  }
  ASSERT_OK(sensor_->addBlock(keyOf("2001:db8:9::"), blockUntil(far)));
  auto removed = sensor_->removeBlock(keyOf("2001:db8:9::"));
  ASSERT_OK(removed);
  EXPECT_TRUE(*removed);
  EXPECT_LE(sensor_->blockBitsSet(), live.size());
  EXPECT_GE(sensor_->blockBitsSet(), live.size() - 2) << "a few keys may share a bit";
  for (const std::string& s : live) EXPECT_EQ(send(ackFrom(s)), XDP_DROP) << s;
  EXPECT_EQ(send(synFrom("2001:db8:9::5")), XDP_PASS);
}

// A block the kernel inserts while user space rebuilds the prefilter (here:
// between the rebuild's listing and its clearing) keeps its bit throughout:
// a packet of that source sent right after the clearing is dropped.
TEST_F(PrefilterTest, BlockInsertedDuringARebuildIsNeverWithoutItsBit) {
  const uint64_t far = sensor_->kernelNowNs() + 600'000'000'000ull;
  ASSERT_OK(sensor_->addBlock(keyOf("192.0.2.60"), blockUntil(far)));
  ASSERT_OK(sensor_->addBlock(keyOf("192.0.2.61"), blockUntil(far)));
  const uint32_t gone_bit = sensor_->blockBitOf(keyOf("192.0.2.61"));
  // A flooder whose bit is not the one the rebuild may clear.
  std::string flooder;
  for (int i = 1; i < 250 && flooder.empty(); i++) {
    std::string s = "203.0.113." + std::to_string(i);
    if (sensor_->blockBitOf(keyOf(s)) != gone_bit) flooder = s;
  }
  ASSERT_FALSE(flooder.empty());
  int crossings = 0;
  uint32_t verdict_after_clear = XDP_PASS;
  sensor_->setRebuildHook([&](XdpSensor::RebuildStep step) {
    if (step == XdpSensor::RebuildStep::kListed) {
      crossings += synBurst(flooder, cfg_.threshold + 1);
    } else {
      verdict_after_clear = send(ackFrom(flooder));
    }
  });
  auto removed = sensor_->removeBlock(keyOf("192.0.2.61"));
  sensor_->setRebuildHook({});
  ASSERT_OK(removed);
  ASSERT_EQ(crossings, 1) << "the kernel blocked the flooder during the rebuild";
  EXPECT_EQ(verdict_after_clear, XDP_DROP) << "the flooder's bit was lost for a moment";
  EXPECT_EQ(send(ackFrom(flooder)), XDP_DROP);
  EXPECT_EQ(send(ackFrom("192.0.2.60")), XDP_DROP);
}

}  // namespace
}  // namespace sg::test
