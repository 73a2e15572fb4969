// Two threads pinned to different CPUs hammer the program with SYNs from the
// same source at the same moment (what RSS does with one source's SYNs on a
// multi-queue NIC): exactly `threshold` attempts pass, the rest are dropped,
// and exactly one block is made, at level 0 (a racing second crossing used
// to count as a repeat offence and double it). The frame is one SYN sent
// again and again, so exactly the repeat allowance of it is excused on top of
// the threshold (sg_syn_repeat): that ceiling is exact across CPUs too.
#include <atomic>
#include <thread>

#include "bpf/kernel_fixture.h"
#include "sg_track.h"

namespace sg::test {
namespace {

class ConcurrencyTest : public KernelTest {
 protected:
  void SetUp() override {
    KernelTest::SetUp();
    if (HasFatalFailure() || IsSkipped()) return;
    cpu_set_t all;
    CPU_ZERO(&all);
    // The fixture pinned us to one CPU; the process's own set was saved by
    // it, so read the CPUs online instead.
    for (int c = 0; c < CPU_SETSIZE && cpus_.size() < 2; c++) {
      cpu_set_t one;
      CPU_ZERO(&one);
      CPU_SET(c, &one);
      if (sched_setaffinity(0, sizeof(one), &one) == 0) cpus_.push_back(c);
    }
    CPU_SET(cpus_.empty() ? 0 : cpus_[0], &all);
    sched_setaffinity(0, sizeof(all), &all);
  }
  std::vector<int> cpus_;
};

// Long enough for both threads to be in the kernel at once before the
// crossing (a loaded machine schedules them apart by milliseconds).
constexpr uint32_t kThreshold = 12000;
constexpr uint32_t kPerThread = 8000;  // each thread's SYNs per source
constexpr uint32_t kBatch = 50;        // runs per syscall
constexpr int kSources = 2;

TEST_F(ConcurrencyTest, TwoCpusOnOneSourcePassExactlyThresholdAndBlockOnce) {
  if (cpus_.size() < 2) GTEST_SKIP() << "needs two CPUs";
  sg_config c = cfg_;
  c.threshold = kThreshold;
  // One window bucket for the whole run, however slow a loaded machine makes
  // it: the repeat allowance renews with each bucket.
  c.window_ns = 3600ull * 1'000'000'000ull;
  c.block_ns = 3600ull * 1'000'000'000ull;
  setConfig(c);

  const int fd = sensor_->progFd();
  for (int s = 0; s < kSources; s++) {
    const std::string src = "10.77." + std::to_string(s / 200) + "." + std::to_string(s % 200 + 1);
    const std::vector<uint8_t> frame = buildPacket(synFrom(src));
    const uint64_t dropped_before = counter(SG_CNT_DROPPED);
    std::atomic<int> ready{0};
    auto hammer = [&](int cpu) {
      cpu_set_t one;
      CPU_ZERO(&one);
      CPU_SET(cpu, &one);
      sched_setaffinity(0, sizeof(one), &one);
      XdpProgram prog(fd);
      ready.fetch_add(1);
      while (ready.load() < 2) {
      }
      for (uint32_t sent = 0; sent < kPerThread; sent += kBatch) {
        auto r = prog.run(frame, kBatch);
        if (!r.ok()) ADD_FAILURE() << r.error().message();
      }
    };
    std::thread a(hammer, cpus_[0]), b(hammer, cpus_[1]);
    a.join();
    b.join();
    const uint64_t dropped = counter(SG_CNT_DROPPED) - dropped_before;
    ASSERT_EQ(2 * kPerThread - dropped, kThreshold + sg_repeat_allowance(&c))
        << src << ": SYNs that passed (threshold + repeat allowance)";
    ASSERT_EQ(counter(SG_CNT_RETRANS_EXCUSED), (s + 1) * sg_repeat_allowance(&c));
    auto blocks = sensor_->listBlocks();
    ASSERT_OK(blocks);
    const sg_addr key = keyOf(src);
    int found = 0;
    for (const KernelBlock& kb : *blocks) {
      if (std::memcmp(kb.key.b, key.b, 16) != 0) continue;
      found++;
      EXPECT_EQ(kb.block.level, 0) << src << ": a first offence";
    }
    EXPECT_EQ(found, 1) << src;
  }
  EXPECT_EQ(counter(SG_CNT_BLOCKS_ADDED), static_cast<uint64_t>(kSources));
}

}  // namespace
}  // namespace sg::test
