// Block expiry: in the kernel (the next packet after the end passes and
// removes the entry) and by user space (sweepExpired + the block prefilter).
#include <thread>

#include "bpf/kernel_fixture.h"

namespace sg::test {
namespace {

using ExpiryTest = KernelTest;

sg_block blockEnding(uint64_t expires_ns) {
  sg_block b{};
  b.added_ns = expires_ns > 1000 ? expires_ns - 1000 : 1;
  b.expires_ns = expires_ns;
  b.flags = SG_BLK_XDP_DROP;
  return b;
}

TEST_F(ExpiryTest, ExpiredBlockPassesAndIsRemovedByTheNextPacket) {
  ASSERT_OK(sensor_->addBlock(keyOf("192.0.2.80"), blockEnding(1)));
  EXPECT_EQ(send(ackFrom("192.0.2.80")), XDP_PASS);
  EXPECT_FALSE(isBlocked("192.0.2.80"));
  EXPECT_EQ(counter(SG_CNT_BLOCKS_EXPIRED), 1u);
  EXPECT_EQ(counter(SG_CNT_DROPPED), 0u);
}

TEST_F(ExpiryTest, ShortRealBlockEndsOnTime) {
  sg_config c = cfg_;
  c.block_ns = 50'000'000;  // 50 ms
  setConfig(c);
  ASSERT_EQ(synBurst("192.0.2.81", cfg_.threshold + 1), 1);
  ASSERT_EQ(send(ackFrom("192.0.2.81")), XDP_DROP);
  // Bounded wait: the jiffies clock ticks every 1-10 ms; 2 s is generous.
  const uint64_t deadline = monotonicNs() + 2'000'000'000ull;
  uint32_t verdict = XDP_DROP;
  while (verdict == XDP_DROP && monotonicNs() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    verdict = send(ackFrom("192.0.2.81"));
  }
  EXPECT_EQ(verdict, XDP_PASS);
  EXPECT_FALSE(isBlocked("192.0.2.81"));
  // Its window restarted at the block: a whole new threshold is needed.
  EXPECT_EQ(synBurst("192.0.2.81", cfg_.threshold), 0);
}

TEST_F(ExpiryTest, SweepReturnsExpiredBlocksAndKeepsTheOthers) {
  const uint64_t now = sensor_->kernelNowNs();
  ASSERT_OK(sensor_->addBlock(keyOf("192.0.2.90"), blockEnding(now - 1)));
  ASSERT_OK(sensor_->addBlock(keyOf("192.0.2.91"), blockEnding(now + 60'000'000'000ull)));
  auto swept = sensor_->sweepExpired(now);
  ASSERT_OK(swept);
  ASSERT_EQ(swept->size(), 1u);
  EXPECT_EQ(std::memcmp(swept->front().key.b, keyOf("192.0.2.90").b, 16), 0);
  EXPECT_TRUE(sensor_->blocksActiveHint()) << "one block remains";
  EXPECT_EQ(send(ackFrom("192.0.2.91")), XDP_DROP);

  auto rest = sensor_->sweepExpired(now + 61'000'000'000ull);
  ASSERT_OK(rest);
  EXPECT_EQ(rest->size(), 1u);
  EXPECT_FALSE(sensor_->blocksActiveHint()) << "map empty: the hint is cleared";
  EXPECT_EQ(send(ackFrom("192.0.2.91")), XDP_PASS);
  // With the hint clear, a new crossing sets it again.
  ASSERT_EQ(synBurst("192.0.2.92", cfg_.threshold + 1), 1);
  EXPECT_TRUE(sensor_->blocksActiveHint());
  EXPECT_EQ(send(ackFrom("192.0.2.92")), XDP_DROP);
}

TEST_F(ExpiryTest, RepeatOffenderGetsADoubledBlock) {
  ASSERT_EQ(synBurst("192.0.2.95", cfg_.threshold + 1), 1);
  // End the first block now (rewrite it as expired), then offend again.
  auto blocks = sensor_->listBlocks();
  ASSERT_OK(blocks);
  ASSERT_EQ(blocks->size(), 1u);
  ASSERT_OK(sensor_->addBlock(keyOf("192.0.2.95"), blockEnding(1)));
  ASSERT_EQ(synBurst("192.0.2.95", cfg_.threshold + 1), 1);
  blocks = sensor_->listBlocks();
  ASSERT_OK(blocks);
  ASSERT_EQ(blocks->size(), 1u);
  EXPECT_EQ(blocks->front().block.level, 1);
  EXPECT_EQ(blocks->front().block.expires_ns - blocks->front().block.added_ns, 2 * cfg_.block_ns);
}

// The sweep lists and deletes in batches: a table of more blocks than one
// batch (4,096) is listed whole, and only the expired ones go.
TEST_F(ExpiryTest, SweepOfManyBlocksListsThemAllAndKeepsTheLiveOnes) {
  const uint64_t now = sensor_->kernelNowNs();
  const int n = 6000;
  for (int i = 0; i < n; i++) {
    const std::string a = "10." + std::to_string(i / 256) + "." + std::to_string(i % 256) + ".1";
    ASSERT_OK(sensor_->addBlock(keyOf(a), blockEnding(i % 2 == 0 ? 1 : now + 60'000'000'000ull)));
  }
  auto all = sensor_->listBlocks();
  ASSERT_OK(all);
  EXPECT_EQ(all->size(), static_cast<size_t>(n));
  auto swept = sensor_->sweepExpired(now);
  ASSERT_OK(swept);
  EXPECT_EQ(swept->size(), static_cast<size_t>(n / 2));
  auto rest = sensor_->listBlocks();
  ASSERT_OK(rest);
  EXPECT_EQ(rest->size(), static_cast<size_t>(n / 2));
  EXPECT_EQ(send(ackFrom("10.0.1.1")), XDP_DROP);
  EXPECT_EQ(send(ackFrom("10.0.0.1")), XDP_PASS);
}

}  // namespace
}  // namespace sg::test
