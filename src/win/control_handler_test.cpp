#include "win/control_handler.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "test_helpers.h"

namespace sg::win {
namespace {

class ListEnforcer final : public Enforcer {
 public:
  const char* name() const override { return "list"; }
  Result<void> block(const BlockSpec&) override { return Ok{}; }
  Result<void> unblock(const Address&, uint8_t) override { return Ok{}; }
  Result<void> blockPrefix(const Prefix& p, Nanos ttl) override {
    calls.push_back(p.str() + " " + std::to_string(ttl.count()));
    return Ok{};
  }
  std::vector<std::string> calls;
};

struct Fixture {
  ListEnforcer enforcer;
  AgentConfig config;
  AttemptPipeline pipeline{config, &enforcer};
  FakeClock clock;
  ControlHandler handler{&pipeline, config, &clock, clock.nowNs(), 7};
  nlohmann::json ask(const std::string& line) {
    return nlohmann::json::parse(handler.handle(line));
  }
};

TEST(ControlHandler, BlockDefaultsToTheConfiguredDuration) {
  Fixture fx;
  EXPECT_TRUE(fx.ask(R"({"cmd":"block","src":"192.0.2.7"})")["ok"].get<bool>());
  ASSERT_EQ(fx.enforcer.calls.size(), 1u);
  EXPECT_EQ(fx.enforcer.calls[0], "192.0.2.7/32 60000000000");
  auto rows = fx.ask(R"({"cmd":"blocks"})")["blocks"];
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0]["src"], "192.0.2.7");
  EXPECT_EQ(rows[0]["prefix"], false);
  EXPECT_EQ(rows[0]["origin"], "manual");
  fx.clock.advance(61'000'000'000);
  EXPECT_TRUE(fx.ask(R"({"cmd":"blocks"})")["blocks"].empty());
}

TEST(ControlHandler, PermanentBlocksAndUnblock) {
  Fixture fx;
  EXPECT_TRUE(
      fx.ask(R"({"cmd":"block","src":"2001:db8::/32","permanent":true})")["ok"].get<bool>());
  auto rows = fx.ask(R"({"cmd":"blocks"})")["blocks"];
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0]["permanent"], true);
  EXPECT_FALSE(rows[0].contains("remaining_ms"));
  auto gone = fx.ask(R"({"cmd":"unblock","src":"2001:db8::/32"})");
  EXPECT_EQ(gone["removed"], true);
  EXPECT_EQ(fx.ask(R"({"cmd":"unblock","src":"2001:db8::/32"})")["removed"], false);
}

TEST(ControlHandler, AnIpv6AddressBlocksItsCountingPrefix) {
  Fixture fx;
  EXPECT_TRUE(fx.ask(R"({"cmd":"block","src":"2001:db8:1:2::99"})")["ok"].get<bool>());
  ASSERT_EQ(fx.enforcer.calls.size(), 1u);
  EXPECT_EQ(fx.enforcer.calls[0], "2001:db8:1:2::/64 60000000000");
  EXPECT_EQ(fx.ask(R"({"cmd":"unblock","src":"2001:db8:1:2::1"})")["removed"], true);
}

TEST(ControlHandler, MalformedRequestsSayWhy) {
  Fixture fx;
  auto r = fx.ask("not json");
  EXPECT_FALSE(r["ok"].get<bool>());
  EXPECT_FALSE(r["error"].get<std::string>().empty());
  EXPECT_FALSE(fx.ask(R"({"cmd":"block","src":"192.0.2.300"})")["ok"].get<bool>());
  EXPECT_FALSE(fx.ask(R"({"cmd":"reload"})")["ok"].get<bool>());
}

TEST(ControlHandler, StatusUsesTheLinuxFieldNames) {
  Fixture fx;
  fx.clock.advance(5'000'000'000);
  auto s = fx.ask(R"({"cmd":"status"})");
  EXPECT_EQ(s["uptime_s"], 5);
  EXPECT_EQ(s["window_ms"], 5000);
  EXPECT_EQ(s["block_ms"], 60000);
  EXPECT_EQ(s["pid"], 7);
  EXPECT_EQ(s["counters"]["attempts_total"], 0);
}

}  // namespace
}  // namespace sg::win

namespace sg::win {
namespace {

TEST(ControlHandler, StatusShowsTheWfpNetEventCountsWhenSubscribed) {
  Fixture fx;
  EXPECT_FALSE(fx.ask(R"({"cmd":"status"})").contains("wfp_net_events"));
  NetEventCounts counts;
  counts.drops_ours = 5;
  counts.attempts_blocked = 3;
  counts.attempts_dropped_other = 2;
  fx.handler.setNetEvents(&counts);
  auto j = fx.ask(R"({"cmd":"status"})")["wfp_net_events"];
  EXPECT_EQ(j["drops_ours"], 5);
  EXPECT_EQ(j["attempts_blocked"], 3);
  EXPECT_EQ(j["drops_other"], 0);
  EXPECT_EQ(j["attempts_dropped_other"], 2);
}

}  // namespace
}  // namespace sg::win
