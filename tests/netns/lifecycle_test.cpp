// (e): one agent per interface; a second one refuses clearly. SIGTERM (and
// even SIGKILL) leaves no XDP program on the interface.
#include <signal.h>

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
  auto second = Process::spawn(
      {binary_, "agent", "--interface", kVictim.dev, "--log-format", "json", "--metrics-listen",
       "127.0.0.1:0", "--control-socket", std::string(dir) + "/agent.sock"},
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

}  // namespace
}  // namespace sg::lab::test
