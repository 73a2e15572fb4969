// The program's clock (jiffies * ns_per_jiffy) as user space sees it: HZ from
// the kernel config or measured, and kernelNowNs() against the times the
// program writes.
#include "bpf/kernel_fixture.h"
#include "linux/xdp_sensor_clock.h"

namespace sg::test {
namespace {

using ClockTest = KernelTest;

TEST(KernelHz, ParsesConfigHzAndRejectsGarbage) {
  auto hz = configHzFromText("# CONFIG_HZ_100 is not set\nCONFIG_HZ_250=y\nCONFIG_HZ=250\n");
  ASSERT_OK(hz);
  EXPECT_EQ(*hz, 250u);
  EXPECT_ERROR(configHzFromText("CONFIG_HZ_1000=y\n"), Errc::kNotFound);
  EXPECT_ERROR(configHzFromText("CONFIG_HZ=fast\n"), Errc::kInvalidArgument);
  EXPECT_ERROR(configHzFromText("CONFIG_HZ=0\n"), Errc::kInvalidArgument);
}

TEST(KernelHz, RoundsToTheKernelsChoices) {
  EXPECT_EQ(roundHz(97.5), 100u);
  EXPECT_EQ(roundHz(262), 250u);
  EXPECT_EQ(roundHz(290), 300u);
  EXPECT_EQ(roundHz(870), 1000u);
}

TEST(KernelHz, MeasuredHzMatchesTheConfig) {
  SG_REQUIRE_ROOT();
  auto measured = measureHz();
  ASSERT_OK(measured);
  auto hz = kernelHz();
  ASSERT_OK(hz);
  EXPECT_EQ(*measured, *hz);
}

TEST_F(ClockTest, KernelNowIsAtMostAJiffyAheadOfTheProgramsClock) {
  const uint64_t jiffy = sensor_->nsPerJiffy();
  ASSERT_GE(jiffy, 1'000'000u);
  ASSERT_LE(jiffy, 10'000'000u);
  for (int round = 0; round < 5; round++) {
    ASSERT_OK(sensor_->calibrateClock());
    const uint64_t before = sensor_->kernelNowNs();
    const std::string src = "10.77.0." + std::to_string(round + 1);
    ASSERT_EQ(synBurst(src, cfg_.threshold + 1), 1);
    const uint64_t after = sensor_->kernelNowNs();
    auto blocks = sensor_->listBlocks();
    ASSERT_OK(blocks);
    uint64_t added = 0;
    for (const KernelBlock& b : *blocks) {
      if (std::memcmp(b.key.b, keyOf(src).b, 16) == 0) added = b.block.added_ns;
    }
    ASSERT_NE(added, 0u);
    // Program time is a multiple of a jiffy, behind kernelNowNs() by less
    // than one (plus the calibration's small error, well under a jiffy).
    EXPECT_EQ(added % jiffy, 0u);
    EXPECT_GT(added + jiffy + jiffy / 4, before) << "round " << round;
    EXPECT_LE(added, after + jiffy / 4) << "round " << round;
  }
}

TEST_F(ClockTest, KernelClockReadsTheSensorsTimeBase) {
  KernelClock clock(*sensor_);
  const uint64_t a = sensor_->kernelNowNs();
  const uint64_t b = clock.nowNs();
  const uint64_t c = sensor_->kernelNowNs();
  EXPECT_LE(a, b);
  EXPECT_LE(b, c);
}

}  // namespace
}  // namespace sg::test
