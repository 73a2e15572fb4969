// CookieResponder (port floods' SYN cookies) and the SYNPROXY table they
// rely on: a table that `nft flush ruleset` deleted is found by the check
// while cookies are on and made again; one that cannot be made has the
// cookies turned off (the port left to the kernel) until it can. With fakes,
// and once with the real table in a network namespace of the test's own.
#include "agent/cookie_responder.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <set>
#include <string>

#include "agent/block_book_fixture.h"
#include "linux/netns_guard.h"
#include "linux/nft_enforcer_test_util.h"
#include "linux/syncookie_response.h"
#include "test_helpers.h"

namespace sg::agent {
namespace {

// What is on, like the real port; `gone`: the SYNPROXY table was deleted
// (engage fails until a repair); `unrepairable`: repair fails while it is gone.
class FakeCookies final : public CookiePort {
 public:
  std::set<std::string> on;
  int repairs = 0;
  bool gone = false;
  bool unrepairable = false;
  Result<void> engage(uint16_t port, const Address& dst) override {
    if (gone) return Error(Errc::kIo, "nftables: No such file or directory");
    on.insert(dst.str() + ":" + std::to_string(port));
    return Ok{};
  }
  Result<void> release(uint16_t port, const Address& dst) override {
    on.erase(dst.str() + ":" + std::to_string(port));
    return Ok{};
  }
  std::string mode() const override { return "xdp"; }
  Result<bool> repair() override {
    repairs++;
    if (!gone) return false;
    if (unrepairable) return Error(Errc::kIo, "nftables: Operation not supported");
    gone = false;
    return true;
  }
};

PortFlood floodAt(uint8_t last, uint16_t port) {
  PortFlood f;
  f.dst = v4(192, 0, 2, last);
  f.dst_port = port;
  return f;
}

class CookieResponderTest : public ::testing::Test {
 protected:
  Fixture f;
  FakeCookies cookies;
  CookieResponder responder{cookies, f.log};
  const PortFlood flood = floodAt(1, 8080);
  uint64_t now = 1'000'000'000;

  void engage(const PortFlood& fl) {
    std::vector<Prefix> prefixes;
    auto r = responder.engage(fl, ResponsePlan{}, &prefixes);
    ASSERT_OK(r);
    EXPECT_EQ(*r, "syncookies");
  }
  // One harvest `ns` later: hold() for `fl`.
  Result<void> holdAfter(uint64_t ns, const PortFlood& fl) {
    now += ns;
    return responder.hold(fl, now);
  }
};

// Issue: with port cookies on and no challenge armed, nothing noticed a
// flushed table: XDP kept answering SYNs with cookies whose ACKs found no
// SYNPROXY, and every client of the port failed.
TEST_F(CookieResponderTest, AFlushedTableIsFoundWhileCookiesAreOnAndMadeAgain) {
  engage(flood);
  EXPECT_OK(holdAfter(0, flood));
  cookies.gone = true;  // nft flush ruleset
  EXPECT_OK(holdAfter(CookieResponder::kCheckNs, flood));
  EXPECT_FALSE(cookies.gone) << "the table was not made again";
  EXPECT_EQ(responder.counters().repairs, 1u);
  EXPECT_EQ(cookies.on, std::set<std::string>{"192.0.2.1:8080"});
  EXPECT_NE(f.logText().find("SYNPROXY table was gone"), std::string::npos) << f.logText();
  EXPECT_NE(responder.metricsText().find("syn_guard_agent_cookie_repairs_total 1"),
            std::string::npos);
}

// The check runs every kCheckNs, not at every harvest (one nft call each).
TEST_F(CookieResponderTest, TheTableIsCheckedEveryCheckIntervalOnlyWhileCookiesAreOn) {
  EXPECT_OK(holdAfter(CookieResponder::kCheckNs, flood));
  EXPECT_EQ(cookies.repairs, 0) << "no cookies on: nothing to check";
  engage(flood);
  for (int i = 0; i < 40; i++) EXPECT_OK(holdAfter(100'000'000, flood));  // 4 s of harvests
  EXPECT_GE(cookies.repairs, 2);
  EXPECT_LE(cookies.repairs, 3);
  ASSERT_OK(responder.release(flood));
  const int before = cookies.repairs;
  for (int i = 0; i < 40; i++) EXPECT_OK(holdAfter(100'000'000, flood));
  EXPECT_EQ(cookies.repairs, before);
}

// A table that cannot be made again: XDP must stop answering the port's SYNs
// (their ACKs would find no SYNPROXY). Cookies off, said once per flood as a
// hold error (port_flood_response_error), logged once, counted; the retry
// backs off, and cookies come back on when the table can be made.
TEST_F(CookieResponderTest, AnUnrepairableTableTurnsTheCookiesOffUntilItCanBeMade) {
  const PortFlood other = floodAt(2, 443);
  engage(flood);
  engage(other);
  cookies.gone = true;
  cookies.unrepairable = true;
  auto held = holdAfter(CookieResponder::kCheckNs, flood);
  ASSERT_FALSE(held.ok()) << "the flood's event must say its cookies went off";
  EXPECT_NE(held.error().message().find("syncookies off for 192.0.2.1:8080"), std::string::npos)
      << held.error().message();
  EXPECT_FALSE(holdAfter(0, other).ok()) << "each flood is told";
  EXPECT_TRUE(holdAfter(0, flood).ok()) << "once";
  EXPECT_TRUE(cookies.on.empty()) << "XDP still answers with cookies nothing completes";
  EXPECT_TRUE(responder.tableLost());
  EXPECT_EQ(responder.counters().lifted, 2u);
  EXPECT_NE(responder.metricsText().find("syn_guard_agent_cookies_lifted_total 2"),
            std::string::npos);
  // Two minutes of harvests: retries 4, 8, 16, 32, 64 s apart.
  const int before = cookies.repairs;
  for (int i = 0; i < 1200; i++) (void)holdAfter(100'000'000, flood);
  EXPECT_LE(cookies.repairs - before, 6);
  EXPECT_GE(cookies.repairs - before, 4);
  std::string text = f.logText();
  EXPECT_NE(text.find("no SYNPROXY table behind them"), std::string::npos) << text;
  EXPECT_EQ(text.find("no SYNPROXY table behind them"), text.rfind("no SYNPROXY table behind them"))
      << "logged once";
  // nftables works again: the next retry makes the table and turns cookies on.
  cookies.unrepairable = false;
  for (int i = 0; i < 700 && responder.tableLost(); i++) (void)holdAfter(100'000'000, flood);
  EXPECT_FALSE(responder.tableLost());
  EXPECT_EQ(cookies.on, (std::set<std::string>{"192.0.2.1:8080", "192.0.2.2:443"}));
  text = f.logText();
  EXPECT_NE(text.find("\"event\":\"recovered\""), std::string::npos) << text;
  // And a flood that ends while they are off has nothing to undo.
  ASSERT_OK(responder.release(other));
  ASSERT_OK(responder.release(flood));
  EXPECT_TRUE(cookies.on.empty());
}

// A flood detected while the table cannot be made gets no cookies (tried
// once at once), and gets them when a later retry makes the table again.
TEST_F(CookieResponderTest, AFloodDetectedWhileTheTableIsLostGetsCookiesOnceItIsBack) {
  engage(flood);
  cookies.gone = true;
  cookies.unrepairable = true;
  EXPECT_FALSE(holdAfter(CookieResponder::kCheckNs, flood).ok());
  ASSERT_TRUE(responder.tableLost());
  PortFlood late = floodAt(3, 25);
  late.detected_ns = now;
  std::vector<Prefix> prefixes;
  const int before = cookies.repairs;
  EXPECT_FALSE(responder.engage(late, ResponsePlan{}, &prefixes).ok());
  EXPECT_EQ(cookies.repairs, before + 1) << "a new flood is worth one try";
  EXPECT_TRUE(cookies.on.empty());
  cookies.unrepairable = false;
  for (int i = 0; i < 700 && responder.tableLost(); i++) (void)holdAfter(100'000'000, flood);
  EXPECT_EQ(cookies.on, (std::set<std::string>{"192.0.2.1:8080", "192.0.2.3:25"}));
}

// A flood detected after the flush: turning cookies on finds the table gone,
// makes it again and turns them on.
TEST_F(CookieResponderTest, EngagingFindsAGoneTableAndMakesItAgain) {
  cookies.gone = true;
  engage(flood);
  EXPECT_EQ(responder.counters().repairs, 1u);
  EXPECT_EQ(cookies.on, std::set<std::string>{"192.0.2.1:8080"});
}

// The real table in a namespace of the test's own: `nft flush ruleset`
// deletes it under engaged cookies; the next check makes it again with the
// flooded port (nftables mode: SYNPROXY alone, no XDP program needed).
TEST(CookieResponderNft, ARealFlushedTableIsMadeAgainWithTheFloodedPort) {
  SG_REQUIRE_ROOT();
  ASSERT_OK(runInFreshNetns([] {
    Fixture f;
    SynCookieConfig c;
    c.mode = SynCookieMode::kNftables;
    auto made = CookieResponse::create(c, nullptr);
    ASSERT_OK(made);
    CookieResponsePort port(std::shared_ptr<CookieResponse>(std::move(*made)));
    CookieResponder responder(port, f.log);
    const PortFlood flood = floodAt(1, 8080);
    std::vector<Prefix> prefixes;
    ASSERT_OK(responder.engage(flood, ResponsePlan{}, &prefixes));
    auto list = [&] { return nftListTable(c.nft_table); };
    ASSERT_NE(list().find("192.0.2.1 . 8080"), std::string::npos) << list();
    ASSERT_OK(responder.hold(flood, 1));
    ASSERT_EQ(std::system("nft flush ruleset"), 0);
    ASSERT_EQ(list(), "");
    EXPECT_OK(responder.hold(flood, 1 + CookieResponder::kCheckNs));
    const std::string text = list();
    EXPECT_NE(text.find("synproxy mss"), std::string::npos) << "the table is still gone";
    EXPECT_NE(text.find("192.0.2.1 . 8080"), std::string::npos) << text;
    EXPECT_EQ(responder.counters().repairs, 1u);
    ASSERT_OK(responder.release(flood));
  }));
}

}  // namespace
}  // namespace sg::agent
