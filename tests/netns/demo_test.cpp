// `syn-guard demo` reporting to a real console: a console in this namespace on
// 127.0.0.1 (a fresh data directory), the demo pointed at it with the flags
// that replace the local console's defaults. Its victim agent enrolls through
// the relay out of the sealed lab, and afterwards the console's API lists the
// demo's flood from the attacker, seen by endpoint demo-victim-<pid>.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <string>

#include "lab/agent_process.h"
#include "lab/console_process.h"
#include "lab/lab.h"
#include "lab/subprocess.h"
#include "test_helpers.h"

namespace sg::lab {
namespace {

using Json = nlohmann::json;

// A loopback port free right now (the console binds it next).
uint16_t freePort() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

class DemoConsoleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SG_REQUIRE_ROOT();
    binary_ = findSynGuardBinary();
    ConsoleOptions o;
    o.binary = binary_;
    o.listen = "127.0.0.1:" + std::to_string(freePort());
    auto c = ConsoleProcess::start(o);
    ASSERT_OK(c);
    console_ = std::move(*c);
  }
  Result<CommandOutput> demo(const std::string& url) {
    return runCommand({binary_, "demo", "--duration", "10s", "--console", url, "--ca-file",
                       console_->caFile(), "--token-file", console_->adminTokenFile()});
  }
  std::string binary_;
  std::unique_ptr<ConsoleProcess> console_;
};

TEST_F(DemoConsoleTest, TheConsoleListsTheDemosFlood) {
  auto out = demo(console_->url());
  ASSERT_OK(out);
  ASSERT_EQ(out->exit_code, 0) << out->err << out->out;
  EXPECT_NE(out->out.find("console " + console_->url() + ", the agent enrolled as demo-victim-"),
            std::string::npos)
      << out->out;
  EXPECT_NE(out->out.find("console      flood #"), std::string::npos) << out->out;
  EXPECT_NE(out->out.find("ctl block 10.200.1.2 --ttl 10m"), std::string::npos) << out->out;

  auto floods = console_->api("GET", "/v1/floods?all=true");
  ASSERT_OK(floods);
  ASSERT_EQ(floods->status, 200) << floods->text;
  const Json* found = nullptr;
  for (const auto& f : floods->body["items"]) {
    if (f.value("source", "") == kAttacker.v4) found = &f;
  }
  ASSERT_NE(found, nullptr) << floods->text;
  ASSERT_EQ((*found)["endpoints"].size(), 1u) << floods->text;
  EXPECT_EQ((*found)["endpoints"][0].get<std::string>().rfind("demo-victim-", 0), 0u)
      << floods->text;
}

TEST_F(DemoConsoleTest, ANamedConsoleThatDoesNotAnswerIsAnError) {
  auto out = demo("https://127.0.0.1:" + std::to_string(freePort()));
  ASSERT_OK(out);
  EXPECT_EQ(out->exit_code, 1);
  EXPECT_NE(out->err.find("does not answer"), std::string::npos) << out->err;
}

}  // namespace
}  // namespace sg::lab
