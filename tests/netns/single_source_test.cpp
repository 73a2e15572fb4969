// (a)/(b): one attacker floods the victim's server port while a legitimate
// client keeps working beside it. The attacker must be blocked after exactly
// `threshold` attempts reached the victim (XDP: 0 beyond; nftables: <= 2),
// the client must keep succeeding (>= 95 %), and the attacker must get
// through again once the short block expires.
#include <functional>
#include <string>

#include "lab_fixture.h"

namespace sg::lab::test {
namespace {

constexpr uint32_t kThreshold = 200;

struct Outcome {
  uint64_t reached = 0;  // attacker SYNs delivered to the victim's stack
  uint64_t excused = 0;  // SYNs the kernel excused as retransmissions (not counted)
  ClientStats client;    // the legitimate client during the flood
  nlohmann::json block;  // the block_added event
};

class SingleSourceTest : public LabTest {
 protected:
  // The agent's own nftables table (default name) in the victim namespace.
  Result<std::string> agentTable() {
    return lab_->victim().run({"nft", "list", "table", "inet", "syn_guard"});
  }

  // Starts the agent, floods from the attacker's own address, and checks what
  // every enforcer must do. `during_block` runs while the block is in place.
  // `after_expiry` runs once the agent reported the expiry, before it stops.
  void runScenario(const std::string& enforcer, uint64_t max_beyond,
                   const std::function<void()>& during_block,
                   const std::function<void()>& after_expiry, Outcome* out) {
    // Resolve the attacker's neighbour entry first (uncounted: no probe, no agent yet).
    ASSERT_TRUE(connectsWithin(lab_->attacker(), kVictim.v4, 2s));
    auto probe = SynProbe::install(lab_->victim(), {kAttacker.v4});
    ASSERT_OK(probe);
    auto agent = AgentProcess::start(agentOptions(enforcer, kThreshold, "2s"));
    ASSERT_OK(agent);
    AgentProcess& a = **agent;
    EXPECT_EQ(a.ready().value("enforcer", ""), enforcer) << a.ready().dump();

    auto client = ClientLoop::start(lab_->client().name(), kVictim.v4, kServerPort, 25);
    ASSERT_OK(client);
    std::this_thread::sleep_for(500ms);
    ClientStats before = (*client)->stats();
    ASSERT_GT(before.ok, 0u) << "the client does not work even before the flood";

    // 10 000 SYNs in ~1 s: fifty times the threshold, and over before the 2 s
    // block ends, so the expiry can be observed.
    auto flood =
        runFloodIn(lab_->attacker().name(), singleSource(kAttacker.v4, kVictim.v4, 10000, 10000));
    ASSERT_OK(flood);
    EXPECT_GE(flood->sent, 9000u) << flood->json();

    auto added = a.waitFor("block_added", 3s, srcIs(kAttacker.v4));
    ASSERT_TRUE(added.has_value()) << "no block_added for the attacker";
    out->block = *added;
    // Measured, never a constant: nftables reports detection to the element
    // in place; XDP, which drops the crossing attempt itself (checked below
    // on the server side), reports detection to the agent notified.
    if (enforcer == "xdp") {
      EXPECT_TRUE(added->contains("notified_us")) << added->dump();
      EXPECT_FALSE(added->contains("latency_us")) << added->dump();
    } else {
      EXPECT_TRUE(added->contains("latency_us")) << added->dump();
    }
    auto detected = a.waitFor("flood_detected", 1s, srcIs(kAttacker.v4));
    ASSERT_TRUE(detected.has_value());
    EXPECT_EQ(detected->value("count", 0u), kThreshold + 1) << detected->dump();
    EXPECT_EQ(detected->value("dst_port", 0u), kServerPort);
    if (during_block) during_block();

    auto reached = probe->read(kAttacker.v4);
    ASSERT_OK(reached);
    out->reached = *reached;
    // A SYN whose 16-bit fingerprint matches one of its source's three
    // recent ones is excused as a retransmission and passes uncounted
    // (bpf/sg_track.h, sg_syn_repeat: at most the repeat allowance per
    // bucket): one in ~100 runs of 200 SYNs has one. It reaches the victim
    // over the threshold by design, so it is allowed for, and said.
    auto excused = a.counter("retransmits_excused_total");
    ASSERT_OK(excused);
    out->excused = *excused;
    // Enough for the detector to see a flood; no more than the threshold plus the slack.
    EXPECT_GE(*reached, kThreshold) << "fewer attempts reached the victim than the threshold";
    EXPECT_LE(*reached, kThreshold + max_beyond + *excused)
        << "attempts beyond the threshold reached the victim: " << (*reached - kThreshold) << " ("
        << *excused << " excused as retransmissions)";

    if (enforcer == "xdp") {  // dropped_total counts the XDP program's drops only
      auto dropped = a.counter("dropped_total");
      ASSERT_OK(dropped);
      EXPECT_GE(*dropped + *reached + 100, flood->sent) << "dropped " << *dropped;
    }

    out->client = (*client)->stats() - before;
    EXPECT_GE(out->client.successRate(), 0.95)
        << out->client.ok << " ok, " << out->client.failed << " failed during the flood";

    auto expired = a.waitFor("block_expired", 5s, srcIs(kAttacker.v4));
    ASSERT_TRUE(expired.has_value()) << "the 2 s block did not expire within 5 s";
    std::printf("%s\n", expired->dump().c_str());
    if (after_expiry) after_expiry();
    EXPECT_TRUE(connectsWithin(lab_->attacker(), kVictim.v4, 2s))
        << "the attacker cannot connect after its block expired";
    (*client)->stop();
    EXPECT_EQ(a.stop(), 0) << a.process().stderrText();
    EXPECT_TRUE(a.waitFor("stopped", 0ms).has_value());
  }
};

TEST_F(SingleSourceTest, XdpBlocksAfterExactlyThresholdAndClientKeepsWorking) {
  Outcome out;
  runScenario("xdp", 0, nullptr, nullptr, &out);
  // Detection to block in XDP, measured where it shows: the server saw
  // exactly `threshold` attempts, so the first SYN past the threshold (the
  // one that crossed) never reached it.
  // (plus any SYN excused as a retransmission, which passes uncounted: see
  // runScenario; none in most runs, and then this is exact).
  EXPECT_GE(out.reached, kThreshold);
  EXPECT_LE(out.reached, kThreshold + out.excused)
      << "the crossing SYN or a later one reached the server (" << out.excused
      << " excused as retransmissions)";
  std::printf(
      "xdp: reached=%llu (threshold %u, excused %llu), notified_us=%s, client ok=%llu "
      "failed=%llu\n",
      static_cast<unsigned long long>(out.reached), kThreshold,
      static_cast<unsigned long long>(out.excused),
      out.block.value("notified_us", nlohmann::json()).dump().c_str(),
      static_cast<unsigned long long>(out.client.ok),
      static_cast<unsigned long long>(out.client.failed));
}

TEST_F(SingleSourceTest, NftablesBlocksWithinTwoOfThresholdAndElementExpires) {
  Outcome out;
  bool element_seen = false;
  runScenario(
      "nftables", 2,
      [&] {
        auto rules = agentTable();
        ASSERT_OK(rules);
        element_seen = rules->find(kAttacker.v4) != std::string::npos;
        EXPECT_TRUE(element_seen) << "attacker not in the agent's nft table:\n" << *rules;
      },
      [&] {
        // The element goes away with the block (bounded poll: the set's own
        // timeout or the agent's removal), while the agent still runs.
        bool gone = false;
        for (int i = 0; i < 30 && !gone; ++i) {
          auto rules = agentTable();
          ASSERT_OK(rules);
          gone = rules->find(kAttacker.v4) == std::string::npos;
          if (!gone) std::this_thread::sleep_for(100ms);
        }
        EXPECT_TRUE(gone) << "the nft element outlived the block:\n" << agentTable().value();
      },
      &out);
  EXPECT_TRUE(element_seen);
  std::printf("nftables: reached=%llu (threshold %u), latency_us=%s\n",
              static_cast<unsigned long long>(out.reached), kThreshold,
              out.block.value("latency_us", nlohmann::json()).dump().c_str());
}

}  // namespace
}  // namespace sg::lab::test
