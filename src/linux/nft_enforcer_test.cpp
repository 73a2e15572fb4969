#include "linux/nft_enforcer.h"

#include <gtest/gtest.h>
#include <nftables/libnftables.h>

#include <algorithm>
#include <thread>

#include "linux/netns_guard.h"
#include "linux/nft_enforcer_netlink.h"
#include "linux/nft_enforcer_test_util.h"
#include "test_helpers.h"

namespace sg {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

Address addr(const char* text) {
  auto a = parseAddress(text);
  if (!a) std::abort();
  return *a;
}

BlockSpec spec(const char* key, Nanos ttl, uint8_t v6_prefix = 64) {
  return BlockSpec{addr(key), v6_prefix, ttl};
}

std::vector<std::string> names(const std::vector<NftBlock>& blocks) {
  std::vector<std::string> out;
  for (const auto& b : blocks) out.push_back(b.str());
  std::sort(out.begin(), out.end());
  return out;
}

const NftBlock* find(const std::vector<NftBlock>& blocks, const std::string& name) {
  for (const auto& b : blocks) {
    if (b.str() == name) return &b;
  }
  return nullptr;
}

// ---- pure ------------------------------------------------------------------

TEST(NftTableName, AcceptsIdentifiersOnly) {
  EXPECT_OK(checkNftTableName("syn_guard"));
  EXPECT_OK(checkNftTableName("a1"));
  EXPECT_ERROR(checkNftTableName(""), Errc::kInvalidArgument);
  EXPECT_ERROR(checkNftTableName("1abc"), Errc::kInvalidArgument);
  EXPECT_ERROR(checkNftTableName("x; flush ruleset"), Errc::kInvalidArgument);
  EXPECT_ERROR(checkNftTableName(std::string(256, 'a')), Errc::kInvalidArgument);
  EXPECT_OK(checkNftTableName(std::string(255, 'a')));
}

TEST(NftElementText, SpellsV4AddressesAndV6Prefixes) {
  auto v4 = nftElementText(addr("192.0.2.7"), 64);
  ASSERT_OK(v4);
  EXPECT_EQ(*v4, "192.0.2.7");
  auto v6 = nftElementText(addr("2001:db8:1:2::"), 64);
  ASSERT_OK(v6);
  EXPECT_EQ(*v6, "2001:db8:1:2::/64");
  auto host = nftElementText(addr("2001:db8::5"), 128);
  ASSERT_OK(host);
  EXPECT_EQ(*host, "2001:db8::5");
}

TEST(NftElementText, RejectsHostBitsAndBadLengths) {
  auto host_bits = nftElementText(addr("2001:db8:1:2::1"), 64);
  EXPECT_ERROR(host_bits, Errc::kInvalidArgument);
  EXPECT_NE(host_bits.error().message().find("/64"), std::string::npos);
  EXPECT_ERROR(nftElementText(addr("2001:db8::"), 0), Errc::kInvalidArgument);
  EXPECT_ERROR(nftElementText(addr("2001:db8::"), 129), Errc::kInvalidArgument);
}

TEST(NftElemOp, EncodesKeysAndIntervalEnds) {
  auto v4 = nftElemOp(addr("192.0.2.7"), 64);
  ASSERT_OK(v4);
  EXPECT_EQ(v4->set, "blocked_v4");
  EXPECT_EQ(v4->key_len, 4);
  EXPECT_FALSE(v4->interval);
  EXPECT_EQ(v4->key[0], 192);
  EXPECT_EQ(v4->key[3], 7);
  auto v6 = nftElemOp(addr("2001:db8:1:ffff::"), 64);
  ASSERT_OK(v6);
  EXPECT_EQ(v6->set, "blocked_v6");
  EXPECT_TRUE(v6->interval);
  ASSERT_TRUE(v6->has_end);
  Address end;
  std::copy(v6->end.begin(), v6->end.end(), end.raw.b);
  EXPECT_EQ(end.str(), "2001:db8:2::");  // the carry crosses bytes
  auto host = nftElemOp(addr("2001:db8::5"), 128);
  ASSERT_OK(host);
  std::copy(host->end.begin(), host->end.end(), end.raw.b);
  EXPECT_EQ(end.str(), "2001:db8::6");
  auto last = nftElemOp(addr("ffff:ffff:ffff:ffff::"), 64);
  ASSERT_OK(last);
  EXPECT_FALSE(last->has_end);  // runs to the end of the space
  EXPECT_ERROR(nftElemOp(addr("2001:db8::1"), 64), Errc::kInvalidArgument);
}

TEST(NftSetJson, ParsesElementsOfBothKinds) {
  // As printed by nft 1.0.6 (`nft -j list set`).
  const char* v6 =
      R"({"nftables": [{"metainfo": {"version": "1.0.6", "json_schema_version": 1}},)"
      R"( {"set": {"family": "inet", "name": "blocked_v6", "table": "syn_guard",)"
      R"( "type": "ipv6_addr", "handle": 3, "flags": ["interval", "timeout"], "elem": [)"
      R"({"elem": {"val": {"prefix": {"addr": "2001:db8:1:2::", "len": 64}}, "timeout": 9,)"
      R"( "expires": 8}}, {"elem": {"val": "2001:db8:1:4::", "timeout": 7, "expires": 7}},)"
      R"( "2001:db8:9::1"]}}]})";
  auto r = parseNftSetJson(v6);
  ASSERT_OK(r);
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ((*r)[0].str(), "2001:db8:1:2::/64");
  EXPECT_EQ((*r)[0].prefix_len, 64);
  EXPECT_EQ((*r)[0].timeout, seconds(9));
  EXPECT_EQ((*r)[0].expires, seconds(8));
  EXPECT_EQ((*r)[1].str(), "2001:db8:1:4::");
  EXPECT_EQ((*r)[1].prefix_len, 128);
  EXPECT_EQ((*r)[2].timeout, Nanos{0});
  auto v4 = parseNftSetJson(
      R"({"nftables": [{"set": {"name": "blocked_v4", "elem": [{"elem": {"val": "10.0.0.1",)"
      R"( "timeout": 60, "expires": 59}}]}}]})");
  ASSERT_OK(v4);
  ASSERT_EQ(v4->size(), 1u);
  EXPECT_EQ((*v4)[0].str(), "10.0.0.1");
  EXPECT_EQ((*v4)[0].prefix_len, 32);
  auto empty = parseNftSetJson(R"({"nftables": [{"set": {"name": "blocked_v4"}}]})");
  ASSERT_OK(empty);
  EXPECT_TRUE(empty->empty());
}

TEST(NftSetJson, RejectsMalformedOutput) {
  EXPECT_ERROR(parseNftSetJson("not json"), Errc::kInvalidArgument);
  EXPECT_ERROR(parseNftSetJson(R"({"x": 1})"), Errc::kInvalidArgument);
  EXPECT_ERROR(parseNftSetJson(R"({"nftables": [{"set": {"elem": 5}}]})"), Errc::kInvalidArgument);
  EXPECT_ERROR(parseNftSetJson(R"({"nftables": [{"set": {"elem": ["10.0.0.300"]}}]})"),
               Errc::kInvalidArgument);
  EXPECT_ERROR(
      parseNftSetJson(R"({"nftables": [{"set": {"elem": [{"range": ["1.1.1.1", "1.1.1.9"]}]}}]})"),
      Errc::kInvalidArgument);
  EXPECT_ERROR(
      parseNftSetJson(
          R"({"nftables": [{"set": {"elem": [{"elem": {"val": "1.1.1.1", "timeout": "x"}}]}}]})"),
      Errc::kInvalidArgument);
  EXPECT_ERROR(
      parseNftSetJson(
          R"({"nftables": [{"set": {"elem": [{"prefix": {"addr": "10.0.0.0", "len": 33}}]}}]})"),
      Errc::kInvalidArgument);
}

TEST(NftEnforcerCreate, RejectsABadTableNameBeforeTouchingTheKernel) {
  auto r = NftEnforcer::create("bad name");
  EXPECT_ERROR(r, Errc::kInvalidArgument);
}

// ---- in a fresh network namespace ----------------------------------------

TEST(NftEnforcerNetns, CreateMakesTableSetsAndChain) {
  SG_REQUIRE_ROOT();
  ASSERT_OK(runInFreshNetns([] {
    EXPECT_ERROR(nftRun("list table inet syn_guard"), Errc::kIo);  // nothing yet
    auto e = NftEnforcer::create();
    ASSERT_OK(e);
    EXPECT_FALSE((*e)->removedStaleTable());
    EXPECT_STREQ((*e)->name(), "nftables");
    auto text = nftRun("list table inet syn_guard");
    ASSERT_OK(text);
    for (const char* want :
         {"set blocked_v4", "type ipv4_addr", "set blocked_v6", "type ipv6_addr",
          "flags interval,timeout", "type filter hook prerouting priority raw; policy accept;",
          "ip saddr @blocked_v4 counter", "ip6 saddr @blocked_v6 counter"}) {
      EXPECT_NE(text->find(want), std::string::npos) << want << " not in\n" << *text;
    }
    auto listed = (*e)->listBlocked();
    ASSERT_OK(listed);
    EXPECT_TRUE(listed->empty());
  }));
}

TEST(NftEnforcerNetns, BlocksV4AddressAndV6PrefixWithTimeouts) {
  SG_REQUIRE_ROOT();
  ASSERT_OK(runInFreshNetns([] {
    auto e = NftEnforcer::create();
    ASSERT_OK(e);
    ASSERT_OK((*e)->block(spec("192.0.2.10", seconds(60))));
    ASSERT_OK((*e)->block(spec("2001:db8:1:2::", seconds(30), 64)));
    ASSERT_OK((*e)->block(spec("2001:db8:9::7", seconds(30), 128)));
    auto listed = (*e)->listBlocked();
    ASSERT_OK(listed);
    EXPECT_EQ(names(*listed),
              (std::vector<std::string>{"192.0.2.10", "2001:db8:1:2::/64", "2001:db8:9::7"}));
    const NftBlock* v4 = find(*listed, "192.0.2.10");
    ASSERT_NE(v4, nullptr);
    EXPECT_EQ(v4->timeout, seconds(60));
    EXPECT_GE(v4->expires, seconds(58));
    const NftBlock* v6 = find(*listed, "2001:db8:1:2::/64");
    ASSERT_NE(v6, nullptr);
    EXPECT_EQ(v6->timeout, seconds(30));
    auto text = nftRun("list set inet syn_guard blocked_v6");
    ASSERT_OK(text);
    EXPECT_NE(text->find("2001:db8:1:2::/64 timeout 30s"), std::string::npos) << *text;
  }));
}

TEST(NftEnforcerNetns, ReblockReplacesTheTimeoutInsteadOfFailing) {
  SG_REQUIRE_ROOT();
  ASSERT_OK(runInFreshNetns([] {
    auto e = NftEnforcer::create();
    ASSERT_OK(e);
    for (const char* key : {"192.0.2.20", "2001:db8:5::"}) {
      ASSERT_OK((*e)->block(spec(key, seconds(10))));
      ASSERT_OK((*e)->block(spec(key, seconds(90))));  // escalation: longer
      auto longer = (*e)->listBlocked();
      ASSERT_OK(longer);
      ASSERT_EQ(longer->size(), 1u) << key;
      EXPECT_EQ((*longer)[0].timeout, seconds(90)) << key;
      ASSERT_OK((*e)->block(spec(key, seconds(20))));  // a new, shorter block replaces it
      auto shorter = (*e)->listBlocked();
      ASSERT_OK(shorter);
      ASSERT_EQ(shorter->size(), 1u) << key;
      EXPECT_EQ((*shorter)[0].timeout, seconds(20)) << key;
      ASSERT_OK((*e)->unblock(addr(key), 64));
    }
  }));
}

TEST(NftEnforcerNetns, ShortTimeoutExpiresInTheKernel) {
  SG_REQUIRE_ROOT();
  ASSERT_OK(runInFreshNetns([] {
    auto e = NftEnforcer::create();
    ASSERT_OK(e);
    ASSERT_OK((*e)->block(spec("192.0.2.30", milliseconds(300))));
    ASSERT_OK((*e)->block(spec("2001:db8:30::", milliseconds(300))));
    ASSERT_OK((*e)->block(spec("192.0.2.31", seconds(60))));  // stays
    auto start = std::chrono::steady_clock::now();
    auto now = (*e)->listBlocked();
    ASSERT_OK(now);
    EXPECT_EQ(now->size(), 3u);
    std::vector<std::string> left;
    while (std::chrono::steady_clock::now() - start < seconds(5)) {
      auto listed = (*e)->listBlocked();
      ASSERT_OK(listed);
      left = names(*listed);
      if (left.size() == 1) break;
      std::this_thread::sleep_for(milliseconds(50));
    }
    auto took = std::chrono::steady_clock::now() - start;
    EXPECT_EQ(left, std::vector<std::string>{"192.0.2.31"});
    EXPECT_GE(took, milliseconds(250));  // not before its time (minus list latency)
  }));
}

TEST(NftEnforcerNetns, BlocksTheLastPrefixOfTheSpace) {
  SG_REQUIRE_ROOT();
  ASSERT_OK(runInFreshNetns([] {
    auto e = NftEnforcer::create();
    ASSERT_OK(e);
    ASSERT_OK((*e)->block(spec("ffff:ffff:ffff:ffff::", seconds(60))));
    auto listed = (*e)->listBlocked();
    ASSERT_OK(listed);
    EXPECT_EQ(names(*listed), std::vector<std::string>{"ffff:ffff:ffff:ffff::/64"});
    ASSERT_OK((*e)->unblock(addr("ffff:ffff:ffff:ffff::"), 64));
    listed = (*e)->listBlocked();
    ASSERT_OK(listed);
    EXPECT_TRUE(listed->empty());
  }));
}

TEST(NftEnforcerNetns, UnblockRemovesAndToleratesAbsentElements) {
  SG_REQUIRE_ROOT();
  ASSERT_OK(runInFreshNetns([] {
    auto e = NftEnforcer::create();
    ASSERT_OK(e);
    ASSERT_OK((*e)->block(spec("192.0.2.40", seconds(60))));
    ASSERT_OK((*e)->block(spec("2001:db8:40::", seconds(60))));
    ASSERT_OK((*e)->unblock(addr("192.0.2.40"), 64));
    ASSERT_OK((*e)->unblock(addr("2001:db8:40::"), 64));
    auto listed = (*e)->listBlocked();
    ASSERT_OK(listed);
    EXPECT_TRUE(listed->empty());
    EXPECT_OK((*e)->unblock(addr("192.0.2.40"), 64));  // again: absent is fine
    EXPECT_OK((*e)->unblock(addr("2001:db8:41::"), 64));
  }));
}

TEST(NftEnforcerNetns, RejectsBadBlocksWithClearErrors) {
  SG_REQUIRE_ROOT();
  ASSERT_OK(runInFreshNetns([] {
    auto e = NftEnforcer::create();
    ASSERT_OK(e);
    EXPECT_ERROR((*e)->block(spec("192.0.2.50", Nanos{0})), Errc::kInvalidArgument);
    EXPECT_ERROR((*e)->block(spec("2001:db8::1", seconds(5), 64)), Errc::kInvalidArgument);
    EXPECT_ERROR((*e)->unblock(addr("2001:db8::"), 0), Errc::kInvalidArgument);
    // An IPv6 prefix overlapping a blocked one: libnftables' own error text.
    ASSERT_OK((*e)->block(spec("2001:db8:60::", seconds(5), 64)));
    auto overlap = (*e)->block(spec("2001:db8::", seconds(5), 32));
    EXPECT_ERROR(overlap, Errc::kIo);
    EXPECT_NE(overlap.error().message().find("overlaps"), std::string::npos)
        << overlap.error().message();
  }));
}

TEST(NftEnforcerNetns, CreateReplacesAStaleTableFromACrashedRun) {
  SG_REQUIRE_ROOT();
  ASSERT_OK(runInFreshNetns([] {
    // What a killed agent leaves: its table, with a block still in it.
    ASSERT_OK(
        nftRun("table inet sg_crashed {\n set blocked_v4 { type ipv4_addr; flags timeout; }\n}\n"
               "add element inet sg_crashed blocked_v4 { 192.0.2.70 timeout 60s }\n"));
    auto e = NftEnforcer::create("sg_crashed");
    ASSERT_OK(e);
    EXPECT_TRUE((*e)->removedStaleTable());
    auto listed = (*e)->listBlocked();
    ASSERT_OK(listed);
    EXPECT_TRUE(listed->empty());
    auto text = nftRun("list table inet sg_crashed");
    ASSERT_OK(text);
    EXPECT_NE(text->find("set blocked_v6"), std::string::npos);
  }));
}

TEST(NftEnforcerNetns, DestructorAndRemoveDeleteTheTable) {
  SG_REQUIRE_ROOT();
  ASSERT_OK(runInFreshNetns([] {
    {
      auto e = NftEnforcer::create("sg_dtor");
      ASSERT_OK(e);
      ASSERT_OK((*e)->block(spec("192.0.2.80", seconds(60))));
      ASSERT_OK(nftRun("list table inet sg_dtor"));
    }
    EXPECT_ERROR(nftRun("list table inet sg_dtor"), Errc::kIo);
    auto e = NftEnforcer::create("sg_remove");
    ASSERT_OK(e);
    EXPECT_OK((*e)->remove());
    EXPECT_ERROR(nftRun("list table inet sg_remove"), Errc::kIo);
    EXPECT_ERROR((*e)->block(spec("192.0.2.81", seconds(60))), Errc::kUnavailable);
    EXPECT_OK((*e)->remove());  // twice is fine
    // Another owner deleted the table under us: remove() still succeeds.
    auto f = NftEnforcer::create("sg_gone");
    ASSERT_OK(f);
    ASSERT_OK(nftRun("delete table inet sg_gone"));
    EXPECT_OK((*f)->remove());
  }));
}

TEST(NftEnforcerNetns, TwoTablesDoNotInterfere) {
  SG_REQUIRE_ROOT();
  ASSERT_OK(runInFreshNetns([] {
    auto a = NftEnforcer::create("sg_a");
    auto b = NftEnforcer::create("sg_b");
    ASSERT_OK(a);
    ASSERT_OK(b);
    ASSERT_OK((*a)->block(spec("192.0.2.90", seconds(60))));
    auto in_b = (*b)->listBlocked();
    ASSERT_OK(in_b);
    EXPECT_TRUE(in_b->empty());
    a->reset();
    ASSERT_OK(nftRun("list table inet sg_b"));
  }));
}

TEST(NftEnforcerNetns, WithoutCapNetAdminSaysSo) {
  SG_REQUIRE_ROOT();
  ASSERT_OK(runInFreshNetns([] {
    ASSERT_OK(dropCapNetAdminOnThisThread());
    auto e = NftEnforcer::create();
    EXPECT_ERROR(e, Errc::kPermissionDenied);
    EXPECT_NE(e.error().message().find("nftables needs CAP_NET_ADMIN (run as root)"),
              std::string::npos)
        << e.error().message();
  }));
}

}  // namespace
}  // namespace sg
