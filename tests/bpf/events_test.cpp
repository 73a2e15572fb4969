// The ring buffer: event fields, the per-CPU budget, and spoofing pressure
// (sketch gating keeps sg_slots from churning and still catches a heavy source).
#include <poll.h>

#include <chrono>
#include <random>
#include <thread>

#include "bpf/kernel_fixture.h"

namespace sg::test {
namespace {

using EventsTest = KernelTest;

TEST_F(EventsTest, BlockEventCarriesTheBlock) {
  const uint64_t before = sensor_->kernelNowNs();
  const uint64_t jiffy = sensor_->nsPerJiffy();
  ASSERT_EQ(synBurst("2001:db8:5:6:7::8", cfg_.threshold + 1, 22), 1);
  pollfd pfd{sensor_->ringBufferFd(), POLLIN, 0};
  ASSERT_EQ(poll(&pfd, 1, 1000), 1) << "the ring buffer fd wakes up epoll/poll";
  auto events = drainEvents();
  ASSERT_EQ(events.size(), 1u);
  const sg_event& e = events[0];
  EXPECT_EQ(e.type, static_cast<uint32_t>(SG_EV_BLOCK_ADDED));
  EXPECT_EQ(std::memcmp(e.src.b, keyOf("2001:db8:5:6::").b, 16), 0) << "masked to /64";
  EXPECT_EQ(e.count, cfg_.threshold + 1);
  EXPECT_EQ(e.dst_port, 22);
  EXPECT_EQ(e.level, 0);
  EXPECT_EQ(e.block_ns, cfg_.block_ns);
  EXPECT_EQ(e.ifindex, 1u) << "test runs arrive on loopback";
  // The program's clock has one jiffy of resolution; kernelNowNs() runs
  // ahead of it by less than one.
  EXPECT_GE(e.ts_ns + 2 * jiffy, before);
  EXPECT_LE(e.ts_ns, sensor_->kernelNowNs() + jiffy);
  EXPECT_EQ(counter(SG_CNT_EVENTS_SENT), 1u);
  EXPECT_TRUE(drainEvents().empty());
}

// The span the count was counted over (first_ns to ts_ns) travels with the
// event, so the agent reports the rate it observed: here the source's first
// window, from its first attempt.
TEST_F(EventsTest, BlockEventCarriesTheSpanOfItsCount) {
  const uint64_t jiffy = sensor_->nsPerJiffy();
  const uint64_t before = sensor_->kernelNowNs();
  ASSERT_EQ(synBurst("198.51.100.77", 2, 80), 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(40));
  ASSERT_EQ(synBurst("198.51.100.77", static_cast<int>(cfg_.threshold) - 1, 80), 1);
  auto events = drainEvents();
  ASSERT_EQ(events.size(), 1u);
  const sg_event& e = events[0];
  EXPECT_GE(e.first_ns + 2 * jiffy, before);
  EXPECT_LE(e.first_ns, before + jiffy);
  EXPECT_GE(e.ts_ns - e.first_ns + 2 * jiffy, 40'000'000u);
  EXPECT_LT(e.ts_ns - e.first_ns, 2'000'000'000u);
}

TEST_F(EventsTest, PerCpuBudgetSuppressesTheRest) {
  sg_config c = cfg_;
  c.events_per_sec = 3;
  c.threshold = 1;
  setConfig(c);
  constexpr int kOffenders = 12;
  const uint64_t first_epoch = sensor_->kernelNowNs() >> SG_EPOCH_SHIFT;
  for (int i = 0; i < kOffenders; i++) {
    ASSERT_EQ(synBurst("10.2.0." + std::to_string(i + 1), 2), 1);
  }
  const uint64_t epochs = (sensor_->kernelNowNs() >> SG_EPOCH_SHIFT) - first_epoch + 1;
  const auto events = drainEvents();
  EXPECT_GE(events.size(), 3u);
  EXPECT_LE(events.size(), 3 * epochs);
  EXPECT_EQ(counter(SG_CNT_EVENTS_SENT), events.size());
  EXPECT_EQ(counter(SG_CNT_EVENTS_SENT) + counter(SG_CNT_EVENTS_SUPPRESSED),
            static_cast<uint64_t>(kOffenders));
  EXPECT_EQ(counter(SG_CNT_BLOCKS_ADDED), static_cast<uint64_t>(kOffenders))
      << "suppressed events never suppress blocks";
}

TEST_F(EventsTest, SpoofedFloodIsGatedAndAHeavySourceStillCaught) {
  sg_config c = cfg_;
  c.admit_per_sec = 64;
  c.admit_min = 8;
  c.threshold = 20;
  setConfig(c);
  std::mt19937 rng(1234);
  constexpr int kSpoofed = 20000;
  int heavy_dropped = 0;
  for (int i = 0; i < kSpoofed; i++) {
    const uint32_t a = rng();
    send(synFrom("10." + std::to_string(a >> 24 & 0xff) + "." + std::to_string(a >> 16 & 0xff) +
                 "." + std::to_string(a & 0xff)));
    // One heavy source hidden in the flood: one SYN every 100 spoofed ones.
    if (i % 100 == 0) heavy_dropped += send(synFrom("203.0.113.66")) == XDP_DROP ? 1 : 0;
  }
  auto n = sensor_->sourceCount();
  ASSERT_OK(n);
  const uint64_t epochs = 1 + (kSpoofed / 1000);  // generous: the run takes well under that
  EXPECT_LE(*n, 64 * epochs + 1) << "exact state stays bounded by admit_per_sec";
  EXPECT_GT(counter(SG_CNT_SKETCH_GATED), static_cast<uint64_t>(kSpoofed / 2));
  EXPECT_TRUE(isBlocked("203.0.113.66")) << "the heavy source is caught through the sketch";
  EXPECT_GT(heavy_dropped, 0);
  bool pressure = false;
  for (const sg_event& e : drainEvents()) pressure = pressure || e.type == SG_EV_PRESSURE;
  EXPECT_TRUE(pressure);
}

}  // namespace
}  // namespace sg::test
