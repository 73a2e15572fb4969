// SynproxyRules in a network namespace of the test's own (one thread
// unshares it): the table and its rules, set elements on and off, the table
// gone with the object.
#include "linux/synproxy_rules.h"

#include <gtest/gtest.h>
#include <sched.h>

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "test_helpers.h"

namespace sg {
namespace {

// `nft list table ...` as this thread's namespace sees it ("" when absent).
std::string listTable(const std::string& table) {
  std::string out;
  std::FILE* p = popen(("nft list table inet " + table + " 2>/dev/null").c_str(), "r");
  if (p == nullptr) return out;
  char buf[4096];
  size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  pclose(p);
  return out;
}

// Runs `body` on a thread of its own that unshares a network namespace (gone
// with the thread), over a table made there from `options`.
void withRules(
    const SynproxyOptions& options,
    const std::function<void(std::unique_ptr<SynproxyRules>&, const SynproxyOptions&)>& body) {
  std::thread t([&] {
    ASSERT_EQ(unshare(CLONE_NEWNET), 0);
    auto rules = SynproxyRules::create(options);
    ASSERT_OK(rules);
    body(*rules, options);
  });
  t.join();
}

TEST(SynproxyRules, PortsAndAddressesGoInAndOutOfItsSets) {
  SG_REQUIRE_ROOT();
  SynproxyOptions mss;
  mss.mss4 = 1400;
  withRules(mss, [](std::unique_ptr<SynproxyRules>& rules, const SynproxyOptions& o) {
    std::string text = listTable(o.table);
    EXPECT_NE(text.find("synproxy mss 1400 wscale 7 timestamp sack-perm"), std::string::npos)
        << text;
    EXPECT_NE(text.find("notrack"), std::string::npos) << text;

    ASSERT_OK(rules->add(8080, std::nullopt));
    ASSERT_OK(rules->add(8080, std::nullopt));  // idempotent
    ASSERT_OK(rules->add(443, *parseAddress("192.0.2.1")));
    ASSERT_OK(rules->add(443, *parseAddress("2001:db8::1")));
    text = listTable(o.table);
    EXPECT_NE(text.find("elements = { 8080 }"), std::string::npos) << text;
    EXPECT_NE(text.find("192.0.2.1 . 443"), std::string::npos) << text;
    EXPECT_NE(text.find("2001:db8::1 . 443"), std::string::npos) << text;

    ASSERT_OK(rules->remove(8080, std::nullopt));
    ASSERT_OK(rules->remove(8080, std::nullopt));  // not there: no error
    ASSERT_OK(rules->remove(443, *parseAddress("192.0.2.1")));
    text = listTable(o.table);
    EXPECT_EQ(text.find("8080"), std::string::npos) << text;
    EXPECT_EQ(text.find("192.0.2.1"), std::string::npos) << text;
    EXPECT_NE(text.find("2001:db8::1 . 443"), std::string::npos) << text;

    // A second agent's table of the same name replaces a stale one.
    auto again = SynproxyRules::create(o);
    ASSERT_OK(again);
    EXPECT_EQ(listTable(o.table).find("2001:db8::1"), std::string::npos);
    again->reset();
    rules.reset();
    EXPECT_EQ(listTable(o.table), "");
  });
}

// Challenged sources (bpf/sg_challenge.h): an IPv4 address, an IPv6 /64.
TEST(SynproxyRules, ChallengedSourcesGoInAndOutOfTheSourceSets) {
  SG_REQUIRE_ROOT();
  withRules({}, [](std::unique_ptr<SynproxyRules>& rules, const SynproxyOptions& o) {
    std::string text = listTable(o.table);
    EXPECT_NE(text.find("ip saddr @src4 notrack"), std::string::npos) << text;
    EXPECT_NE(text.find("ip6 saddr @src6 jump guard"), std::string::npos) << text;
    const Address v4 = *parseAddress("192.0.2.7");
    const Address v6 = *parseAddress("2001:db8:1:2::");
    ASSERT_OK(rules->addSources({v4}, 64));
    ASSERT_OK(rules->addSources({v4, v6}, 64));  // idempotent, one transaction
    text = listTable(o.table);
    EXPECT_NE(text.find("192.0.2.7"), std::string::npos) << text;
    EXPECT_NE(text.find("2001:db8:1:2::/64"), std::string::npos) << text;
    ASSERT_OK(rules->removeSources({v4}, 64));
    ASSERT_OK(rules->removeSources({v4, v6}, 64));  // 192.0.2.7 not there: no error
    text = listTable(o.table);
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
    ASSERT_EQ(listTable(o.table), "");
    // Removing from a table that is gone is no error: nothing is left to remove.
    ASSERT_OK(rules->removeSources({*parseAddress("192.0.2.9")}, 64));
    auto made = rules->repair();
    ASSERT_OK(made);
    EXPECT_TRUE(*made);
    const std::string text = listTable(o.table);
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
