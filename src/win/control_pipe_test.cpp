// The named pipe and the control protocol together, under Wine (which has
// named pipes; whether their DACL keeps a non-administrator out is checked on
// a real Windows host only).
#include "win/control_pipe.h"

#include <gtest/gtest.h>
#include <sddl.h>

#include <nlohmann/json.hpp>

#include "test_helpers.h"
#include "win/control_handler.h"

namespace sg::win {
namespace {

class NullEnforcer final : public Enforcer {
 public:
  const char* name() const override { return "null"; }
  Result<void> block(const BlockSpec&) override { return Ok{}; }
  Result<void> unblock(const Address&, uint8_t) override { return Ok{}; }
  Result<void> blockPrefix(const Prefix&, Nanos) override { return Ok{}; }
};

std::wstring uniqueName() {
  return L"\\\\.\\pipe\\syn-guard-test-" + std::to_wstring(GetCurrentProcessId());
}

TEST(ControlPipe, StatusBlockAndBlocksOverThePipe) {
  NullEnforcer enforcer;
  AgentConfig config;
  AttemptPipeline pipeline(config, &enforcer);
  FakeClock clock;
  ControlHandler handler(&pipeline, config, &clock, clock.nowNs(), 42);
  ControlPipeServer server(uniqueName(),
                           [&](std::string_view line) { return handler.handle(line); });
  ASSERT_OK(server.start());

  auto status = pipeRequest(uniqueName(), R"({"cmd":"status"})");
  ASSERT_OK(status);
  auto j = nlohmann::json::parse(*status);
  EXPECT_TRUE(j["ok"].get<bool>());
  EXPECT_EQ(j["pid"], 42);
  EXPECT_EQ(j["enforcer"], "wfp");
  EXPECT_EQ(j["threshold"], 200);
  EXPECT_TRUE(j["counters"].contains("attempts_total"));

  auto blocked =
      pipeRequest(uniqueName(), R"({"cmd":"block","src":"198.51.100.0/24","for_ms":600000})");
  ASSERT_OK(blocked);
  EXPECT_EQ(*blocked, R"({"ok":true})");
  auto rows = pipeRequest(uniqueName(), R"({"cmd":"blocks"})");
  ASSERT_OK(rows);
  auto b = nlohmann::json::parse(*rows)["blocks"];
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0]["src"], "198.51.100.0/24");
  EXPECT_EQ(b[0]["prefix"], true);
  EXPECT_EQ(b[0]["remaining_ms"], 600000);

  auto bad = pipeRequest(uniqueName(), R"({"cmd":"explode"})");
  ASSERT_OK(bad);
  EXPECT_FALSE(nlohmann::json::parse(*bad)["ok"].get<bool>());
  server.stop();
  EXPECT_ERROR(pipeRequest(uniqueName(), R"({"cmd":"status"})"), Errc::kUnavailable);
}

TEST(ControlPipe, ASecondServerOnTheSameNameIsRefused) {
  ControlPipeServer a(uniqueName() + L"-dup", [](std::string_view) { return std::string("{}"); });
  ControlPipeServer b(uniqueName() + L"-dup", [](std::string_view) { return std::string("{}"); });
  ASSERT_OK(a.start());
  EXPECT_FALSE(b.start().ok());
}

TEST(ControlPipe, TheDaclAdmitsOnlyAdministratorsAndSystem) {
  PSECURITY_DESCRIPTOR sd = nullptr;
  ASSERT_TRUE(ConvertStringSecurityDescriptorToSecurityDescriptorW(kPipeSddl, SDDL_REVISION_1, &sd,
                                                                   nullptr));
  BOOL present = FALSE, defaulted = FALSE;
  PACL dacl = nullptr;
  ASSERT_TRUE(GetSecurityDescriptorDacl(sd, &present, &dacl, &defaulted));
  ASSERT_TRUE(present);
  ASSERT_NE(dacl, nullptr);
  EXPECT_EQ(dacl->AceCount, 2);
  LocalFree(sd);
}

}  // namespace
}  // namespace sg::win
