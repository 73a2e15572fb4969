#include "win/service_args.h"

#include <gtest/gtest.h>

#include "test_helpers.h"

namespace sg::win {
namespace {

TEST(ServiceArgs, Actions) {
  auto a = parseServiceAction("install");
  ASSERT_OK(a);
  EXPECT_EQ(*a, ServiceAction::kInstall);
  EXPECT_EQ(*parseServiceAction("stop"), ServiceAction::kStop);
  EXPECT_ERROR(parseServiceAction("restart"), Errc::kInvalidArgument);
}

TEST(ServiceArgs, QuotingFollowsCommandLineToArgv) {
  EXPECT_EQ(quoteWindowsArg("200"), "200");
  EXPECT_EQ(quoteWindowsArg(""), "\"\"");
  EXPECT_EQ(quoteWindowsArg("C:\\Program Files\\x"), "\"C:\\Program Files\\x\"");
  EXPECT_EQ(quoteWindowsArg("a\"b"), "\"a\\\"b\"");
  EXPECT_EQ(quoteWindowsArg("a\\\"b"), "\"a\\\\\\\"b\"");
  EXPECT_EQ(quoteWindowsArg("dir with space\\"), "\"dir with space\\\\\"");
  EXPECT_EQ(quoteWindowsArg("no\\space\\"), "no\\space\\");  // unquoted: backslashes literal
}

TEST(ServiceArgs, TheCommandLineRunsTheAgentWithTheGivenFlags) {
  auto line =
      serviceCommandLine("C:\\Program Files\\syn-guard\\syn-guard.exe",
                         {"--enable-syn-guard", "--flood-threshold", "200", "--flood-window", "5s",
                          "--config", "C:\\ProgramData\\sg conf.toml"});
  ASSERT_OK(line);
  EXPECT_EQ(*line,
            "\"C:\\Program Files\\syn-guard\\syn-guard.exe\" service-run --enable-syn-guard "
            "--flood-threshold 200 --flood-window 5s --config \"C:\\ProgramData\\sg conf.toml\"");
  EXPECT_OK(serviceCommandLine("\\\\srv\\share\\syn-guard.exe", {}));
}

TEST(ServiceArgs, RelativePathsAndOtherSubcommandsAreRefused) {
  EXPECT_ERROR(serviceCommandLine("syn-guard.exe", {}), Errc::kInvalidArgument);
  EXPECT_ERROR(serviceCommandLine("/usr/bin/syn-guard", {}), Errc::kInvalidArgument);
  EXPECT_ERROR(serviceCommandLine("C:\\sg\\syn-guard.exe", {"replay", "x.pcap"}),
               Errc::kInvalidArgument);
  EXPECT_ERROR(serviceCommandLine("C:\\a\"b\\syn-guard.exe", {}), Errc::kInvalidArgument);
}

TEST(ServiceArgs, RecoveryRestartsWithGrowingDelays) {
  const RecoveryPlan plan;
  ASSERT_EQ(plan.restart_delays_ms.size(), 3u);
  EXPECT_LT(plan.restart_delays_ms[0], plan.restart_delays_ms[2]);
  EXPECT_EQ(plan.reset_period_s, 86400u);
}

}  // namespace
}  // namespace sg::win
