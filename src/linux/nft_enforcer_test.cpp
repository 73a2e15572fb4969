#include "linux/nft_enforcer.h"

#include <gtest/gtest.h>
#include <nftables/libnftables.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <functional>
#include <thread>

#include "core/config_checks.h"
#include "linux/netns_guard.h"
#include "linux/nft_enforcer_netlink.h"
#include "linux/nft_enforcer_rules.h"
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

TEST(NftTableName, TheEnforcerUsesTheConfigsValidator) {
  // One validator (limits::checkNftTable) for the config and the enforcer:
  // what the config accepts, the enforcer accepts too.
  EXPECT_ERROR(NftEnforcer::create("x; flush ruleset"), Errc::kInvalidArgument);
  EXPECT_ERROR(NftEnforcer::create(""), Errc::kInvalidArgument);
  EXPECT_ERROR(NftEnforcer::create(std::string(256, 'a')), Errc::kInvalidArgument);
  EXPECT_ERROR(NftEnforcer::create("syn_guard", 0), Errc::kInvalidArgument);
}

TEST(NftSetNames, CarryThePrefixLength) {
  EXPECT_EQ(nftV6SetName(64), "blocked_v6_64");
  EXPECT_EQ(nftSetPrefixLen("blocked_v6_64"), 64);
  EXPECT_EQ(nftSetPrefixLen("blocked_v6_128"), 128);
  EXPECT_EQ(nftSetPrefixLen("blocked_v4"), 32);
  EXPECT_EQ(nftSetPrefixLen("blocked_v6_129"), 0);
  EXPECT_EQ(nftSetPrefixLen("blocked_v6_0"), 0);
  EXPECT_EQ(nftSetPrefixLen("blocked_v6_"), 0);
  EXPECT_EQ(nftSetPrefixLen("blocked_v6"), 0);
  EXPECT_EQ(nftCommentPid(nftOwnerComment(4321)), 4321);
  EXPECT_EQ(nftCommentPid("syn-guard pid x"), 0);
  EXPECT_EQ(nftCommentPid("made by hand"), 0);
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

TEST(NftElemOp, EncodesKeysIntoThePrefixLengthsSet) {
  auto v4 = nftElemOp(addr("192.0.2.7"), 64);
  ASSERT_OK(v4);
  EXPECT_EQ(v4->set, "blocked_v4");
  EXPECT_EQ(v4->key_len, 4);
  EXPECT_EQ(v4->key[0], 192);
  EXPECT_EQ(v4->key[3], 7);
  auto v6 = nftElemOp(addr("2001:db8:1:ffff::"), 64);
  ASSERT_OK(v6);
  EXPECT_EQ(v6->set, "blocked_v6_64");
  EXPECT_EQ(v6->key_len, 16);
  EXPECT_EQ(v6->key[7], 0xff);
  auto host = nftElemOp(addr("2001:db8::5"), 128);
  ASSERT_OK(host);
  EXPECT_EQ(host->set, "blocked_v6_128");
  auto wide = nftElemOp(addr("2001:db8::"), 32);
  ASSERT_OK(wide);
  EXPECT_EQ(wide->set, "blocked_v6_32");
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
  // A set of masked keys: its plain addresses are prefixes of the set's length.
  auto masked = parseNftSetJson(
      R"({"nftables": [{"set": {"name": "blocked_v6_48", "elem": [{"elem": {"val": "2001:db8:7::",)"
      R"( "timeout": 60, "expires": 59}}]}}]})");
  ASSERT_OK(masked);
  ASSERT_EQ(masked->size(), 1u);
  EXPECT_EQ((*masked)[0].str(), "2001:db8:7::/48");
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
         {"flags owner", "comment \"syn-guard pid ", "counter dropped", "set blocked_v4",
          "type ipv4_addr", "set blocked_v6_64", "type ipv6_addr",
          "type filter hook prerouting priority raw; policy accept;",
          "ip saddr @blocked_v4 counter name \"dropped\" drop",
          "ip6 saddr & ffff:ffff:ffff:ffff:: ",  // nft 1.0.6 prints "== @set" here
          "@blocked_v6_64 counter name \"dropped\" drop"}) {
      EXPECT_NE(text->find(want), std::string::npos) << want << " not in\n" << *text;
    }
    // Hash sets of masked keys: no interval set costs milliseconds per block.
    EXPECT_EQ(text->find("interval"), std::string::npos) << *text;
    EXPECT_TRUE((*e)->ownsTable());
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
    auto text = nftRun("list set inet syn_guard blocked_v6_64");
    ASSERT_OK(text);
    EXPECT_NE(text->find("2001:db8:1:2:: timeout 30s"), std::string::npos) << *text;
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
  }));
}

TEST(NftEnforcerNetns, PrefixesOfOtherLengthsGetTheirOwnSetsAndMayOverlap) {
  SG_REQUIRE_ROOT();
  ASSERT_OK(runInFreshNetns([] {
    auto e = NftEnforcer::create("syn_guard", 64);
    ASSERT_OK(e);
    // A manual /48 over a detected /64 inside it: both held (an interval set
    // refused the overlap), each in the set of its length.
    ASSERT_OK((*e)->block(spec("2001:db8:60:1::", seconds(60), 64)));
    ASSERT_OK((*e)->block(spec("2001:db8:60::", seconds(60), 48)));
    ASSERT_OK((*e)->block(spec("2001:db8:61::", seconds(60), 48)));
    auto listed = (*e)->listBlocked();
    ASSERT_OK(listed);
    EXPECT_EQ(names(*listed), (std::vector<std::string>{"2001:db8:60:1::/64", "2001:db8:60::/48",
                                                        "2001:db8:61::/48"}));
    auto text = (*e)->listTable();
    ASSERT_OK(text);
    EXPECT_NE(text->find("ip6 saddr & ffff:ffff:ffff:: == @blocked_v6_48"), std::string::npos)
        << *text;
    ASSERT_OK((*e)->unblock(addr("2001:db8:60::"), 48));
    EXPECT_OK((*e)->unblock(addr("2001:db8:70::"), 56));  // no /56 set yet: nothing to remove
    listed = (*e)->listBlocked();
    ASSERT_OK(listed);
    EXPECT_EQ(names(*listed), (std::vector<std::string>{"2001:db8:60:1::/64", "2001:db8:61::/48"}));
  }));
}

TEST(NftEnforcerNetns, CreateReplacesAStaleTableFromACrashedRun) {
  SG_REQUIRE_ROOT();
  ASSERT_OK(runInFreshNetns([] {
    // What a killed agent of an older version (no table owner) leaves: its
    // table, with a block still in it.
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
    EXPECT_NE(text->find("set blocked_v6_64"), std::string::npos);
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
  }));
}

TEST(NftEnforcerNetns, NobodyElseCanChangeOrDeleteTheTable) {
  SG_REQUIRE_ROOT();
  ASSERT_OK(runInFreshNetns([] {
    auto e = NftEnforcer::create("sg_owned");
    ASSERT_OK(e);
    ASSERT_OK((*e)->block(spec("192.0.2.82", seconds(60))));
    EXPECT_ERROR(nftRun("delete table inet sg_owned"), Errc::kIo);
    EXPECT_ERROR(nftRun("flush set inet sg_owned blocked_v4"), Errc::kIo);
    auto listed = (*e)->listBlocked();
    ASSERT_OK(listed);
    EXPECT_EQ(names(*listed), std::vector<std::string>{"192.0.2.82"});
  }));
}

TEST(NftEnforcerNetns, ASecondAgentIsRefusedTheTableALiveOneHolds) {
  SG_REQUIRE_ROOT();
  ASSERT_OK(runInFreshNetns([] {
    auto first = NftEnforcer::create("sg_shared");
    ASSERT_OK(first);
    ASSERT_OK((*first)->block(spec("192.0.2.83", seconds(60))));
    auto second = NftEnforcer::create("sg_shared");
    EXPECT_ERROR(second, Errc::kAlreadyExists);
    EXPECT_NE(second.error().message().find("held by another running process"), std::string::npos)
        << second.error().message();
    EXPECT_NE(second.error().message().find("--nft-table"), std::string::npos);
    // The refused one took nothing: the first's table and block are intact.
    auto listed = (*first)->listBlocked();
    ASSERT_OK(listed);
    EXPECT_EQ(names(*listed), std::vector<std::string>{"192.0.2.83"});
    // Another name works beside it; the name is free again once the first ends.
    auto other = NftEnforcer::create("sg_shared_2");
    EXPECT_OK(other);
    first->reset();
    auto again = NftEnforcer::create("sg_shared");
    ASSERT_OK(again);
    EXPECT_FALSE((*again)->removedStaleTable());
  }));
}

// Forks a child that runs `body` then waits to be killed; the parent gets its
// pid once `body` has finished (or -1).
pid_t forkHolding(const std::function<bool()>& body) {
  int ready[2];
  if (pipe(ready) != 0) return -1;
  pid_t pid = fork();
  if (pid == 0) {
    close(ready[0]);
    char ok = body() ? '1' : '0';
    (void)!write(ready[1], &ok, 1);
    for (int i = 0; i < 300; ++i) sleep(1);  // bounded: the parent kills it first
    _exit(0);
  }
  close(ready[1]);
  char ok = '0';
  bool got = pid > 0 && read(ready[0], &ok, 1) == 1 && ok == '1';
  close(ready[0]);
  if (pid > 0 && !got) {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    return -1;
  }
  return pid;
}

void killAndReap(pid_t pid) {
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
}

TEST(NftEnforcerNetns, TheTableDiesWithItsOwnerEvenWhenKilled) {
  SG_REQUIRE_ROOT();
  ASSERT_OK(runInFreshNetns([] {
    pid_t child = forkHolding([] {
      auto e = NftEnforcer::create("sg_killed");
      if (!e || !(*e)->block(spec("192.0.2.84", seconds(600)))) return false;
      (void)e->release();  // never destroyed: SIGKILL ends it
      return true;
    });
    ASSERT_GT(child, 0);
    ASSERT_OK(nftRun("list table inet sg_killed"));
    EXPECT_ERROR(NftEnforcer::create("sg_killed"), Errc::kAlreadyExists);
    killAndReap(child);
    EXPECT_ERROR(nftRun("list table inet sg_killed"), Errc::kIo);  // no stale table, no block
    auto next = NftEnforcer::create("sg_killed");
    ASSERT_OK(next);
    EXPECT_FALSE((*next)->removedStaleTable());
  }));
}

TEST(NftEnforcerNetns, AnUnownedTableOfALiveAgentIsRefusedAndAStaleOneReplaced) {
  SG_REQUIRE_ROOT();
  ASSERT_OK(runInFreshNetns([] {
    // As a kernel without table ownership leaves it: no owner, the pid comment.
    pid_t child = forkHolding([] { return true; });  // same program, alive
    ASSERT_GT(child, 0);
    ASSERT_OK(nftRun("table inet sg_old {\n comment \"" + nftOwnerComment(child) + "\"\n}\n"));
    auto refused = NftEnforcer::create("sg_old");
    EXPECT_ERROR(refused, Errc::kAlreadyExists);
    if (!refused) {
      EXPECT_NE(refused.error().message().find(nftOwnerComment(child)), std::string::npos)
          << refused.error().message();
    }
    killAndReap(child);  // its pid now names no live process
    auto e = NftEnforcer::create("sg_old");
    ASSERT_OK(e);
    EXPECT_TRUE((*e)->removedStaleTable());
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

TEST(NftEnforcerNetns, ANameTheConfigAcceptsWorksEndToEnd) {
  SG_REQUIRE_ROOT();
  ASSERT_OK(runInFreshNetns([] {
    // '-' is valid for the config (and nft); the enforcer once refused it,
    // so a valid config failed only at start.
    ASSERT_OK(limits::checkNftTable("sg-edge-1"));
    auto e = NftEnforcer::create("sg-edge-1");
    ASSERT_OK(e);
    ASSERT_OK((*e)->block(spec("192.0.2.95", seconds(60))));
    ASSERT_OK((*e)->block(spec("2001:db8:95::", seconds(60))));
    auto listed = (*e)->listBlocked();
    ASSERT_OK(listed);
    EXPECT_EQ(listed->size(), 2u);
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
