// The sketch's noise floor under a spoofed flood: a flooder far over its
// threshold inside the flood gets exact state (and is blocked) whether the
// flood arrives on one CPU or on two, and however many CPUs the machine says
// are possible. The flood comes from bpf/bench/spoof.bpf.c's spoof_syn, the
// production path behind a wrapper that gives each SYN a new source, so one
// BPF_PROG_TEST_RUN with a repeat count is that many spoofed sources.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <sched.h>

#include "bpf/kernel_fixture.h"
#include "linux/xdp_sensor_clock.h"
#include "sg_shared.h"  // before the skeleton: its .bss names these types
// clang-format off
#include "spoof_bench.skel.h"
// clang-format on

namespace sg::test {
namespace {

constexpr uint32_t kAdmitPerSec = 64;
constexpr uint32_t kThreshold = 5;
constexpr uint32_t kSpoofedPerFlooderSyn = 1024;  // the flooder: 1 SYN in 1025
constexpr int kMaxFlooderSyns = 60;

class SpoofedFloodTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SG_REQUIRE_ROOT();
    CPU_ZERO(&saved_);
    ASSERT_EQ(sched_getaffinity(0, sizeof(saved_), &saved_), 0);
    saved_ok_ = true;
    for (int c = 0; c < CPU_SETSIZE && cpus_.size() < 2; c++) {
      if (CPU_ISSET(c, &saved_)) cpus_.push_back(c);
    }
    auto hz = kernelHz();
    ASSERT_OK(hz);
    skel_ = spoof_bench__open();
    ASSERT_NE(skel_, nullptr);
    skel_->rodata->sg_ns_per_jiffy = 1'000'000'000ull / *hz;
    skel_->rodata->sg_slot_set_mask = 65536 / SG_SLOT_WAYS - 1;
    skel_->rodata->sg_hash_key.k0 = 0x1234;
    skel_->rodata->sg_hash_key.k1 = 0x5678;
    ASSERT_EQ(spoof_bench__load(skel_), 0);
    sg_config c = toKernelConfig(AgentConfig{});
    c.window_ns = 60'000'000'000ull;
    c.block_ns = 60'000'000'000ull;
    c.threshold = kThreshold;
    c.events_per_sec = 1000;
    c.admit_per_sec = kAdmitPerSec;
    c.admit_min = 8;
    const uint32_t zero = 0;
    ASSERT_EQ(bpf_map_update_elem(bpf_map__fd(skel_->maps.sg_config_map), &zero, &c, BPF_ANY), 0);
  }
  void TearDown() override {
    if (skel_ != nullptr) spoof_bench__destroy(skel_);
    if (saved_ok_) sched_setaffinity(0, sizeof(saved_), &saved_);
  }

  void pin(int cpu) {
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    ASSERT_EQ(sched_setaffinity(0, sizeof(one), &one), 0);
  }
  uint64_t counter(sg_counter which) {
    std::vector<sg_counters> per_cpu(static_cast<size_t>(libbpf_num_possible_cpus()));
    const uint32_t zero = 0;
    EXPECT_EQ(bpf_map_lookup_elem(bpf_map__fd(skel_->maps.sg_counters_map), &zero, per_cpu.data()),
              0);
    uint64_t sum = 0;
    for (const sg_counters& c : per_cpu) sum += c.c[which];
    return sum;
  }

  // Rounds of kSpoofedPerFlooderSyn spoofed SYNs then one flooder SYN, the
  // rounds spread over `cpus` in turn; returns the flooder SYNs sent up to
  // the first one dropped, or -1 if none was.
  int flooderSynsUntilDropped(const std::vector<int>& cpus) {
    XdpProgram spoof(bpf_program__fd(skel_->progs.spoof_syn));
    XdpProgram guard(bpf_program__fd(skel_->progs.syn_guard_xdp));
    const std::vector<uint8_t> spoofed = buildPacket(synFrom("10.0.0.1"));
    const std::vector<uint8_t> flooder = buildPacket(synFrom("192.0.2.99"));
    started_ns_ = monoNowNs();
    struct Stop {
      SpoofedFloodTest* t;
      ~Stop() { t->ended_ns_ = monoNowNs(); }
    } stop{this};
    for (int i = 0; i < kMaxFlooderSyns; i++) {
      pin(cpus[static_cast<size_t>(i) % cpus.size()]);
      auto r = spoof.run(spoofed, kSpoofedPerFlooderSyn);
      if (!r.ok()) {
        ADD_FAILURE() << r.error().message();
        return -1;
      }
      if (guard.verdict(flooder) == XDP_DROP) return i + 1;
    }
    return -1;
  }

  // Admission goes through the sketch for every source past the first
  // kAdmitPerSec of a CPU's epoch: a spoofed source (one SYN) never stands
  // out of the noise. Each epoch (2^30 ns) the run touched, on each CPU,
  // admits at most kAdmitPerSec before gating; +1 for the flooder. A loaded
  // machine stretches the run over more epochs, so they are counted.
  void expectNoSpoofedSourceAdmitted(size_t ncpus) {
    const uint64_t epochs = ((ended_ns_ - started_ns_) >> SG_EPOCH_SHIFT) + 2;
    EXPECT_LE(counter(SG_CNT_SOURCES_NEW), epochs * kAdmitPerSec * ncpus + 1)
        << "over " << epochs << " epochs";
    EXPECT_GT(counter(SG_CNT_SKETCH_GATED), 0u);
  }

  static uint64_t monoNowNs() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(ts.tv_nsec);
  }

  spoof_bench* skel_ = nullptr;
  std::vector<int> cpus_;
  uint64_t started_ns_ = 0, ended_ns_ = 0;

 private:
  cpu_set_t saved_{};
  bool saved_ok_ = false;
};

// The flooder sends 1 SYN in 1025, 32 times the noise's share of a cell (the
// floor rises by one every 32,768 updates): once its estimate stands
// admit_min (8) above the floor it gets a slot, after 9 SYNs, and is blocked
// on the (threshold + 1)-th counted one: 15 SYNs, 24 if an epoch (~1.07 s)
// ends before it is admitted. With the floor scaled by 64 possible CPUs it
// rose by 2 per flooder SYN and the flooder was never admitted.
TEST_F(SpoofedFloodTest, FlooderInsideAFloodOnOneCpuIsBlocked) {
  const int n = flooderSynsUntilDropped({cpus_[0]});
  EXPECT_GT(n, 0) << "the flooder was never admitted: the noise floor outran it";
  EXPECT_LE(n, 24);
  expectNoSpoofedSourceAdmitted(1);
}

TEST_F(SpoofedFloodTest, FlooderInsideAFloodOverTwoCpusIsBlocked) {
  if (cpus_.size() < 2) GTEST_SKIP() << "needs two CPUs";
  const int n = flooderSynsUntilDropped(cpus_);
  EXPECT_GT(n, 0) << "the flooder was never admitted: the noise floor outran it";
  EXPECT_LE(n, 24);
  expectNoSpoofedSourceAdmitted(2);
}

}  // namespace
}  // namespace sg::test
