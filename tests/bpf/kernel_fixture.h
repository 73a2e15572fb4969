// KernelTest: a gtest fixture that loads the XDP program (XdpSensor, not
// attached anywhere), writes a test config and runs frames through it with
// BPF_PROG_TEST_RUN. The process is pinned to one CPU for the duration of a
// test, so that the per-CPU budgets (events, admissions) are exact.
#pragma once

#include <gtest/gtest.h>
#include <sched.h>

#include <cstring>
#include <ctime>
#include <memory>
#include <string>
#include <vector>

#include "bpf/packet_builder.h"
#include "bpf/xdp_program.h"
#include "core/kernel_config.h"
#include "linux/xdp_sensor.h"
#include "test_helpers.h"

namespace sg::test {

inline sg_addr keyOf(const std::string& text) {
  sg_addr a{};
  std::vector<uint8_t> b = addrBytes(text);
  std::memcpy(a.b, b.data(), 16);
  return a;
}

inline uint64_t monotonicNs(clockid_t clock = CLOCK_MONOTONIC) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(ts.tv_nsec);
}

class KernelTest : public ::testing::Test {
 protected:
  // The agent's defaults, under which wall time during a test does not
  // matter: 60 s window and block, threshold 5, block scope "all".
  static sg_config testConfig() {
    sg_config c = toKernelConfig(AgentConfig{});
    c.window_ns = 60'000'000'000ull;
    c.block_ns = 60'000'000'000ull;
    c.threshold = 5;
    c.events_per_sec = 1000;
    c.admit_per_sec = 100000;
    // Blocks drop every packet (the tests of what a block drops were written
    // for it); block_scope_test.cpp covers the default, "attempts".
    c.block_scope = SG_SCOPE_ALL;
    return c;
  }
  virtual SensorOptions sensorOptions() const { return SensorOptions{}; }

  void SetUp() override {
    SG_REQUIRE_ROOT();
    CPU_ZERO(&saved_);
    ASSERT_EQ(sched_getaffinity(0, sizeof(saved_), &saved_), 0);
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(sched_getcpu(), &one);
    ASSERT_EQ(sched_setaffinity(0, sizeof(one), &one), 0);
    pinned_ = true;

    auto loaded = XdpSensor::load(sensorOptions());
    ASSERT_OK(loaded);
    sensor_ = std::move(loaded.value());
    cfg_ = testConfig();
    ASSERT_OK(sensor_->setConfig(cfg_));
    prog_ = std::make_unique<XdpProgram>(sensor_->progFd());
  }
  void TearDown() override {
    prog_.reset();
    sensor_.reset();
    if (pinned_) sched_setaffinity(0, sizeof(saved_), &saved_);
  }

  void setConfig(const sg_config& c) {
    cfg_ = c;
    ASSERT_OK(sensor_->setConfig(cfg_));
  }
  uint32_t send(const PacketSpec& spec) { return prog_->verdict(buildPacket(spec)); }
  uint32_t sendBytes(const std::vector<uint8_t>& frame) { return prog_->verdict(frame); }
  // The verdict and the frame as the program left it (an XDP_TX reply).
  TestOutput run(const std::vector<uint8_t>& frame) { return prog_->output(frame); }
  // A SYN with a sequence number of its own: a new attempt, never taken for a
  // retransmission (sg_syn_repeat).
  PacketSpec newSyn(const std::string& src, uint16_t dport = 80) {
    PacketSpec s = synFrom(src, dport);
    s.seq = next_seq_++;
    return s;
  }
  // Sends `n` new SYNs from `src`; returns how many were dropped.
  int synBurst(const std::string& src, int n, uint16_t dport = 80) {
    int dropped = 0;
    for (int i = 0; i < n; i++) dropped += send(newSyn(src, dport)) == XDP_DROP ? 1 : 0;
    return dropped;
  }
  uint64_t counter(sg_counter which) {
    auto c = sensor_->readCounters();
    if (!c.ok()) {
      ADD_FAILURE() << c.error().message();
      return 0;
    }
    return c->c[which];
  }
  std::vector<sg_event> drainEvents() {
    std::vector<sg_event> out;
    auto n = sensor_->pollEvents([&](const sg_event& e) { out.push_back(e); });
    EXPECT_OK(n);
    return out;
  }
  bool isBlocked(const std::string& src) {
    auto blocks = sensor_->listBlocks();
    if (!blocks.ok()) return false;
    const sg_addr k = keyOf(src);
    for (const KernelBlock& b : *blocks) {
      if (std::memcmp(b.key.b, k.b, 16) == 0) return true;
    }
    return false;
  }

  std::unique_ptr<XdpSensor> sensor_;
  std::unique_ptr<XdpProgram> prog_;
  sg_config cfg_{};
  uint32_t next_seq_ = 1000;

 private:
  cpu_set_t saved_{};
  bool pinned_ = false;
};

}  // namespace sg::test
