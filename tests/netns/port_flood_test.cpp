// Port floods with real traffic: a random-source SYN flood (the lab's
// generator, spoofed sources) at the victim's port while a legitimate client
// keeps connecting. The agent must flag the flood at its target within a
// second, keep the client served, and see the flood end. A flood from one
// /24 is answered with a block of that prefix, lifted when the flood ends;
// with syncookies = "xdp" any flood is answered with XDP SYN cookies for its
// target, turned off when it ends.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <fstream>

#include "lab_fixture.h"

namespace sg::lab::test {
namespace {

class PortFloodTest : public LabTest {
 protected:
  AgentOptions options() const {
    // Per-source blocking is out of the way (nobody sends 100k SYNs alone);
    // the flood's end is judged after 1 s of quiet to keep the test short.
    AgentOptions o = agentOptions("xdp", 100000, "10s");
    o.extra = {"--port-flood-end-after", "1s"};
    return o;
  }
  static FloodOptions spoofed(const std::string& cidr) {
    FloodOptions f;
    f.spoof_cidr = cidr;
    f.dst = kVictim.v4;
    f.dst_port = kServerPort;
    f.rate = 5000;
    f.count = 12000;
    f.duration = 3s;
    return f;
  }
  static auto portIs(uint16_t port) {
    return [port](const nlohmann::json& e) { return e.value("dst_port", 0) == port; };
  }
  void TearDown() override {
    if (pass_fd_ >= 0) close(pass_fd_);
    LabTest::TearDown();
  }

  // veth hands an XDP_TX frame (a cookie SYN-ACK) to its peer's NAPI, which
  // runs only while the peer has an XDP program: a bare XDP_PASS on the
  // hub's end of the victim (as in syncookie_test.cpp).
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
  static uint64_t counter(AgentProcess& a, const char* name) {
    auto st = a.status();
    EXPECT_OK(st);
    return st.ok() ? (*st)["counters"].value(name, 0ull) : 0;
  }

  int pass_fd_ = -1;
};

TEST_F(PortFloodTest, ASpoofedFloodIsDetectedWithinASecondWhileTheClientIsServedAndItsEndSeen) {
  auto agent = AgentProcess::start(options());
  ASSERT_OK(agent);
  AgentProcess& a = **agent;
  std::this_thread::sleep_for(300ms);  // the port's quiet first harvests

  // The legitimate client: one connection every 50 ms for the whole test.
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> ok{0}, failed{0};
  auto client = startThreadIn(lab_->client().name(), [&] {
    for (int i = 0; i < 400 && !stop; i++) {
      (probeOnce(kVictim.v4, kServerPort, 1000ms).ok() ? ok : failed)++;
      std::this_thread::sleep_for(50ms);
    }
  });
  ASSERT_OK(client);
  // A served port: the agent harvests every 100 ms (an idle one, every 500).
  std::this_thread::sleep_for(700ms);

  const size_t since = a.mark();
  const auto start = std::chrono::steady_clock::now();
  Result<FloodStats> flood = makeError(Errc::kIo, "not run");
  std::thread flooder(
      [&] { flood = runFloodIn(lab_->attacker().name(), spoofed("10.200.0.0/16")); });
  auto detected = a.waitFor("port_flood_detected", 3s, portIs(kServerPort), since);
  const auto seen_after = std::chrono::steady_clock::now() - start;
  flooder.join();
  ASSERT_OK(flood);
  std::printf("flood: %s; detected after %lld ms (the agent: %s ms after the flood's start)\n",
              flood->json().c_str(),
              static_cast<long long>(
                  std::chrono::duration_cast<std::chrono::milliseconds>(seen_after).count()),
              detected ? detected->value("since_first_ms", nlohmann::json()).dump().c_str() : "-");
  ASSERT_TRUE(detected.has_value()) << "no port_flood_detected";
  EXPECT_LE(seen_after, 1000ms) << detected->dump();
  EXPECT_EQ(detected->value("dst", ""), kVictim.v4);
  EXPECT_GE(detected->value("rate", 0.0), 1000.0) << detected->dump();
  EXPECT_GE(detected->value("distinct_sources", 0), 500) << detected->dump();
  EXPECT_LT(detected->value("completion_ratio", 1.0), 0.5) << detected->dump();
  EXPECT_EQ(detected->value("response", ""), "none") << "spread over a /16: no few prefixes";

  auto status = a.status();
  ASSERT_OK(status);
  const auto& active = (*status)["port_floods"]["active"];
  ASSERT_EQ(active.size(), 1u) << status->dump();

  auto ended = a.waitFor("port_flood_ended", 5s, portIs(kServerPort), since);
  stop = true;
  client->join();
  ASSERT_TRUE(ended.has_value()) << "the flood's end was not seen";
  EXPECT_GE(ended->value("peak_rate", 0.0), 1000.0) << ended->dump();
  EXPECT_GE(ended->value("attempts", 0), 5000) << ended->dump();
  std::printf("client: %llu ok, %llu failed; ended: %s\n", static_cast<unsigned long long>(ok),
              static_cast<unsigned long long>(failed), ended->dump().c_str());
  EXPECT_GE(ok, 20u);
  EXPECT_LE(failed * 10, ok) << "the client kept connecting through the flood";
  EXPECT_EQ((*a.status())["port_floods"]["active"].size(), 0u);
  EXPECT_EQ(a.stop(), 0) << a.process().stderrText();
}

TEST_F(PortFloodTest, AFloodFromOnePrefixIsAnsweredWithItsBlockWhichIsLiftedAtTheEnd) {
  // No warm-up: a completion-ratio detection in a port's warm-up blocks no
  // prefix (its clients may complete where the agent cannot see them).
  char dir[] = "/tmp/sg-portflood-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string path = std::string(dir) + "/agent.toml";
  std::ofstream(path) << "port_flood_warmup = \"0s\"\n";
  AgentOptions o = options();
  o.extra.insert(o.extra.end(), {"--config", path});
  auto agent = AgentProcess::start(o);
  ASSERT_OK(agent);
  AgentProcess& a = **agent;
  std::this_thread::sleep_for(300ms);
  const size_t since = a.mark();
  auto flood = runFloodIn(lab_->attacker().name(), spoofed("10.200.77.0/24"));
  ASSERT_OK(flood);
  auto detected = a.waitFor("port_flood_detected", 2s, portIs(kServerPort), since);
  ASSERT_TRUE(detected.has_value());
  EXPECT_EQ(detected->value("response", ""), "prefix_block") << detected->dump();
  EXPECT_EQ(detected->value("response_prefixes", nlohmann::json()),
            nlohmann::json::array({"10.200.77.0/24"}))
      << detected->dump();
  auto ended = a.waitFor("port_flood_ended", 6s, portIs(kServerPort), since);
  ASSERT_TRUE(ended.has_value());
  EXPECT_TRUE(ended->value("response_undone", false)) << ended->dump();
  auto status = a.status();
  ASSERT_OK(status);
  EXPECT_EQ((*status)["prefix_blocks"], 0) << "the prefix block outlived the flood";
  EXPECT_EQ(a.stop(), 0) << a.process().stderrText();
  std::remove(path.c_str());
  rmdir(dir);
}

TEST_F(PortFloodTest, WithXdpSynCookiesASpoofedFloodIsAnsweredWithCookiesUntilItEnds) {
  passProgramOnHub();
  char dir[] = "/tmp/sg-portflood-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string path = std::string(dir) + "/agent.toml";
  std::ofstream(path) << "syncookies = \"xdp\"\n";
  AgentOptions o = options();
  o.extra.insert(o.extra.end(), {"--config", path});
  auto agent = AgentProcess::start(o);
  ASSERT_OK(agent);
  AgentProcess& a = **agent;
  EXPECT_EQ((*a.status())["syncookies"], "xdp");
  // The SYNPROXY table is there from the start (conntrack tracks from then).
  EXPECT_OK(lab_->victim().run({"nft", "list", "table", "inet", "syn_guard_synproxy"}));
  std::this_thread::sleep_for(300ms);

  std::atomic<bool> stop{false};
  std::atomic<uint64_t> ok{0}, failed{0};
  auto client = startThreadIn(lab_->client().name(), [&] {
    for (int i = 0; i < 400 && !stop; i++) {
      // 4 s: room for one retransmitted SYN on a loaded machine.
      (probeOnce(kVictim.v4, kServerPort, 4000ms).ok() ? ok : failed)++;
      std::this_thread::sleep_for(50ms);
    }
  });
  ASSERT_OK(client);
  std::this_thread::sleep_for(700ms);

  const size_t since = a.mark();
  const uint64_t synacks_before = counter(a, "syncookie_synacks_total");
  Result<FloodStats> flood = makeError(Errc::kIo, "not run");
  std::thread flooder(
      [&] { flood = runFloodIn(lab_->attacker().name(), spoofed("10.200.0.0/16")); });
  auto detected = a.waitFor("port_flood_detected", 3s, portIs(kServerPort), since);
  std::this_thread::sleep_for(500ms);  // cookies answer the flood's SYNs now
  const uint64_t synacks_during = counter(a, "syncookie_synacks_total");
  flooder.join();
  ASSERT_OK(flood);
  ASSERT_TRUE(detected.has_value()) << "no port_flood_detected";
  EXPECT_EQ(detected->value("response", ""), "syncookies") << detected->dump();
  EXPECT_FALSE(detected->contains("response_error")) << detected->dump();
  EXPECT_GT(synacks_during, synacks_before + 100) << "XDP answered no SYN with a cookie";

  auto ended = a.waitFor("port_flood_ended", 6s, portIs(kServerPort), since);
  ASSERT_TRUE(ended.has_value()) << "the flood's end was not seen";
  EXPECT_TRUE(ended->value("response_undone", false)) << ended->dump();
  // Cookies are off: the client's handshakes go to the stack again.
  std::this_thread::sleep_for(300ms);
  const uint64_t synacks_after = counter(a, "syncookie_synacks_total");
  std::this_thread::sleep_for(500ms);
  stop = true;
  client->join();
  EXPECT_EQ(counter(a, "syncookie_synacks_total"), synacks_after) << "cookies outlived the flood";
  std::printf("client: %llu ok, %llu failed; cookie SYN-ACKs: %llu\n",
              static_cast<unsigned long long>(ok), static_cast<unsigned long long>(failed),
              static_cast<unsigned long long>(synacks_after - synacks_before));
  EXPECT_GE(ok, 20u);
  EXPECT_LE(failed * 10, ok) << "the client kept connecting through the flood";
  EXPECT_EQ(a.stop(), 0) << a.process().stderrText();
  EXPECT_FALSE(lab_->victim().run({"nft", "list", "table", "inet", "syn_guard_synproxy"}).ok())
      << "the SYNPROXY table outlived the agent";
  std::remove(path.c_str());
  rmdir(dir);
}

}  // namespace
}  // namespace sg::lab::test
