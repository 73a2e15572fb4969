// The block cache (bpf/sg_block_cache_bpf.h): a blocked source's packets are
// dropped without the sg_blocks lookup, and never once the block is gone or
// no longer drops in XDP (unblock, hand-off, a replacing block, expiry); the
// drops it makes count for the block.
#include <bpf/bpf.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "bpf/kernel_fixture.h"

namespace sg::test {
namespace {

class BlockCacheTest : public KernelTest {
 protected:
  // The program's sg_blocks, found through the loaded program's maps.
  int blockMapFd() {
    bpf_prog_info info{};
    uint32_t ids[64] = {};
    info.nr_map_ids = 64;
    info.map_ids = reinterpret_cast<uint64_t>(ids);
    uint32_t len = sizeof info;
    if (bpf_obj_get_info_by_fd(sensor_->progFd(), &info, &len) != 0) return -1;
    for (uint32_t i = 0; i < info.nr_map_ids && i < 64; i++) {
      const int fd = bpf_map_get_fd_by_id(ids[i]);
      bpf_map_info mi{};
      uint32_t mlen = sizeof mi;
      if (fd >= 0 && bpf_obj_get_info_by_fd(fd, &mi, &mlen) == 0 &&
          std::string(mi.name) == "sg_blocks") {
        return fd;
      }
      if (fd >= 0) close(fd);
    }
    return -1;
  }
  uint64_t dropsOf(const std::string& src) {
    auto blocks = sensor_->listBlocks();
    EXPECT_OK(blocks);
    const sg_addr k = keyOf(src);
    for (const KernelBlock& b : *blocks) {
      if (std::memcmp(b.key.b, k.b, 16) == 0) return b.block.drops;
    }
    ADD_FAILURE() << src << " is not blocked";
    return 0;
  }
  // Blocks `src` by a SYN burst (the detector), sees a packet of it dropped
  // (cached by that lookup), deletes it from the block map behind the
  // sensor's back and sees the next one dropped all the same: by the cache.
  void expectCachedAfterTheMapForgetsIt(const char* src) {
    synBurst(src, cfg_.threshold + 1);
    ASSERT_TRUE(isBlocked(src));
    EXPECT_EQ(send(ackFrom(src)), XDP_DROP);  // found by the lookup: cached
    const int fd = blockMapFd();
    ASSERT_GE(fd, 0);
    const sg_addr k = keyOf(src);
    ASSERT_EQ(bpf_map_delete_elem(fd, &k), 0);
    close(fd);
    EXPECT_EQ(send(ackFrom(src)), XDP_DROP) << src << " dropped through the cache";
  }
};

TEST_F(BlockCacheTest, ABlockedSourceIsDroppedWithoutTheBlockMap) {
  // Taken out of the map behind the sensor's back (no epoch bump): only the
  // cache can still drop its packets — which is why every unblock bumps it.
  expectCachedAfterTheMapForgetsIt("192.0.2.40");
}

TEST_F(BlockCacheTest, UnblockEndsTheCachedDropsAtOnce) {
  // Another blocked source shares its prefilter bit, so the bit stays set
  // after the unblock and the packet reaches the cache.
  const uint32_t bit = sensor_->blockBitOf(keyOf("192.0.2.41"));
  sg_addr other = keyOf("10.0.0.0");
  for (uint32_t i = 1; i < (1u << 24); i++) {
    other.b[13] = static_cast<uint8_t>(i >> 16);
    other.b[14] = static_cast<uint8_t>(i >> 8);
    other.b[15] = static_cast<uint8_t>(i);
    if (sensor_->blockBitOf(other) == bit) break;
  }
  ASSERT_EQ(sensor_->blockBitOf(other), bit);
  sg_block manual{};
  manual.added_ns = sensor_->kernelNowNs();
  manual.expires_ns = manual.added_ns + 60'000'000'000ull;
  manual.flags = SG_BLK_XDP_DROP | SG_BLK_MANUAL;
  ASSERT_OK(sensor_->addBlock(other, manual));
  synBurst("192.0.2.41", cfg_.threshold + 1);
  for (int i = 0; i < 3; i++) EXPECT_EQ(send(ackFrom("192.0.2.41")), XDP_DROP);
  auto removed = sensor_->removeBlock(keyOf("192.0.2.41"));
  ASSERT_OK(removed);
  EXPECT_TRUE(*removed);
  EXPECT_EQ(send(ackFrom("192.0.2.41")), XDP_PASS) << "the cache must not outlive an unblock";
  EXPECT_EQ(send(synFrom("192.0.2.41")), XDP_PASS);
}

TEST_F(BlockCacheTest, HandOffEndsTheCachedDrops) {
  synBurst("192.0.2.42", cfg_.threshold + 1);
  EXPECT_EQ(send(ackFrom("192.0.2.42")), XDP_DROP);
  ASSERT_OK(sensor_->markHandedOff(keyOf("192.0.2.42")));
  EXPECT_EQ(send(ackFrom("192.0.2.42")), XDP_PASS) << "nftables holds it now, XDP passes";
}

TEST_F(BlockCacheTest, AReplacingBlockThatDoesNotDropPasses) {
  synBurst("192.0.2.43", cfg_.threshold + 1);
  EXPECT_EQ(send(ackFrom("192.0.2.43")), XDP_DROP);
  sg_block flag_only{};
  flag_only.added_ns = sensor_->kernelNowNs();
  flag_only.expires_ns = flag_only.added_ns + 60'000'000'000ull;
  flag_only.flags = SG_BLK_MANUAL;  // flagged, not dropped in XDP
  ASSERT_OK(sensor_->addBlock(keyOf("192.0.2.43"), flag_only));
  EXPECT_EQ(send(ackFrom("192.0.2.43")), XDP_PASS);
}

TEST_F(BlockCacheTest, CachedDropsStopAtTheBlocksExpiry) {
  sg_block b{};
  b.added_ns = sensor_->kernelNowNs();
  b.expires_ns = b.added_ns + 30'000'000;  // 30 ms
  b.flags = SG_BLK_XDP_DROP | SG_BLK_MANUAL;
  ASSERT_OK(sensor_->addBlock(keyOf("192.0.2.44"), b));
  EXPECT_EQ(send(ackFrom("192.0.2.44")), XDP_DROP);  // the lookup, which fills the cache
  EXPECT_EQ(send(ackFrom("192.0.2.44")), XDP_DROP);  // the cache
  while (sensor_->kernelNowNs() < b.expires_ns + 10'000'000) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(send(ackFrom("192.0.2.44")), XDP_PASS);
}

TEST_F(BlockCacheTest, CachedDropsCountForTheBlock) {
  synBurst("192.0.2.45", cfg_.threshold + 1);
  for (int i = 0; i < 7; i++) EXPECT_EQ(send(ackFrom("192.0.2.45")), XDP_DROP);
  EXPECT_EQ(dropsOf("192.0.2.45"), 8u) << "the crossing attempt and the 7 after it";
  // A sweep that takes the block out reports them too.
  auto expired = sensor_->sweepExpired(~0ull);
  ASSERT_OK(expired);
  ASSERT_EQ(expired->size(), 1u);
  EXPECT_EQ(expired->front().block.drops, 8u);
}

// On CPUs that may reorder loads (sg_block_cache_weak, set by the loader off
// x86; forced here) the fill reads the epoch again and looks the block up
// again behind a barrier: a blocked source is still cached, and a block
// gone before the fill is not.
class BlockCacheWeakOrderTest : public BlockCacheTest {
 protected:
  SensorOptions sensorOptions() const override {
    SensorOptions o;
    o.weak_load_order = true;
    return o;
  }
};

TEST_F(BlockCacheWeakOrderTest, TheOrderedFillStillCachesABlockedSource) {
  expectCachedAfterTheMapForgetsIt("192.0.2.42");
}

}  // namespace
}  // namespace sg::test
