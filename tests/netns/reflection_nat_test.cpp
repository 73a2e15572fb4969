// SYN-ACK reflection on a host that NATs containers (review s14, H1): a
// "container" namespace behind the host's nft masquerade keeps connecting to
// a server while an attacker sends the host SYN-ACKs from its own address.
// The real agent (XDP on the host's uplink) detects the reflection and drops
// the attacker's SYN-ACKs, while the container's connections — whose
// SYN-ACKs match no socket in the host's namespace but a conntrack entry —
// keep completing, and are never counted as reflected.
//
//   container 10.200.42.2 --- 10.200.42.1 host 10.200.41.1 (agent, XDP, masquerade)
//                                              |
//                              internet 10.200.41.2 (server :80, attacker :443)
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <random>
#include <thread>

#include "lab/agent_process.h"
#include "lab/client.h"
#include "lab/flood.h"
#include "lab/netns.h"
#include "test_helpers.h"

namespace sg::lab::test {
namespace {

using namespace std::chrono_literals;

constexpr uint16_t kServerPort = 80;
constexpr uint16_t kAttackPort = 443;

// SYN-ACKs from the attacker's own address to random ports of `host`, at
// about `rate` per second until `stop` or `limit` packets; the count sent.
uint64_t sendSynAcks(const std::string& netns, const std::atomic<bool>& stop, uint64_t rate,
                     uint64_t limit) {
  uint64_t sent = 0;
  auto t = startThreadIn(netns, [&] {
    int fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
    if (fd < 0) return;
    const uint8_t src[4] = {10, 200, 41, 2}, dst[4] = {10, 200, 41, 1};
    std::mt19937 rng(7);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    std::memcpy(&to.sin_addr, dst, 4);
    uint8_t buf[64];
    const auto gap = std::chrono::microseconds(1'000'000 / rate);
    auto next = std::chrono::steady_clock::now();
    while (!stop.load() && sent < limit) {
      const auto dport = static_cast<uint16_t>(20000 + rng() % 40000);
      const size_t len = buildSyn4(buf, src, dst, kAttackPort, dport, rng());
      buf[20 + 13] = 0x12;  // SYN|ACK
      buf[20 + 8] = 0x5a;   // some acknowledgment number
      buf[20 + 16] = buf[20 + 17] = 0;
      const uint16_t sum = tcpChecksum4(buf, len);
      buf[20 + 16] = static_cast<uint8_t>(sum >> 8);
      buf[20 + 17] = static_cast<uint8_t>(sum);
      if (sendto(fd, buf, len, 0, reinterpret_cast<sockaddr*>(&to), sizeof to) > 0) sent++;
      next += gap;
      std::this_thread::sleep_until(next);
    }
    close(fd);
  });
  if (t.ok()) t->join();
  return sent;
}

struct Tally {
  int ok = 0;
  int failed = 0;
};

// The container's connects to the server for `span`, one every 50 ms.
Tally connectFor(const Netns& box, std::chrono::milliseconds span) {
  Tally t;
  auto th = startThreadIn(box.name(), [&] {
    const auto end = std::chrono::steady_clock::now() + span;
    while (std::chrono::steady_clock::now() < end) {
      if (probeOnce("10.200.41.2", kServerPort, 3000ms).ok()) {
        t.ok++;
      } else {
        t.failed++;
      }
      std::this_thread::sleep_for(50ms);
    }
  });
  if (th.ok()) th->join();
  return t;
}

TEST(ReflectionNat, AContainersConnectsSurviveASynAckFloodThatIsDropped) {
  SG_REQUIRE_ROOT();
  const std::string binary = findSynGuardBinary();
  ASSERT_EQ(access(binary.c_str(), X_OK), 0) << "syn-guard binary not found: " << binary;
  auto host = Netns::create("rnh");
  ASSERT_OK(host);
  auto net = Netns::create("rni");
  ASSERT_OK(net);
  auto box = Netns::create("rnk");
  ASSERT_OK(box);
  ASSERT_OK(addVethPair(*host, "up0", *net, "eth0"));
  ASSERT_OK(addVethPair(*host, "br0", *box, "eth0"));
  ASSERT_OK(host->addAddress("up0", "10.200.41.1/24"));
  ASSERT_OK(net->addAddress("eth0", "10.200.41.2/24"));
  ASSERT_OK(host->addAddress("br0", "10.200.42.1/24"));
  ASSERT_OK(box->addAddress("eth0", "10.200.42.2/24"));
  ASSERT_OK(box->ip({"route", "add", "default", "via", "10.200.42.1"}));
  ASSERT_OK(host->setSysctl("net.ipv4.ip_forward", "1"));
  ASSERT_OK(host->run({"nft", "add", "table", "ip", "sgnat"}));
  ASSERT_OK(host->run({"nft", "add", "chain", "ip", "sgnat", "post",
                       "{ type nat hook postrouting priority 100 ; }"}));
  ASSERT_OK(
      host->run({"nft", "add", "rule", "ip", "sgnat", "post", "oifname", "up0", "masquerade"}));
  auto server = TcpServer::start(net->name(), "10.200.41.2", kServerPort);
  ASSERT_OK(server);

  AgentOptions o;
  o.binary = binary;
  o.netns = host->name();
  o.interfaces = {"up0"};
  auto agent = AgentProcess::start(o);
  ASSERT_OK(agent);

  const Tally before = connectFor(*box, 1000ms);
  ASSERT_GT(before.ok, 0);
  ASSERT_EQ(before.failed, 0) << "the container cannot connect out at all";

  std::atomic<bool> stop{false};
  uint64_t sent = 0;
  std::thread attacker([&] { sent = sendSynAcks(net->name(), stop, 300, 3000); });
  auto detected = (*agent)->waitFor("reflection_detected", 5000ms);
  Tally during;
  if (detected) during = connectFor(*box, 2500ms);
  stop = true;
  attacker.join();
  ASSERT_TRUE(detected.has_value()) << "no reflection_detected after " << sent << " SYN-ACKs";
  EXPECT_EQ(detected->value("response", ""), "drop") << detected->dump();
  EXPECT_GT(during.ok, 10);
  EXPECT_EQ(during.failed, 0) << "the container's connects failed while the drop was on";
  for (const auto& p : detected->value("ports", nlohmann::json::array())) {
    EXPECT_NE(p.value("port", 0), kServerPort)
        << "the container's own SYN-ACKs were counted as reflected: " << detected->dump();
  }
  auto dropped = (*agent)->counter("reflection_dropped_total");
  ASSERT_OK(dropped);
  EXPECT_GT(*dropped, 0u) << "the attacker's SYN-ACKs were not dropped";
  auto tracked = (*agent)->counter("synacks_conntrack_matched_total");
  ASSERT_OK(tracked);
  EXPECT_GE(*tracked, static_cast<uint64_t>(before.ok + during.ok));
}

}  // namespace
}  // namespace sg::lab::test
