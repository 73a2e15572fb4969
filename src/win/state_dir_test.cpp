#include "win/state_dir.h"

#include <gtest/gtest.h>

#include "core/config.h"

namespace sg::win {
namespace {

TEST(WinStateDir, TheLinuxDefaultBecomesProgramDataAGivenDirectoryStays) {
  const std::string linux_default = AgentConfig{}.state_dir;
  EXPECT_EQ(*agentStateDir(linux_default, "C:\\ProgramData"), "C:\\ProgramData\\syn-guard\\agent");
  EXPECT_EQ(*agentStateDir(linux_default, "D:\\Data\\"), "D:\\Data\\syn-guard\\agent");
  EXPECT_EQ(*agentStateDir("D:\\sg", "C:\\ProgramData"), "D:\\sg");
  auto none = agentStateDir(linux_default, "");
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.error().message().find("--state-dir"), std::string::npos);
}

}  // namespace
}  // namespace sg::win
