// (e): one agent per interface; a second one refuses clearly. SIGTERM (and
// even SIGKILL) leaves no XDP program on the interface. Blocks survive a
// restart: the block table is pinned (here in a private bpffs mounted on a
// temporary directory), permanent blocks are also in the state file, and
// expiry stays the kernel's.
#include <signal.h>
#include <sys/mount.h>

#include <cstdio>
#include <filesystem>

#include "lab_fixture.h"

namespace sg::lab::test {
namespace {

class LifecycleTest : public LabTest {
 protected:
  bool interfaceHasXdp() {
    auto out = lab_->victim().ip({"link", "show", "dev", kVictim.dev});
    EXPECT_OK(out);
    return out.ok() && out->find("xdp") != std::string::npos;
  }
};

TEST_F(LifecycleTest, SecondAgentOnSameInterfaceRefuses) {
  auto first = AgentProcess::start(agentOptions("xdp", 200, "10s"));
  ASSERT_OK(first);
  EXPECT_TRUE(interfaceHasXdp());

  char dir[] = "/tmp/sg-lab-second-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  auto second =
      Process::spawn({binary_, "agent", "--interface", kVictim.dev, "--log-format", "json",
                      "--metrics-listen", "127.0.0.1:0", "--control-socket",
                      std::string(dir) + "/agent.sock", "--pin-dir", "", "--state-dir", dir,
                      // Its own isolation table: the interface is what is in conflict.
                      "--nft-table", "syn_guard_second"},
                     lab_->victim().name());
  ASSERT_OK(second);
  auto code = (*second)->waitExit(15s);
  rmdir(dir);
  ASSERT_TRUE(code.has_value()) << "the second agent did not exit";
  (*second)->waitOutput();
  std::string err = (*second)->stderrText();
  EXPECT_NE(*code, 0);
  EXPECT_NE(err.find(kVictim.dev), std::string::npos)
      << "message does not name the interface: " << err;
  std::printf("second agent: exit %d: %s\n", *code, err.c_str());
  // The first one is undisturbed.
  EXPECT_TRUE((*first)->process().running());
  EXPECT_OK((*first)->status());
}

TEST_F(LifecycleTest, SigtermDetachesXdp) {
  auto agent = AgentProcess::start(agentOptions("xdp", 200, "10s"));
  ASSERT_OK(agent);
  EXPECT_TRUE(interfaceHasXdp());
  EXPECT_EQ((*agent)->stop(), 0);
  EXPECT_TRUE((*agent)->waitFor("stopped", 0ms).has_value());
  EXPECT_FALSE(interfaceHasXdp());
}

TEST_F(LifecycleTest, SigkillLeavesNoXdpBehind) {
  auto agent = AgentProcess::start(agentOptions("xdp", 200, "10s"));
  ASSERT_OK(agent);
  EXPECT_TRUE(interfaceHasXdp());
  kill((*agent)->pid(), SIGKILL);
  ASSERT_TRUE((*agent)->process().waitExit(5s).has_value());
  // The link goes with the last file descriptor; give the kernel a moment.
  bool gone = false;
  for (int i = 0; i < 20 && !gone; ++i) {
    gone = !interfaceHasXdp();
    if (!gone) std::this_thread::sleep_for(100ms);
  }
  EXPECT_TRUE(gone) << "a killed agent left its XDP program attached";
  // A new agent can take the interface at once.
  auto again = AgentProcess::start(agentOptions("xdp", 200, "10s"));
  EXPECT_OK(again);
}

class PinnedLifecycleTest : public LifecycleTest {
 protected:
  void SetUp() override {
    LifecycleTest::SetUp();
    if (HasFatalFailure() || IsSkipped()) return;
    char pins[] = "/tmp/sg-pins-XXXXXX";
    char state[] = "/tmp/sg-state-XXXXXX";
    ASSERT_NE(mkdtemp(pins), nullptr);
    ASSERT_NE(mkdtemp(state), nullptr);
    pins_ = pins;
    state_ = state;
    ASSERT_EQ(::mount("bpf", pins, "bpf", 0, nullptr), 0) << "mounting a private bpffs";
    mounted_ = true;
  }
  void TearDown() override {
    if (mounted_) ::umount2(pins_.c_str(), MNT_DETACH);
    std::error_code ec;
    if (!pins_.empty()) std::filesystem::remove_all(pins_, ec);
    if (!state_.empty()) std::filesystem::remove_all(state_, ec);
    LifecycleTest::TearDown();
  }
  AgentOptions options() const {
    AgentOptions o = agentOptions("xdp", 200, "60s");
    o.extra = {"--pin-dir", pins_ + "/syn-guard", "--state-dir", state_};
    return o;
  }
  Result<CommandOutput> cli(const AgentProcess& a, std::vector<std::string> args) {
    args.insert(args.begin(), binary_);
    args.push_back("--control-socket");
    args.push_back(a.controlSocket());
    return runCommand(args, lab_->victim().name());
  }
  std::string listed(const AgentProcess& a) {
    auto out = cli(a, {"blocks", "--json"});
    EXPECT_OK(out);
    std::string s;
    if (!out.ok()) return s;
    for (const auto& b : nlohmann::json::parse(out->out)) s += b.value("src", "") + " ";
    return s;
  }
  void kill9(AgentProcess& a) {
    ::kill(a.pid(), SIGKILL);
    ASSERT_TRUE(a.process().waitExit(5s).has_value());
  }

  std::string pins_, state_;
  bool mounted_ = false;
};

TEST_F(PinnedLifecycleTest, BlocksSurviveAKilledAgentAndPermanentOnesSurviveLostPins) {
  ASSERT_TRUE(connectsWithin(lab_->attacker(), kVictim.v4, 2s));
  ASSERT_TRUE(connectsWithin(lab_->attacker(), kVictim.v6, 2s));
  ASSERT_TRUE(connectsWithin(lab_->client(), kVictim.v4, 2s));
  const std::string attacker64 = "fd00:200:0:2::/64";
  {
    auto first = AgentProcess::start(options());
    ASSERT_OK(first);
    for (auto args : std::vector<std::vector<std::string>>{{"block", kAttacker.v4, "--for", "60s"},
                                                           {"block", kAttacker.v6, "--permanent"},
                                                           {"block", kClient.v4, "--for", "1s"}}) {
      auto r = cli(**first, args);
      ASSERT_OK(r);
      ASSERT_EQ(r->exit_code, 0) << r->err;
    }
    EXPECT_FALSE(connectFrom(lab_->attacker(), kVictim.v6).ok());
    kill9(**first);
  }
  std::this_thread::sleep_for(1200ms);  // the client's 1 s block ends while no agent runs

  // Restart: the pinned table's live blocks are in force and listed again;
  // the expired one is gone.
  {
    auto second = AgentProcess::start(options());
    ASSERT_OK(second);
    std::string l = listed(**second);
    EXPECT_NE(l.find(std::string(kAttacker.v4) + " "), std::string::npos) << l;
    EXPECT_NE(l.find(attacker64), std::string::npos) << l;
    EXPECT_EQ(l.find(kClient.v4), std::string::npos) << "an expired block outlived the restart";
    EXPECT_FALSE(connectFrom(lab_->attacker(), kVictim.v4).ok()) << "the timed block was lost";
    EXPECT_FALSE(connectFrom(lab_->attacker(), kVictim.v6).ok()) << "the permanent block was lost";
    EXPECT_TRUE(connectFrom(lab_->client(), kVictim.v4).ok());
    EXPECT_TRUE((*second)->waitFor("block_restored", 0ms).has_value());
    kill9(**second);
  }

  // Pins gone (a reboot, an operator's rm): the permanent block comes back
  // from the state file; the timed one does not.
  std::error_code ec;
  std::filesystem::remove_all(pins_ + "/syn-guard", ec);
  ASSERT_FALSE(ec) << ec.message();
  auto third = AgentProcess::start(options());
  ASSERT_OK(third);
  std::string l = listed(**third);
  EXPECT_NE(l.find(attacker64), std::string::npos) << l;
  EXPECT_EQ(l.find(std::string(kAttacker.v4) + " "), std::string::npos) << l;
  EXPECT_FALSE(connectFrom(lab_->attacker(), kVictim.v6).ok());
  EXPECT_TRUE(connectsWithin(lab_->attacker(), kVictim.v4, 2s));
  auto un = cli(**third, {"unblock", kAttacker.v6});
  ASSERT_OK(un);
  EXPECT_EQ(un->exit_code, 0) << un->err;
  EXPECT_TRUE(connectsWithin(lab_->attacker(), kVictim.v6, 2s));
  EXPECT_EQ((*third)->stop(), 0);
}

}  // namespace
}  // namespace sg::lab::test
