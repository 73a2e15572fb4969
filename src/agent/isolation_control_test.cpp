#include "agent/isolation_control.h"

#include <gtest/gtest.h>

#include "core/fake_isolation.h"
#include "test_helpers.h"

namespace sg::agent {
namespace {

std::vector<Prefix> configAllow() { return {*parsePrefix("203.0.113.0/24")}; }

TEST(IsolationControl, OtherCommandsAreNotOurs) {
  FakeIsolation fake;
  for (const char* line : {R"({"cmd":"status"})", R"({"cmd":"block","src":"192.0.2.1"})",
                           "not json", "[1]", R"({"cmd":5})"}) {
    EXPECT_FALSE(handleIsolationCommand(&fake, line, configAllow()).has_value()) << line;
  }
}

TEST(IsolationControl, IsolateAddsTheConfiguredAllowlistAndReleaseLifts) {
  FakeIsolation fake;
  auto r = handleIsolationCommand(
      &fake, R"({"cmd":"isolate","console":["192.0.2.10"],"allow":["198.51.100.0/24"]})",
      configAllow());
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ((*r)["ok"], true) << r->dump();
  ASSERT_TRUE(fake.isolated());
  ASSERT_EQ(fake.spec().allow.size(), 2u);
  EXPECT_EQ(fake.spec().allow[1].str(), "203.0.113.0/24");
  EXPECT_EQ((*r)["isolation"]["console"][0], "192.0.2.10");
  EXPECT_EQ(isolationStatusJson(&fake)["isolated"], true);

  auto rel = handleIsolationCommand(&fake, R"({"cmd":"release"})", configAllow());
  ASSERT_TRUE(rel.has_value());
  EXPECT_EQ((*rel)["ok"], true);
  EXPECT_FALSE(fake.isolated());
  EXPECT_EQ((*rel)["isolation"], (nlohmann::json{{"isolated", false}}));
}

TEST(IsolationControl, RefusalsSayWhy) {
  FakeIsolation fake;
  struct Case {
    const char* line;
    const char* says;
  } cases[] = {
      {R"({"cmd":"isolate"})", "without a way back to the console"},
      {R"({"cmd":"isolate","console":"192.0.2.1"})", "\"console\" must be an array"},
      {R"({"cmd":"isolate","console":["192.0.2.300"]})", "console address"},
      {R"({"cmd":"isolate","console":["192.0.2.1"],"allow":["0.0.0.0/0"]})",
       "admits every address"},
  };
  for (const auto& c : cases) {
    auto r = handleIsolationCommand(&fake, c.line, configAllow());
    ASSERT_TRUE(r.has_value()) << c.line;
    EXPECT_EQ((*r)["ok"], false) << c.line;
    EXPECT_NE((*r)["error"].get<std::string>().find(c.says), std::string::npos) << r->dump();
  }
  EXPECT_EQ(fake.isolate_calls, 0);
  auto none = handleIsolationCommand(nullptr, R"({"cmd":"release"})", configAllow());
  ASSERT_TRUE(none.has_value());
  EXPECT_EQ((*none)["ok"], false);
  fake.fail_next = makeError(Errc::kIo, "kernel said no");
  auto failed =
      handleIsolationCommand(&fake, R"({"cmd":"isolate","console":["192.0.2.1"]})", configAllow());
  ASSERT_TRUE(failed.has_value());
  EXPECT_EQ((*failed)["error"], "kernel said no");
}

}  // namespace
}  // namespace sg::agent
