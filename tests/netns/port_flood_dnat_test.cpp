// A port DNAT-published to a container (Docker -p, a NodePort): the SYNs
// reach the agent's host at its address and port, the handshakes complete in
// the container's network namespace, where the agent sees none of them
// (review finding H4). A busy such port in its warm-up must not be taken for
// a completion-ratio port flood, and its real clients must not be blocked.
//
//   client 10.200.1.3 --> victim 10.200.1.1:8081 (agent; nft dnat)
//                           --> "container" 10.201.0.2:80 (the server)
#include "lab_fixture.h"

namespace sg::lab::test {
namespace {

constexpr uint16_t kPublished = 8081;  // no listener on the victim for it
constexpr const char* kContainer = "10.201.0.2";

class PortFloodDnatTest : public LabTest {
 protected:
  void SetUp() override {
    LabTest::SetUp();
    if (HasFatalFailure() || IsSkipped()) return;
    auto ctr = Netns::create("ctr");
    ASSERT_OK(ctr);
    ctr_ = std::make_unique<Netns>(std::move(*ctr));
    const Netns& victim = lab_->victim();
    ASSERT_OK(addVethPair(victim, "veth-ct", *ctr_, "ct0"));
    ASSERT_OK(victim.addAddress("veth-ct", "10.201.0.1/24"));
    ASSERT_OK(ctr_->addAddress("ct0", std::string(kContainer) + "/24"));
    ASSERT_OK(ctr_->ip({"route", "add", "default", "via", "10.201.0.1"}));
    ASSERT_OK(victim.setSysctl("net.ipv4.ip_forward", "1"));
    ASSERT_OK(victim.run({"nft", "add", "table", "ip", "sgtest_dnat"}));
    ASSERT_OK(victim.run({"nft", "add", "chain", "ip", "sgtest_dnat", "pre",
                          "{ type nat hook prerouting priority dstnat; }"}));
    ASSERT_OK(
        victim.run({"nft", "add", "rule", "ip", "sgtest_dnat", "pre", "tcp", "dport",
                    std::to_string(kPublished), "dnat", "to", std::string(kContainer) + ":80"}));
    auto server = TcpServer::start(ctr_->name(), kContainer, 80);
    ASSERT_OK(server);
    container_server_ = std::move(*server);
  }
  void TearDown() override {
    container_server_.reset();
    ctr_.reset();  // the namespace goes, its veth and the pair's other end with it
    LabTest::TearDown();
  }

  std::unique_ptr<Netns> ctr_;
  std::unique_ptr<TcpServer> container_server_;
};

TEST_F(PortFloodDnatTest, ABusyForwardedPortInItsWarmupIsNoPortFloodAndItsClientIsNotBlocked) {
  // The floor at 80/s, so that one client thread is "busy" (the default is
  // 1,000/s), and the client paced under 500/s: under factor x floor (800/s),
  // the rate at which even a forwarded port is a flood in its warm-up. The
  // port's 30 s warm-up covers the whole test.
  AgentOptions o = agentOptions("xdp", 100000, "10s");
  o.extra = {"--port-flood-floor", "80"};
  auto agent = AgentProcess::start(o);
  ASSERT_OK(agent);
  AgentProcess& a = **agent;
  const size_t since = a.mark();

  // One real client, as fast as it goes, for 4 s (at most 4,000 connects).
  uint64_t ok = 0, failed = 0;
  auto client = startThreadIn(lab_->client().name(), [&] {
    const auto end = std::chrono::steady_clock::now() + 4s;
    for (int i = 0; i < 4000 && std::chrono::steady_clock::now() < end; i++) {
      (probeOnce(kVictim.v4, kPublished, 1000ms).ok() ? ok : failed)++;
      std::this_thread::sleep_for(2ms);
    }
  });
  ASSERT_OK(client);
  client->join();
  std::printf("client through the DNAT: %llu ok, %llu failed; the container served %llu\n",
              static_cast<unsigned long long>(ok), static_cast<unsigned long long>(failed),
              static_cast<unsigned long long>(container_server_->served()));
  ASSERT_GE(ok, 4u * 80) << "the client stayed under the floor: the test shows nothing";

  const auto published = [](const nlohmann::json& e) {
    return e.value("dst_port", 0) == kPublished;
  };
  auto detected = a.waitFor("port_flood_detected", 500ms, published, since);
  EXPECT_FALSE(detected.has_value())
      << "a forwarded port's clients taken for a flood: " << detected->dump();
  EXPECT_TRUE(a.eventsNamed("block_added").empty()) << a.eventsNamed("block_added")[0].dump();
  EXPECT_LE(failed * 20, ok) << "the client's connections failed";
  EXPECT_EQ(a.stop(), 0) << a.process().stderrText();
}

}  // namespace
}  // namespace sg::lab::test
