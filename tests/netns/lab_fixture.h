// Shared set-up of the netns scenarios: a fresh lab (victim, attacker, client
// on one bridge), the victim's TCP server on 10.200.1.1:8080 and
// [fd00:200:0:1::1]:8080 (ServedLabTest), and helpers to start the real agent
// binary ($SYNGUARD_BIN_DIR/syn-guard) in the victim namespace (LabTest).
// Everything is torn down by RAII, also when an assertion fails half-way.
#pragma once

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "lab/agent_process.h"
#include "lab/client.h"
#include "lab/flood.h"
#include "lab/lab.h"
#include "test_helpers.h"

namespace sg::lab::test {

using namespace std::chrono_literals;

// The lab and the victim's servers, no agent.
class ServedLabTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SG_REQUIRE_ROOT();
    auto lab = Lab::create();
    ASSERT_OK(lab);
    lab_ = std::move(*lab);
    auto s4 = TcpServer::start(lab_->victim().name(), kVictim.v4, kServerPort);
    ASSERT_OK(s4);
    server4_ = std::move(*s4);
    auto s6 = TcpServer::start(lab_->victim().name(), kVictim.v6, kServerPort);
    ASSERT_OK(s6);
    server6_ = std::move(*s6);
  }
  void TearDown() override {
    if (pass_fd_ >= 0) close(pass_fd_);
  }

  // veth hands an XDP_TX frame (a cookie SYN-ACK of the victim's XDP
  // program) to its peer's NAPI, which runs only while the peer has an XDP
  // program: without one the frame is dropped inside veth (the program still
  // counts it sent). This puts a bare XDP_PASS on the hub's end of the victim.
  void passProgramOnHub() {
    const bpf_insn insns[] = {
        {BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, XDP_PASS},
        {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
    };
    pass_fd_ = bpf_prog_load(BPF_PROG_TYPE_XDP, "sg_hub_pass", "GPL", insns, 2, nullptr);
    ASSERT_GE(pass_fd_, 0);
    auto t = startThreadIn(lab_->hub().name(), [&] {
      const int ifindex = static_cast<int>(if_nametoindex("hv"));
      ASSERT_GT(ifindex, 0);
      ASSERT_EQ(bpf_xdp_attach(ifindex, pass_fd_, XDP_FLAGS_DRV_MODE, nullptr), 0);
    });
    ASSERT_OK(t);
    t->join();
  }

  std::unique_ptr<Lab> lab_;
  std::unique_ptr<TcpServer> server4_;
  std::unique_ptr<TcpServer> server6_;

 private:
  int pass_fd_ = -1;
};

// The lab, its servers and the syn-guard binary to start agents with.
class LabTest : public ServedLabTest {
 protected:
  void SetUp() override {
    SG_REQUIRE_ROOT();
    binary_ = findSynGuardBinary();
    ASSERT_EQ(access(binary_.c_str(), X_OK), 0)
        << "syn-guard binary not found (set SYNGUARD_BIN_DIR): " << binary_;
    ServedLabTest::SetUp();
  }

  AgentOptions agentOptions(const std::string& enforcer, uint32_t threshold,
                            const std::string& block) const {
    AgentOptions o;
    o.binary = binary_;
    o.netns = lab_->victim().name();
    o.interfaces = {kVictim.dev};
    o.threshold = threshold;
    o.window = "5s";
    o.block = block;
    o.enforcer = enforcer;
    return o;
  }

  // One exchange with the victim's server from inside `ns`.
  Result<std::chrono::microseconds> connectFrom(const Netns& ns, const std::string& addr) {
    Result<std::chrono::microseconds> r = makeError(Errc::kIo, "not run");
    auto t = startThreadIn(ns.name(), [&] { r = probeOnce(addr, kServerPort, 1000ms); });
    if (!t.ok()) return t.error();
    t->join();
    return r;
  }

  // Retries connectFrom every 100 ms until it succeeds or `within` passes.
  bool connectsWithin(const Netns& ns, const std::string& addr, std::chrono::milliseconds within) {
    auto deadline = std::chrono::steady_clock::now() + within;
    do {
      if (connectFrom(ns, addr).ok()) return true;
      std::this_thread::sleep_for(100ms);
    } while (std::chrono::steady_clock::now() < deadline);
    return false;
  }

  static FloodOptions singleSource(const std::string& src, const std::string& dst, uint64_t count,
                                   uint64_t rate) {
    FloodOptions f;
    f.src = src;
    f.dst = dst;
    f.dst_port = kServerPort;
    f.count = count;
    f.rate = rate;
    f.duration = 10s;
    return f;
  }

  static auto srcIs(const std::string& src) {
    return [src](const nlohmann::json& e) { return e.value("src", "") == src; };
  }

  std::string binary_;
};

}  // namespace sg::lab::test
