// AgentProcess::start (src/lab/agent_process.h) waits long for an agent's
// "ready" (60 s: a loaded machine's verifier), yet an agent that exits is
// reported at once, with its exit code and stderr.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>

#include "lab/agent_process.h"
#include "test_helpers.h"

namespace sg::lab {
namespace {

TEST(AgentStart, AnAgentThatExitsIsReportedAtOnceNotAtTheTimeout) {
  char dir[] = "/tmp/sg-agent-start-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string script = std::string(dir) + "/syn-guard";
  // Stands in for an agent that fails at start.
  std::ofstream(script) << "#!/bin/sh\necho 'bad flag' >&2\nexit 3\n";
  ASSERT_EQ(chmod(script.c_str(), 0755), 0);
  AgentOptions o;
  o.binary = script;
  o.interfaces = {"lo"};
  const auto start = std::chrono::steady_clock::now();
  auto agent = AgentProcess::start(o);
  const auto took = std::chrono::steady_clock::now() - start;
  std::filesystem::remove_all(dir);
  ASSERT_FALSE(agent.ok());
  EXPECT_NE(agent.error().message().find("exited with 3"), std::string::npos)
      << agent.error().message();
  EXPECT_NE(agent.error().message().find("bad flag"), std::string::npos) << agent.error().message();
  EXPECT_LT(took, std::chrono::seconds(10)) << "waited for the ready timeout";
}

}  // namespace
}  // namespace sg::lab
