// SynproxyRules in a network namespace of the test's own
// (runInFreshNetns): the table and its rules, set elements on and off, the table
// gone with the object.
#include "linux/synproxy_rules.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <functional>
#include <memory>
#include <string>

#include "linux/netns_guard.h"
#include "linux/nft_enforcer_test_util.h"
#include "test_helpers.h"

namespace sg {
namespace {

// Runs `body` in a network namespace of its own (gone with it), over a table
// made there from `options`.
void withRules(
    const SynproxyOptions& options,
    const std::function<void(std::unique_ptr<SynproxyRules>&, const SynproxyOptions&)>& body) {
  ASSERT_OK(runInFreshNetns([&] {
    auto rules = SynproxyRules::create(options);
    ASSERT_OK(rules);
    body(*rules, options);
  }));
}

TEST(SynproxyRules, PortsAndAddressesGoInAndOutOfItsSets) {
  SG_REQUIRE_ROOT();
  SynproxyOptions mss;
  mss.mss4 = 1400;
  withRules(mss, [](std::unique_ptr<SynproxyRules>& rules, const SynproxyOptions& o) {
    std::string text = nftListTable(o.table);
    EXPECT_NE(text.find("synproxy mss 1400 wscale 7 timestamp sack-perm"), std::string::npos)
        << text;
    EXPECT_NE(text.find("notrack"), std::string::npos) << text;

    ASSERT_OK(rules->add(8080, std::nullopt));
    ASSERT_OK(rules->add(8080, std::nullopt));  // idempotent
    ASSERT_OK(rules->add(443, *parseAddress("192.0.2.1")));
    ASSERT_OK(rules->add(443, *parseAddress("2001:db8::1")));
    text = nftListTable(o.table);
    EXPECT_NE(text.find("elements = { 8080 }"), std::string::npos) << text;
    EXPECT_NE(text.find("192.0.2.1 . 443"), std::string::npos) << text;
    EXPECT_NE(text.find("2001:db8::1 . 443"), std::string::npos) << text;

    ASSERT_OK(rules->remove(8080, std::nullopt));
    ASSERT_OK(rules->remove(8080, std::nullopt));  // not there: no error
    ASSERT_OK(rules->remove(443, *parseAddress("192.0.2.1")));
    text = nftListTable(o.table);
    EXPECT_EQ(text.find("8080"), std::string::npos) << text;
    EXPECT_EQ(text.find("192.0.2.1"), std::string::npos) << text;
    EXPECT_NE(text.find("2001:db8::1 . 443"), std::string::npos) << text;

    // A second agent's table of the same name replaces a stale one.
    auto again = SynproxyRules::create(o);
    ASSERT_OK(again);
    EXPECT_EQ(nftListTable(o.table).find("2001:db8::1"), std::string::npos);
    again->reset();
    rules.reset();
    EXPECT_EQ(nftListTable(o.table), "");
  });
}

// Challenged sources (bpf/sg_challenge.h): an IPv4 address, an IPv6 /64.
TEST(SynproxyRules, ChallengedSourcesGoInAndOutOfTheSourceSets) {
  SG_REQUIRE_ROOT();
  withRules({}, [](std::unique_ptr<SynproxyRules>& rules, const SynproxyOptions& o) {
    std::string text = nftListTable(o.table);
    EXPECT_NE(text.find("ip saddr @src4 notrack"), std::string::npos) << text;
    EXPECT_NE(text.find("ip6 saddr @src6 jump guard"), std::string::npos) << text;
    const Address v4 = *parseAddress("192.0.2.7");
    const Address v6 = *parseAddress("2001:db8:1:2::");
    ASSERT_OK(rules->addSources({v4}, 64));
    ASSERT_OK(rules->addSources({v4, v6}, 64));  // idempotent, one transaction
    text = nftListTable(o.table);
    EXPECT_NE(text.find("192.0.2.7"), std::string::npos) << text;
    EXPECT_NE(text.find("2001:db8:1:2::/64"), std::string::npos) << text;
    ASSERT_OK(rules->removeSources({v4}, 64));
    ASSERT_OK(rules->removeSources({v4, v6}, 64));  // 192.0.2.7 not there: no error
    text = nftListTable(o.table);
    EXPECT_EQ(text.find("192.0.2.7"), std::string::npos) << text;
    EXPECT_EQ(text.find("2001:db8:1:2::"), std::string::npos) << text;
  });
}

// `systemctl reload nftables` with Debian's default ruleset ("flush ruleset")
// deletes the table under a running agent: repair() makes it again with the
// ports and sources it held (review s16 H1), and says so only when it had to.
TEST(SynproxyRules, RepairMakesAFlushedTableAgainWithItsElements) {
  SG_REQUIRE_ROOT();
  withRules({}, [](std::unique_ptr<SynproxyRules>& rules, const SynproxyOptions& o) {
    ASSERT_OK(rules->add(8080, std::nullopt));
    ASSERT_OK(rules->addSources({*parseAddress("192.0.2.7"), *parseAddress("192.0.2.8")}, 64));
    ASSERT_OK(rules->removeSources({*parseAddress("192.0.2.8")}, 64));
    auto intact = rules->repair();
    ASSERT_OK(intact);
    EXPECT_FALSE(*intact) << "the table was there";
    ASSERT_EQ(std::system("nft flush ruleset"), 0);
    ASSERT_EQ(nftListTable(o.table), "");
    // Removing from a table that is gone is no error: nothing is left to remove.
    ASSERT_OK(rules->removeSources({*parseAddress("192.0.2.9")}, 64));
    auto made = rules->repair();
    ASSERT_OK(made);
    EXPECT_TRUE(*made);
    const std::string text = nftListTable(o.table);
    EXPECT_NE(text.find("synproxy mss"), std::string::npos) << text;
    EXPECT_NE(text.find("elements = { 8080 }"), std::string::npos) << text;
    EXPECT_NE(text.find("192.0.2.7"), std::string::npos) << text;
    EXPECT_EQ(text.find("192.0.2.8"), std::string::npos) << "removed before the flush: " << text;
  });
}

TEST(SynproxyRules, RefusesABadTableNameOrWindowScale) {
  SynproxyOptions o;
  o.table = "no spaces";
  EXPECT_FALSE(SynproxyRules::create(o).ok());
  o = SynproxyOptions{};
  o.wscale = 15;
  EXPECT_FALSE(SynproxyRules::create(o).ok());
}

}  // namespace
}  // namespace sg
