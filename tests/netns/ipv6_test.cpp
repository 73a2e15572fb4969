// (d): an IPv6 flood from several addresses of one /64, each below the
// threshold, is counted per /64 and blocked as one source; a client in another
// /64 is not affected.
#include "lab_fixture.h"

namespace sg::lab::test {
namespace {

class Ipv6Test : public LabTest {};

TEST_F(Ipv6Test, FloodFromOneSlash64IsAggregatedAndBlocked) {
  const std::string attacker64 = "fd00:200:0:2::/64";
  for (const char* a : {"fd00:200:0:2::10/64", "fd00:200:0:2::11/64", "fd00:200:0:2::12/64",
                        "fd00:200:0:2::13/64"}) {
    ASSERT_OK(lab_->addAddress(lab_->attacker(), a));  // pinned, as the lab's own
  }
  // Resolve the neighbour entries first (uncounted: no probe, no agent yet).
  ASSERT_TRUE(connectsWithin(lab_->attacker(), kVictim.v6, 2s));
  auto probe = SynProbe::install(lab_->victim(), {attacker64});
  ASSERT_OK(probe);
  auto opts = agentOptions("xdp", 200, "10s");
  opts.extra = {"--ipv6-prefix", "64"};
  auto agent = AgentProcess::start(opts);
  ASSERT_OK(agent);
  AgentProcess& a = **agent;
  ASSERT_TRUE(connectFrom(lab_->client(), kVictim.v6).ok()) << "IPv6 path broken before the flood";

  // 600 SYNs spread at random over 4 addresses: ~150 each, under the
  // threshold of 200 per address, 3x over it per /64.
  FloodOptions f;
  f.spoof_cidr = "fd00:200:0:2::10/126";
  f.dst = kVictim.v6;
  f.dst_port = kServerPort;
  f.count = 600;
  f.rate = 3000;
  f.duration = 5s;
  auto flood = runFloodIn(lab_->attacker().name(), f);
  ASSERT_OK(flood);
  EXPECT_EQ(flood->sent, 600u) << flood->json();

  auto added = a.waitFor("block_added", 3s);
  ASSERT_TRUE(added.has_value()) << "no block for the /64";
  EXPECT_EQ(added->value("src", ""), attacker64) << added->dump();
  auto reached = probe->read(attacker64);
  ASSERT_OK(reached);
  EXPECT_EQ(*reached, 200u) << "SYNs from the /64 that reached the victim";
  // Blocked as a /64: another address of it cannot connect; the client's /64 can.
  EXPECT_FALSE(connectFrom(lab_->attacker(), kVictim.v6).ok());
  EXPECT_TRUE(connectFrom(lab_->client(), kVictim.v6).ok());
  EXPECT_EQ(a.stop(), 0) << a.process().stderrText();
}

}  // namespace
}  // namespace sg::lab::test
