// NftEnforcer's prefix blocks (the console's Block Globally of a prefix):
// hash sets of masked keys, one per prefix length in use, with timeouts;
// overlapping prefixes are held apart. In a fresh network namespace.
#include <gtest/gtest.h>

#include <algorithm>

#include "linux/netns_guard.h"
#include "linux/nft_enforcer.h"
#include "linux/nft_enforcer_rules.h"
#include "linux/nft_enforcer_test_util.h"
#include "test_helpers.h"

namespace sg {
namespace {

using std::chrono::seconds;

Prefix prefix(const char* text) {
  auto p = parsePrefix(text);
  if (!p) std::abort();
  return *p;
}

std::vector<std::string> names(const std::vector<NftBlock>& blocks) {
  std::vector<std::string> out;
  for (const auto& b : blocks) out.push_back(b.str());
  std::sort(out.begin(), out.end());
  return out;
}

TEST(NftEnforcerPrefix, SetNamesCarryTheLength) {
  EXPECT_EQ(nftV4SetName(24), "blocked_v4_24");
  EXPECT_EQ(nftSetPrefixLen("blocked_v4_24"), 24);
  EXPECT_EQ(nftSetPrefixLen("blocked_v4_33"), 0);
  EXPECT_EQ(nftSetPrefixLen("blocked_v4"), 32);
  NftBlock b{*parseAddress("198.51.100.0"), 24, {}, {}};
  EXPECT_EQ(b.str(), "198.51.100.0/24");
}

TEST(NftEnforcerPrefix, PrefixBlocksGoIntoSetsOfTheirLengthWithTimeouts) {
  SG_REQUIRE_ROOT();
  ASSERT_OK(runInFreshNetns([] {
    auto e = NftEnforcer::create();
    ASSERT_OK(e);
    ASSERT_OK((*e)->blockPrefix(prefix("198.51.100.0/24"), seconds(60)));
    ASSERT_OK((*e)->blockPrefix(prefix("2001:db8::/32"), seconds(30)));
    // Overlaps are legitimate (an interval set would refuse the second).
    ASSERT_OK((*e)->blockPrefix(prefix("10.0.0.0/8"), seconds(60)));
    ASSERT_OK((*e)->blockPrefix(prefix("10.1.0.0/16"), seconds(60)));
    ASSERT_OK((*e)->block(BlockSpec{*parseAddress("192.0.2.1"), 64, seconds(60)}));
    auto listed = (*e)->listBlocked();
    ASSERT_OK(listed);
    EXPECT_EQ(names(*listed), (std::vector<std::string>{"10.0.0.0/8", "10.1.0.0/16", "192.0.2.1",
                                                        "198.51.100.0/24", "2001:db8::/32"}));
    for (const auto& b : *listed) {
      if (b.str() == "2001:db8::/32") {
        EXPECT_EQ(b.timeout, seconds(30));
      }
    }
    auto text = nftRun("list table inet syn_guard");
    ASSERT_OK(text);
    for (const char* want : {"set blocked_v4_24", "ip saddr & 255.255.255.0 ", "@blocked_v4_24",
                             "set blocked_v6_32", "set blocked_v4_8", "set blocked_v4_16"}) {
      EXPECT_NE(text->find(want), std::string::npos) << want << " not in\n" << *text;
    }
    EXPECT_EQ(text->find("interval"), std::string::npos) << *text;

    ASSERT_OK((*e)->blockPrefix(prefix("198.51.100.0/24"), seconds(90)));  // renewal
    ASSERT_OK((*e)->unblockPrefix(prefix("10.1.0.0/16")));
    ASSERT_OK((*e)->unblockPrefix(prefix("10.1.0.0/16")));    // absent: fine
    ASSERT_OK((*e)->unblockPrefix(prefix("172.16.0.0/12")));  // no set of that length yet
    listed = (*e)->listBlocked();
    ASSERT_OK(listed);
    EXPECT_EQ(names(*listed), (std::vector<std::string>{"10.0.0.0/8", "192.0.2.1",
                                                        "198.51.100.0/24", "2001:db8::/32"}));
    for (const auto& b : *listed) {
      if (b.str() == "198.51.100.0/24") {
        EXPECT_EQ(b.timeout, seconds(90));
      }
    }
  }));
}

TEST(NftEnforcerPrefix, AddressLengthsAndZeroLengthsAreRefused) {
  SG_REQUIRE_ROOT();
  ASSERT_OK(runInFreshNetns([] {
    auto e = NftEnforcer::create();
    ASSERT_OK(e);
    for (const char* bad : {"192.0.2.1/32", "0.0.0.0/0", "2001:db8::1/128", "::/0"}) {
      SCOPED_TRACE(bad);
      EXPECT_ERROR((*e)->blockPrefix(prefix(bad), seconds(1)), Errc::kInvalidArgument);
    }
    EXPECT_ERROR((*e)->blockPrefix(prefix("198.51.100.0/24"), seconds(0)), Errc::kInvalidArgument);
  }));
}

}  // namespace
}  // namespace sg
