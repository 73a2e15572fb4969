// Handshake-aware per-source counting end to end (bpf/sg_handshake*.h): the
// real agent in the victim namespace, real handshakes over veth.
//  - a NAT gateway (the client: one address, every connection completed)
//    opens more connections than the flood threshold allows half-open ones
//    and is never blocked;
//  - beside it, a half-open flooder (raw SYNs from the attacker) is blocked
//    at the flood threshold, named "half_open";
//  - a full-handshake connection flood (the attacker's IPv6 address,
//    completing every connection) is blocked at the connection threshold,
//    named "connections".
#include <string>

#include "lab_fixture.h"

namespace sg::lab::test {
namespace {

constexpr uint32_t kThreshold = 50;
constexpr uint32_t kConnectionThreshold = 200;

class HandshakeTest : public LabTest {};

TEST_F(HandshakeTest, ANatGatewayPassesWhileAHalfOpenAndAConnectionFlooderAreBlocked) {
  // The client's and the attacker's neighbour entries first (no agent yet).
  ASSERT_TRUE(connectsWithin(lab_->client(), kVictim.v4, 2s));
  ASSERT_TRUE(connectsWithin(lab_->attacker(), kVictim.v6, 2s));
  AgentOptions o = agentOptions("xdp", kThreshold, "30s");
  o.extra = {"--connection-threshold", std::to_string(kConnectionThreshold), "--no-port-flood"};
  auto agent = AgentProcess::start(o);
  ASSERT_OK(agent);
  AgentProcess& a = **agent;

  // The gateway: 40 completed connections a second, 120 within the 5 s
  // window by the time the floods start (2.4x the flood threshold).
  auto nat = ClientLoop::start(lab_->client().name(), kVictim.v4, kServerPort, 40);
  ASSERT_OK(nat);
  std::this_thread::sleep_for(3s);

  // The half-open flooder: 300 SYNs at 500/s that never complete.
  auto flood =
      runFloodIn(lab_->attacker().name(), singleSource(kAttacker.v4, kVictim.v4, 300, 500));
  ASSERT_OK(flood);
  auto half_open = a.waitFor("block_added", 3s, srcIs(kAttacker.v4));
  ASSERT_TRUE(half_open.has_value()) << "the half-open flooder was not blocked";
  EXPECT_EQ(half_open->value("threshold", ""), "half_open") << half_open->dump();
  EXPECT_EQ(half_open->value("count", 0u), kThreshold + 1) << half_open->dump();

  // The connection flood: 150 completed connections a second from one /64.
  const std::string v6_source = "fd00:200:0:2::/64";
  const size_t before_conn = a.mark();
  auto conn = ClientLoop::start(lab_->attacker().name(), kVictim.v6, kServerPort, 150);
  ASSERT_OK(conn);
  auto connections = a.waitFor("block_added", 4s, srcIs(v6_source), before_conn);
  const ClientStats conn_stats = (*conn)->stats();
  (*conn)->stop();
  ASSERT_TRUE(connections.has_value())
      << "the connection flood was not blocked; it completed " << conn_stats.ok;
  EXPECT_EQ(connections->value("threshold", ""), "connections") << connections->dump();
  EXPECT_GT(conn_stats.ok, kConnectionThreshold - 10) << "blocked before it completed enough";

  // The gateway kept working throughout and was credited past the threshold.
  const ClientStats gw = (*nat)->stats();
  (*nat)->stop();
  EXPECT_GT(gw.ok, 2 * kThreshold);
  EXPECT_EQ(gw.failed, 0u);
  EXPECT_TRUE(a.eventsNamed("block_added").size() == 2u) << "only the two flooders";
  for (const auto& e : a.eventsNamed("block_added")) {
    EXPECT_NE(e.value("src", ""), kClient.v4) << e.dump();
  }
  auto credited = a.counter("attempts_credited_total");
  ASSERT_OK(credited);
  EXPECT_GT(*credited, 0u) << "the gateway never went over the half-open threshold";
  auto completions = a.counter("source_completions_total");
  ASSERT_OK(completions);
  EXPECT_GE(*completions, gw.ok);
  auto status = a.status();
  ASSERT_OK(status);
  EXPECT_EQ(status->value("connection_threshold", 0u), kConnectionThreshold);
  EXPECT_EQ(a.stop(), 0) << a.process().stderrText();
}

}  // namespace
}  // namespace sg::lab::test
