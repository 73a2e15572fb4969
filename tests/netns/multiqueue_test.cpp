// "0 beyond the threshold" on a multi-queue interface: the victim's veth has
// 4 receive queues, one attacker floods from two threads pinned to two CPUs
// (random source ports: its SYNs spread over the queues, so the XDP program
// counts the one source on both CPUs at once). Exactly `threshold` SYNs reach
// the victim's stack, none more.
#include <sched.h>

#include <thread>

#include "lab_fixture.h"

namespace sg::lab::test {
namespace {

constexpr uint32_t kThreshold = 200;
constexpr const char* kVictimAddr = "10.200.7.1";
constexpr const char* kAttackerAddr = "10.200.7.2";

TEST(MultiQueueTest, XdpLetsExactlyThresholdThroughWithSendersOnTwoCpus) {
  SG_REQUIRE_ROOT();
  std::vector<int> cpus;
  cpu_set_t mine;
  CPU_ZERO(&mine);
  ASSERT_EQ(sched_getaffinity(0, sizeof(mine), &mine), 0);
  for (int c = 0; c < CPU_SETSIZE && cpus.size() < 2; c++) {
    if (CPU_ISSET(c, &mine)) cpus.push_back(c);
  }
  if (cpus.size() < 2) GTEST_SKIP() << "needs two CPUs";
  const std::string binary = findSynGuardBinary();
  ASSERT_EQ(access(binary.c_str(), X_OK), 0) << binary;

  auto victim = Netns::create("mqv");
  ASSERT_OK(victim);
  auto attacker = Netns::create("mqa");
  ASSERT_OK(attacker);
  ASSERT_OK(attacker->ip({"link", "add", "veth-mqa", "numtxqueues", "4", "numrxqueues", "4", "type",
                          "veth", "peer", "name", "veth-mqv", "numtxqueues", "4", "numrxqueues",
                          "4", "netns", victim->name()}));
  ASSERT_OK(victim->addAddress("veth-mqv", std::string(kVictimAddr) + "/24"));
  ASSERT_OK(attacker->addAddress("veth-mqa", std::string(kAttackerAddr) + "/24"));
  ASSERT_OK(victim->linkUp("veth-mqv"));
  ASSERT_OK(attacker->linkUp("veth-mqa"));
  auto link = victim->ip({"-d", "link", "show", "veth-mqv"});
  ASSERT_OK(link);
  ASSERT_NE(link->find("numrxqueues 4"), std::string::npos) << *link;

  auto server = TcpServer::start(victim->name(), kVictimAddr, kServerPort);
  ASSERT_OK(server);
  // Resolve the neighbour first (no agent yet: uncounted).
  {
    Result<std::chrono::microseconds> r = makeError(Errc::kIo, "not run");
    auto t =
        startThreadIn(attacker->name(), [&] { r = probeOnce(kVictimAddr, kServerPort, 1000ms); });
    ASSERT_OK(t);
    t->join();
    ASSERT_OK(r);
  }
  auto probe = SynProbe::install(*victim, {kAttackerAddr});
  ASSERT_OK(probe);

  AgentOptions o;
  o.binary = binary;
  o.netns = victim->name();
  o.interfaces = {"veth-mqv"};
  o.threshold = kThreshold;
  o.window = "5s";
  o.block = "30s";
  o.enforcer = "xdp";
  auto agent = AgentProcess::start(o);
  ASSERT_OK(agent);

  // Two senders, one per CPU, 5,000 SYNs each as fast as they go.
  std::vector<std::thread> senders;
  std::vector<Result<FloodStats>> stats(2, makeError(Errc::kIo, "not run"));
  for (size_t i = 0; i < 2; i++) {
    auto t = startThreadIn(attacker->name(), [&, i] {
      cpu_set_t one;
      CPU_ZERO(&one);
      CPU_SET(cpus[i], &one);
      sched_setaffinity(0, sizeof(one), &one);
      FloodOptions f;
      f.src = kAttackerAddr;
      f.dst = kVictimAddr;
      f.dst_port = kServerPort;
      f.count = 5000;
      f.duration = 10s;
      f.batch = 16;
      stats[i] = runFlood(f);
    });
    ASSERT_OK(t);
    senders.push_back(std::move(*t));
  }
  for (std::thread& t : senders) t.join();
  for (auto& s : stats) {
    ASSERT_OK(s);
    EXPECT_GE(s->sent, 4000u) << s->json();
  }
  auto added = (*agent)->waitFor("block_added", 3s, [](const nlohmann::json& e) {
    return e.value("src", "") == kAttackerAddr;
  });
  ASSERT_TRUE(added.has_value()) << "no block for the attacker";
  EXPECT_EQ(added->value("level", -1), 0) << added->dump();

  auto reached = probe->read(kAttackerAddr);
  ASSERT_OK(reached);
  std::printf("multi-queue: reached=%llu (threshold %u), sent=%llu\n",
              static_cast<unsigned long long>(*reached), kThreshold,
              static_cast<unsigned long long>(stats[0]->sent + stats[1]->sent));
  // Exactly the threshold, but for SYNs passed uncounted for a reason the
  // agent counts: new SYNs whose 16-bit fingerprint matched a recent one of
  // the same source, excused as retransmissions (random ports and sequence
  // numbers: about 1 run in 100 has one), and a first SYN that lost the race
  // to fill its slot when the other CPU did not finish within the bounded
  // wait (admit_races_lost_total; a preempted vCPU). The one source holds
  // one slot: the CPU that lost the race to admit it used to take the set's
  // other way for it, and each way let the threshold through (one SYN beyond
  // it in about 1 run in 8: tests/bpf/admission_race_test.cpp).
  auto excused = (*agent)->counter("retransmits_excused_total");
  ASSERT_OK(excused);
  auto raced = (*agent)->counter("admit_races_lost_total");
  ASSERT_OK(raced);
  auto filled = (*agent)->counter("source_slots_filled_total");
  ASSERT_OK(filled);
  std::printf("multi-queue: excused=%llu admit_races_lost=%llu slots=%llu\n",
              static_cast<unsigned long long>(*excused), static_cast<unsigned long long>(*raced),
              static_cast<unsigned long long>(*filled));
  EXPECT_EQ(*filled, 1u) << "the one source was given more than one slot";
  EXPECT_EQ(*reached, kThreshold + *excused + *raced)
      << "attempts beyond the threshold reached the victim (excused as retransmissions: "
      << *excused << ", admission races lost: " << *raced << ")";
  EXPECT_EQ((*agent)->stop(), 0) << (*agent)->process().stderrText();
}

}  // namespace
}  // namespace sg::lab::test
