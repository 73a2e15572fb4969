// Port floods with real traffic: a random-source SYN flood (the lab's
// generator, spoofed sources) at the victim's port while a legitimate client
// keeps connecting. The agent must flag the flood at its target within a
// second, keep the client served, and see the flood end. A flood from one
// /24 is answered with a block of that prefix, lifted when the flood ends.
#include <atomic>

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
  auto agent = AgentProcess::start(options());
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

}  // namespace
}  // namespace sg::lab::test
