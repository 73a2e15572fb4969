// ConsoleProcess::start against stand-ins for the console (shell scripts):
// one that exits before it is ready is reported at once, with its exit code
// and stderr, however long the ready timeout (label unit: no network).
#include "lab/console_process.h"

#include <sys/stat.h>

#include <chrono>
#include <fstream>

#include "scratch_dir.h"

namespace sg::lab {
namespace {

class ConsoleProcessStart : public ::testing::Test {
 protected:
  // An executable script standing in for syn-guard.
  std::string script(const std::string& body) {
    const std::string path = (dir_.path() / "syn-guard").string();
    std::ofstream(path) << "#!/bin/sh\n" << body;
    chmod(path.c_str(), 0755);
    return path;
  }
  ConsoleOptions options(const std::string& binary) {
    ConsoleOptions o;
    o.binary = binary;
    o.listen = "127.0.0.1:0";
    o.data = (dir_.path() / "data").string();
    return o;
  }

  test::ScratchDir dir_{"sg-lab-console-test"};
};

TEST_F(ConsoleProcessStart, AConsoleThatExitsIsReportedAtOnceWithItsCodeAndStderr) {
  const std::string bin =
      script("echo '{\"event\":\"notice\"}'\necho 'console: address in use' >&2\nexit 3\n");
  const auto t0 = std::chrono::steady_clock::now();
  auto c = ConsoleProcess::start(options(bin));  // the default ready timeout: 60 s
  const auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_FALSE(c.ok());
  const std::string& m = c.error().message();
  EXPECT_NE(m.find("it exited with 3"), std::string::npos) << m;
  EXPECT_NE(m.find("console: address in use"), std::string::npos) << m;
  EXPECT_NE(m.find("\"event\":\"notice\""), std::string::npos) << m;
  EXPECT_LT(took, std::chrono::seconds(10));
}

// Still running but never ready: the timeout, said as such.
TEST_F(ConsoleProcessStart, AConsoleThatNeverGetsReadyTimesOut) {
  const std::string bin = script("echo 'still starting'\nexec sleep 30\n");
  const auto t0 = std::chrono::steady_clock::now();
  auto c = ConsoleProcess::start(options(bin), std::chrono::milliseconds(300));
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message().find("no \"console_ready\" line within 300 ms"), std::string::npos)
      << c.error().message();
  EXPECT_NE(c.error().message().find("still starting"), std::string::npos) << c.error().message();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(10));
}

}  // namespace
}  // namespace sg::lab
