// Port floods with real traffic: a random-source SYN flood (the lab's
// generator, spoofed sources) at the victim's port while a legitimate client
// keeps connecting. The agent must flag the flood at its target within a
// second, keep the client served, and see the flood end. A flood from one
// /24 is answered with a block of that prefix, lifted when the flood ends;
// with syncookies = "xdp" any flood is answered with XDP SYN cookies for its
// target, turned off when it ends.
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <future>

#include "lab_fixture.h"

namespace sg::lab::test {
namespace {

class PortFloodTest : public LabTest {
 protected:
  void TearDown() override {
    if (!config_dir_.empty()) std::filesystem::remove_all(config_dir_);
    LabTest::TearDown();
  }

  // The agent, with `toml` as its config file when given. Per-source
  // blocking is out of the way (nobody sends 100k SYNs alone); the flood's
  // end is judged after 1 s of quiet to keep the test short.
  Result<std::unique_ptr<AgentProcess>> startAgent(const std::string& toml = "") {
    AgentOptions o = agentOptions("xdp", 100000, "10s");
    o.extra = {"--port-flood-end-after", "1s"};
    if (!toml.empty()) {
      char dir[] = "/tmp/sg-portflood-XXXXXX";
      if (mkdtemp(dir) == nullptr) return makeError(Errc::kIo, "mkdtemp for the agent's config");
      config_dir_ = dir;
      const std::string path = config_dir_ + "/agent.toml";
      std::ofstream(path) << toml;
      o.extra.insert(o.extra.end(), {"--config", path});
    }
    return AgentProcess::start(o);
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
  // The flood of spoofed(cidr) from the attacker, on a thread of its own.
  std::future<Result<FloodStats>> floodInBackground(const std::string& cidr) {
    return std::async(std::launch::async,
                      [this, cidr] { return runFloodIn(lab_->attacker().name(), spoofed(cidr)); });
  }
  // The legitimate client: a connection every 50 ms, each given `timeout`.
  std::unique_ptr<ClientLoop> startClient(std::chrono::milliseconds timeout) {
    auto c = ClientLoop::start(lab_->client().name(), kVictim.v4, kServerPort, 20, timeout);
    EXPECT_OK(c);
    return c.ok() ? std::move(*c) : nullptr;
  }
  // Stops the client; it must have kept connecting through the flood.
  static void expectServed(ClientLoop& client) {
    client.stop();
    const ClientStats s = client.stats();
    std::printf("client: %llu ok, %llu failed\n", static_cast<unsigned long long>(s.ok),
                static_cast<unsigned long long>(s.failed));
    EXPECT_GE(s.ok, 20u);
    EXPECT_LE(s.failed * 10, s.ok) << "the client kept connecting through the flood";
  }
  static auto portIs(uint16_t port) {
    return [port](const nlohmann::json& e) { return e.value("dst_port", 0) == port; };
  }
  static uint64_t counter(AgentProcess& a, const char* name) {
    auto st = a.status();
    EXPECT_OK(st);
    return st.ok() ? (*st)["counters"].value(name, 0ull) : 0;
  }

  std::string config_dir_;
};

TEST_F(PortFloodTest, ASpoofedFloodIsDetectedWithinASecondWhileTheClientIsServedAndItsEndSeen) {
  auto agent = startAgent();
  ASSERT_OK(agent);
  AgentProcess& a = **agent;
  std::this_thread::sleep_for(300ms);  // the port's quiet first harvests

  auto client = startClient(1000ms);
  ASSERT_NE(client, nullptr);
  // A served port: the agent harvests every 100 ms (an idle one, every 500).
  std::this_thread::sleep_for(700ms);

  const size_t since = a.mark();
  const auto start = std::chrono::steady_clock::now();
  auto flooding = floodInBackground("10.200.0.0/16");
  auto detected = a.waitFor("port_flood_detected", 3s, portIs(kServerPort), since);
  const auto seen_after = std::chrono::steady_clock::now() - start;
  const Result<FloodStats> flood = flooding.get();
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
  expectServed(*client);
  ASSERT_TRUE(ended.has_value()) << "the flood's end was not seen";
  EXPECT_GE(ended->value("peak_rate", 0.0), 1000.0) << ended->dump();
  EXPECT_GE(ended->value("attempts", 0), 5000) << ended->dump();
  std::printf("ended: %s\n", ended->dump().c_str());
  EXPECT_EQ((*a.status())["port_floods"]["active"].size(), 0u);
  EXPECT_EQ(a.stop(), 0) << a.process().stderrText();
}

TEST_F(PortFloodTest, AFloodFromOnePrefixIsAnsweredWithItsBlockWhichIsLiftedAtTheEnd) {
  // No warm-up: a completion-ratio detection in a port's warm-up blocks no
  // prefix (its clients may complete where the agent cannot see them).
  auto agent = startAgent("port_flood_warmup = \"0s\"\n");
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
}

TEST_F(PortFloodTest, WithXdpSynCookiesASpoofedFloodIsAnsweredWithCookiesUntilItEnds) {
  passProgramOnHub();
  auto agent = startAgent("syncookies = \"xdp\"\n");
  ASSERT_OK(agent);
  AgentProcess& a = **agent;
  EXPECT_EQ((*a.status())["syncookies"], "xdp");
  // The SYNPROXY table is there from the start (conntrack tracks from then).
  EXPECT_OK(lab_->victim().run({"nft", "list", "table", "inet", "syn_guard_synproxy"}));
  std::this_thread::sleep_for(300ms);

  // 4 s: room for one retransmitted SYN on a loaded machine.
  auto client = startClient(4000ms);
  ASSERT_NE(client, nullptr);
  std::this_thread::sleep_for(700ms);

  const size_t since = a.mark();
  const uint64_t synacks_before = counter(a, "syncookie_synacks_total");
  auto flooding = floodInBackground("10.200.0.0/16");
  auto detected = a.waitFor("port_flood_detected", 3s, portIs(kServerPort), since);
  std::this_thread::sleep_for(500ms);  // cookies answer the flood's SYNs now
  const uint64_t synacks_during = counter(a, "syncookie_synacks_total");
  ASSERT_OK(flooding.get());
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
  expectServed(*client);
  EXPECT_EQ(counter(a, "syncookie_synacks_total"), synacks_after) << "cookies outlived the flood";
  std::printf("cookie SYN-ACKs: %llu\n",
              static_cast<unsigned long long>(synacks_after - synacks_before));
  EXPECT_EQ(a.stop(), 0) << a.process().stderrText();
  EXPECT_FALSE(lab_->victim().run({"nft", "list", "table", "inet", "syn_guard_synproxy"}).ok())
      << "the SYNPROXY table outlived the agent";
}

}  // namespace
}  // namespace sg::lab::test
