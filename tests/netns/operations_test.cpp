// The operator's surface against the real agent: `syn-guard block/unblock/
// blocks` over the control socket, the Prometheus endpoint, and a SIGHUP
// reload that changes the threshold live (and a broken file that changes
// nothing).
#include <arpa/inet.h>
#include <signal.h>
#include <sys/socket.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "agent/sockets.h"
#include "lab_fixture.h"

namespace sg::lab::test {
namespace {

class OperationsTest : public LabTest {
 protected:
  Result<CommandOutput> cli(const AgentProcess& a, std::vector<std::string> args) {
    args.insert(args.begin(), binary_);
    args.push_back("--control-socket");
    args.push_back(a.controlSocket());
    return runCommand(args, lab_->victim().name());
  }

  // GET /metrics from inside the victim namespace (the endpoint is on its loopback).
  Result<std::string> scrape(const AgentProcess& a) {
    std::string addr = a.ready().value("metrics", "");
    auto colon = addr.rfind(':');
    if (colon == std::string::npos) return makeError(Errc::kNotFound, "no metrics address");
    int port = std::stoi(addr.substr(colon + 1));
    Result<std::string> body = makeError(Errc::kIo, "not run");
    auto t = startThreadIn(lab_->victim().name(), [&] {
      agent::Fd fd(::socket(AF_INET, SOCK_STREAM, 0));
      sockaddr_in sa{};
      sa.sin_family = AF_INET;
      sa.sin_port = htons(static_cast<uint16_t>(port));
      inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
      if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
        body = makeError(Errc::kIo, "connect to the metrics endpoint failed");
        return;
      }
      if (auto w = agent::writeAll(fd.get(), "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"); !w) {
        body = w.error();
        return;
      }
      std::string all;
      char buf[4096];
      ssize_t n;
      while ((n = ::read(fd.get(), buf, sizeof buf)) > 0) all.append(buf, static_cast<size_t>(n));
      body = all;
    });
    if (!t) return t.error();
    t->join();
    return body;
  }

  static uint64_t metricValue(const std::string& text, const std::string& name) {
    auto pos = text.find("\n" + name + " ");
    if (pos == std::string::npos) return ~0ull;
    return std::stoull(text.substr(pos + name.size() + 2));
  }
};

TEST_F(OperationsTest, ManualBlockUnblockAndMetrics) {
  ASSERT_TRUE(connectsWithin(lab_->attacker(), kVictim.v4, 2s));
  auto agent = AgentProcess::start(agentOptions("xdp", 1000, "60s"));
  ASSERT_OK(agent);
  AgentProcess& a = **agent;

  auto blocked = cli(a, {"block", kAttacker.v4, "--for", "30s"});
  ASSERT_OK(blocked);
  ASSERT_EQ(blocked->exit_code, 0) << blocked->err;
  EXPECT_NE(blocked->out.find("blocked " + std::string(kAttacker.v4)), std::string::npos);
  EXPECT_FALSE(connectFrom(lab_->attacker(), kVictim.v4).ok()) << "a blocked source got through";
  EXPECT_TRUE(connectFrom(lab_->client(), kVictim.v4).ok()) << "another source was blocked too";

  auto list = cli(a, {"blocks", "--json"});
  ASSERT_OK(list);
  auto blocks = nlohmann::json::parse(list->out);
  ASSERT_EQ(blocks.size(), 1u) << list->out;
  EXPECT_EQ(blocks[0]["src"], kAttacker.v4);
  EXPECT_EQ(blocks[0]["origin"], "manual");
  EXPECT_GT(blocks[0]["dropped"].get<uint64_t>(), 0u);

  auto metrics = scrape(a);
  ASSERT_OK(metrics);
  EXPECT_NE(metrics->find("HTTP/1.1 200 OK"), std::string::npos);
  EXPECT_EQ(metricValue(*metrics, "syn_guard_active_blocks"), 1u) << *metrics;
  EXPECT_GT(metricValue(*metrics, "syn_guard_dropped_total"), 0u);
  EXPECT_EQ(metricValue(*metrics, "syn_guard_agent_manual_blocks_total"), 1u);
  EXPECT_EQ(metricValue(*metrics, "syn_guard_events_lost_total"), 0u);

  auto unblocked = cli(a, {"unblock", kAttacker.v4});
  ASSERT_OK(unblocked);
  ASSERT_EQ(unblocked->exit_code, 0) << unblocked->err;
  EXPECT_TRUE(connectsWithin(lab_->attacker(), kVictim.v4, 2s));
  EXPECT_TRUE(a.waitFor("block_removed", 1s, srcIs(kAttacker.v4)).has_value());

  // Bad input: a clear error and exit code 2; unblocking what is not blocked: 1.
  auto bad = cli(a, {"block", "10.200.1.999"});
  ASSERT_OK(bad);
  EXPECT_EQ(bad->exit_code, 2);
  EXPECT_NE(bad->err.find("10.200.1.999"), std::string::npos) << bad->err;
  auto absent = cli(a, {"unblock", kAttacker.v4});
  ASSERT_OK(absent);
  EXPECT_EQ(absent->exit_code, 1);
  EXPECT_NE(absent->err.find("not blocked"), std::string::npos) << absent->err;
  EXPECT_EQ(a.stop(), 0);
}

// Block Globally of a prefix through the real agent: every source inside is
// dropped from its first SYN, one on the allowlist inside it is not, and the
// block is listed, counted in `status`, and lifted by `unblock PREFIX`.
TEST_F(OperationsTest, PrefixBlockDropsTheSourcesInsideButTheAllowlisted) {
  AgentOptions o = agentOptions("xdp", 1000, "60s");
  o.extra = {"--allow", kClient.v4};
  auto agent = AgentProcess::start(o);
  ASSERT_OK(agent);
  AgentProcess& a = **agent;
  const std::string prefix = "10.200.1.2/31";  // the attacker (.2) and the client (.3)

  auto blocked = cli(a, {"block", prefix, "--duration", "30s"});
  ASSERT_OK(blocked);
  ASSERT_EQ(blocked->exit_code, 0) << blocked->err;
  EXPECT_NE(blocked->out.find("blocked 10.200.1.2/31"), std::string::npos) << blocked->out;
  EXPECT_FALSE(connectFrom(lab_->attacker(), kVictim.v4).ok()) << "a source inside got through";
  EXPECT_TRUE(connectFrom(lab_->client(), kVictim.v4).ok()) << "the allowlist must win";

  auto list = cli(a, {"blocks", "--json"});
  ASSERT_OK(list);
  auto blocks = nlohmann::json::parse(list->out);
  ASSERT_EQ(blocks.size(), 1u) << list->out;
  EXPECT_EQ(blocks[0]["src"], prefix);
  EXPECT_EQ(blocks[0]["prefix"], true);
  EXPECT_GT(blocks[0]["dropped"].get<uint64_t>(), 0u);
  auto status = cli(a, {"status", "--json"});
  ASSERT_OK(status);
  EXPECT_EQ(nlohmann::json::parse(status->out)["prefix_blocks"], 1) << status->out;

  auto unblocked = cli(a, {"unblock", prefix});
  ASSERT_OK(unblocked);
  ASSERT_EQ(unblocked->exit_code, 0) << unblocked->err;
  EXPECT_TRUE(connectsWithin(lab_->attacker(), kVictim.v4, 2s));
  EXPECT_EQ(a.stop(), 0);
}

TEST_F(OperationsTest, SighupReloadsThresholdLiveAndRejectsABrokenFile) {
  char dir[] = "/tmp/sg-reload-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string path = std::string(dir) + "/agent.toml";
  auto write = [&](const std::string& text) { std::ofstream(path, std::ios::trunc) << text; };
  write("flood_threshold = 1000\n");
  ASSERT_TRUE(connectsWithin(lab_->attacker(), kVictim.v4, 2s));
  AgentOptions o = agentOptions("xdp", 0, "60s");  // threshold from the file
  o.extra = {"--config", path};
  auto agent = AgentProcess::start(o);
  ASSERT_OK(agent);
  AgentProcess& a = **agent;
  EXPECT_EQ(a.ready().value("threshold", 0u), 1000u);

  auto flood = [&] {
    return runFloodIn(lab_->attacker().name(), singleSource(kAttacker.v4, kVictim.v4, 300, 3000));
  };
  ASSERT_OK(flood());
  std::this_thread::sleep_for(300ms);
  EXPECT_TRUE(a.eventsNamed("block_added").empty()) << "300 attempts blocked at threshold 1000";

  // Threshold 100, live: the same 300 attempts (counted in the same window)
  // now cross it without a restart.
  write("flood_threshold = 100\n");
  size_t since = a.mark();
  ASSERT_EQ(::kill(a.pid(), SIGHUP), 0);
  auto reloaded = a.waitFor("config_reloaded", 2s, nullptr, since);
  ASSERT_TRUE(reloaded.has_value());
  EXPECT_EQ(reloaded->value("threshold", 0u), 100u) << reloaded->dump();
  ASSERT_OK(flood());
  EXPECT_TRUE(a.waitFor("block_added", 2s, srcIs(kAttacker.v4), since).has_value())
      << "the reloaded threshold did not take effect";

  write("flood_threshold = [oops\n");
  since = a.mark();
  ASSERT_EQ(::kill(a.pid(), SIGHUP), 0);
  auto rejected = a.waitFor("config_rejected", 2s, nullptr, since);
  ASSERT_TRUE(rejected.has_value());
  EXPECT_NE(rejected->value("error", "").find("agent.toml"), std::string::npos) << rejected->dump();
  EXPECT_EQ(a.stop(), 0);
  std::remove(path.c_str());
  ::rmdir(dir);
}

TEST_F(OperationsTest, NftablesDropsAfterTheHandOffCountInDroppedTotal) {
  auto agent = AgentProcess::start(agentOptions("nftables", 1000, "60s"));
  ASSERT_OK(agent);
  AgentProcess& a = **agent;
  // A manual block is handed off at once: XDP passes the source's packets and
  // only the nftables rule drops them, so XDP's own count stays 0.
  auto blocked = cli(a, {"block", kAttacker.v4, "--for", "30s"});
  ASSERT_OK(blocked);
  ASSERT_EQ(blocked->exit_code, 0) << blocked->err;
  for (int i = 0; i < 3; ++i) {
    EXPECT_FALSE(connectFrom(lab_->attacker(), kVictim.v4).ok()) << "a blocked source got through";
  }
  auto metrics = scrape(a);
  ASSERT_OK(metrics);
  EXPECT_GE(metricValue(*metrics, "syn_guard_dropped_total"), 3u) << *metrics;
  EXPECT_EQ(metricValue(*metrics, "syn_guard_agent_enforcer_read_errors_total"), 0u);
  EXPECT_EQ(a.stop(), 0);
}

// An address added to the host while the agent runs is allowed at once
// (rtnetlink), not only the ones present at start: SYNs forged with it as
// their source are counted as allowlisted, never blocked.
TEST_F(OperationsTest, AddressAddedWhileRunningIsAllowlisted) {
  auto agent = AgentProcess::start(agentOptions("xdp", 50, "60s"));
  ASSERT_OK(agent);
  AgentProcess& a = **agent;
  const std::string added = "10.200.1.77";
  size_t since = a.mark();
  ASSERT_OK(lab_->victim().addAddress(kVictim.dev, added + "/24"));
  EXPECT_TRUE(a.waitFor("host_addresses", 2s, nullptr, since).has_value())
      << "the agent did not notice the new address";
  ASSERT_OK(runFloodIn(lab_->attacker().name(), singleSource(added, kVictim.v4, 200, 4000)));
  std::this_thread::sleep_for(300ms);
  EXPECT_TRUE(a.eventsNamed("block_added").empty()) << "the host's own new address was blocked";
  auto allowlisted = a.counter("allowlisted_total");
  ASSERT_OK(allowlisted);
  EXPECT_GT(*allowlisted, 0u);
  EXPECT_EQ(a.stop(), 0);
}

}  // namespace
}  // namespace sg::lab::test

namespace sg::lab::test {
namespace {

// `syn-guard isolate/release` against the real agent: while isolated only the
// console (the lab's client host) reaches the victim's server; release
// restores the peer; an agent restarted with the same --state-dir re-applies
// the recorded isolation at start.
TEST_F(OperationsTest, IsolateReleaseAndIsolationSurvivesARestart) {
  char dir[] = "/tmp/sg-isolation-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  struct Cleanup {
    std::string d;
    ~Cleanup() { (void)!std::system(("rm -rf " + d).c_str()); }
  } cleanup{dir};
  AgentOptions o = agentOptions("xdp", 1000, "60s");
  o.extra = {"--state-dir", dir};
  ASSERT_TRUE(connectsWithin(lab_->attacker(), kVictim.v4, 2s));
  {
    auto agent = AgentProcess::start(o);
    ASSERT_OK(agent);
    AgentProcess& a = **agent;
    EXPECT_EQ(a.ready()["isolation"]["isolated"], false);
    auto on = cli(a, {"isolate", "--console", kClient.v4});
    ASSERT_OK(on);
    ASSERT_EQ(on->exit_code, 0) << on->err;
    EXPECT_FALSE(connectFrom(lab_->attacker(), kVictim.v4).ok()) << "the peer got through";
    EXPECT_TRUE(connectFrom(lab_->client(), kVictim.v4).ok()) << "the console was cut off";
    auto status = a.status();
    ASSERT_OK(status);
    EXPECT_EQ((*status)["isolation"]["isolated"], true) << status->dump();

    auto off = cli(a, {"release"});
    ASSERT_OK(off);
    ASSERT_EQ(off->exit_code, 0) << off->err;
    EXPECT_TRUE(connectsWithin(lab_->attacker(), kVictim.v4, 2s)) << "release did not restore";

    auto bad = cli(a, {"isolate", "--console", "10.200.1.999"});
    ASSERT_OK(bad);
    EXPECT_EQ(bad->exit_code, 2);
    EXPECT_NE(bad->err.find("10.200.1.999"), std::string::npos) << bad->err;

    auto again = cli(a, {"isolate", "--console", kClient.v4});
    ASSERT_OK(again);
    ASSERT_EQ(again->exit_code, 0) << again->err;
    EXPECT_EQ(a.stop(), 0);
  }
  // The restarted agent re-applies the record before anything else.
  auto agent = AgentProcess::start(o);
  ASSERT_OK(agent);
  AgentProcess& a = **agent;
  EXPECT_EQ(a.ready()["isolation"]["isolated"], true) << a.ready().dump();
  EXPECT_FALSE(connectFrom(lab_->attacker(), kVictim.v4).ok()) << "isolation lost at restart";
  EXPECT_TRUE(connectFrom(lab_->client(), kVictim.v4).ok()) << "the console was cut off";
  auto off = cli(a, {"release"});
  ASSERT_OK(off);
  EXPECT_EQ(off->exit_code, 0) << off->err;
  EXPECT_EQ(a.stop(), 0);
}

}  // namespace
}  // namespace sg::lab::test
