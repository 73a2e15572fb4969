// The isolation table in the kernel, in a fresh network namespace: what nft
// reads back from the rules we build over netlink, the refusal of a second
// isolator on one table, and the re-application of a recorded isolation.
// Real traffic through these rules: tests/netns/isolation_test.cpp.
#include "linux/isolation.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "linux/netns_guard.h"
#include "linux/nft_enforcer_test_util.h"
#include "scratch_dir.h"
#include "test_helpers.h"

namespace sg {
namespace {

IsolationSpec spec() {
  auto s =
      parseIsolationSpec({"192.0.2.10", "2001:db8::10"}, {"198.51.100.0/24", "2001:db8:1::/48"});
  if (!s) std::abort();
  return *s;
}

TEST(Isolator, RulesReadBackAsDocumentedAndReleaseEmptiesTheTable) {
  SG_REQUIRE_ROOT();
  const sg::test::ScratchDir dir("sg-isolator");
  ASSERT_OK(runInFreshNetns([&] {
    auto iso = Isolator::create({dir.path().string(), "sg_iso_test"});
    ASSERT_OK(iso);
    EXPECT_FALSE((*iso)->isolated());
    EXPECT_EQ(nftListTable("sg_iso_test").find("chain"), std::string::npos);

    ASSERT_OK((*iso)->isolate(spec()));
    EXPECT_TRUE((*iso)->isolated());
    std::string text = nftListTable("sg_iso_test");
    for (const char* want :
         {"ip saddr 192.0.2.10 accept", "ip6 saddr 2001:db8::10 accept",
          "ip saddr 198.51.100.0/24 accept", "ip6 saddr 2001:db8:1::/48 accept",
          "ip daddr 192.0.2.10 accept", "ip6 daddr 2001:db8:1::/48 accept",
          "type filter hook input priority filter; policy drop;",
          "type filter hook output priority filter; policy drop;",
          "type filter hook forward priority filter; policy drop;", "iif \"lo\" accept",
          "oif \"lo\" accept", "jump allowed_src", "jump allowed_dst", "udp sport 67 udp dport 68",
          "udp sport 546 udp dport 547", "icmpv6 type 130-136 accept",
          "icmpv6 type packet-too-big accept", "flags owner"}) {
      EXPECT_NE(text.find(want), std::string::npos) << "missing: " << want << "\n" << text;
    }

    ASSERT_OK((*iso)->release());
    EXPECT_FALSE((*iso)->isolated());
    EXPECT_EQ(nftListTable("sg_iso_test").find("chain"), std::string::npos);
    ASSERT_OK((*iso)->release());  // idempotent
  }));
}

TEST(Isolator, SecondIsolatorOnOneTableIsRefused) {
  SG_REQUIRE_ROOT();
  const sg::test::ScratchDir a("sg-isolator");
  const sg::test::ScratchDir b("sg-isolator");
  ASSERT_OK(runInFreshNetns([&] {
    auto first = Isolator::create({a.path().string(), "sg_iso_test"});
    ASSERT_OK(first);
    auto second = Isolator::create({b.path().string(), "sg_iso_test"});
    EXPECT_ERROR(second, Errc::kAlreadyExists);
    if (!second) {
      EXPECT_NE(second.error().message().find("held by another running process"), std::string::npos)
          << second.error().message();
    }
    // The first keeps working.
    ASSERT_OK((*first)->isolate(spec()));
    EXPECT_NE(nftListTable("sg_iso_test").find("policy drop"), std::string::npos);
  }));
}

TEST(Isolator, RecordedIsolationIsReappliedByTheNextIsolator) {
  SG_REQUIRE_ROOT();
  const sg::test::ScratchDir dir("sg-isolator");
  ASSERT_OK(runInFreshNetns([&] {
    {
      auto iso = Isolator::create({dir.path().string(), "sg_iso_test"});
      ASSERT_OK(iso);
      EXPECT_FALSE((*iso)->restored());
      ASSERT_OK((*iso)->isolate(spec()));
    }
    // The isolator ended: its owned table is gone with its socket.
    auto gone = nftRun("list table inet sg_iso_test");
    ASSERT_FALSE(gone.ok());
    EXPECT_NE(gone.error().message().find("No such file"), std::string::npos)
        << gone.error().message();
    auto again = Isolator::create({dir.path().string(), "sg_iso_test"});
    ASSERT_OK(again);
    EXPECT_TRUE((*again)->restored());
    EXPECT_TRUE((*again)->isolated());
    EXPECT_EQ((*again)->spec(), spec());
    EXPECT_NE(nftListTable("sg_iso_test").find("ip saddr 192.0.2.10 accept"), std::string::npos);
    ASSERT_OK((*again)->release());
  }));
  // Released is recorded too: a third start is not isolated.
  ASSERT_OK(runInFreshNetns([&] {
    auto third = Isolator::create({dir.path().string(), "sg_iso_test"});
    ASSERT_OK(third);
    EXPECT_FALSE((*third)->isolated());
  }));
}

TEST(Isolator, LargestSpecFitsOneTransactionAndInvalidOnesChangeNothing) {
  SG_REQUIRE_ROOT();
  const sg::test::ScratchDir dir("sg-isolator");
  ASSERT_OK(runInFreshNetns([&] {
    auto iso = Isolator::create({dir.path().string(), "sg_iso_test"});
    ASSERT_OK(iso);
    IsolationSpec big;
    for (size_t i = 0; i < kMaxIsolationConsole; ++i) {
      big.console.push_back(*parseAddress("2001:db8::" + std::to_string(i + 1)));
    }
    for (size_t i = 0; i < kMaxIsolationAllow; ++i) {
      big.allow.push_back(*parsePrefix("10." + std::to_string(i) + ".0.0/16"));
    }
    ASSERT_OK((*iso)->isolate(big));
    EXPECT_NE(nftListTable("sg_iso_test").find("ip saddr 10.63.0.0/16 accept"), std::string::npos);
    EXPECT_ERROR((*iso)->isolate(IsolationSpec{}), Errc::kInvalidArgument);
    EXPECT_EQ((*iso)->spec(), big);
    auto recorded = IsolationState(dir.path().string()).load();
    ASSERT_OK(recorded);
    EXPECT_EQ(recorded->value(), big);
  }));
}

TEST(Isolator, UnwritableRecordRefusesIsolationAndLeavesTheKernelAlone) {
  SG_REQUIRE_ROOT();
  const sg::test::ScratchDir dir("sg-isolator");
  const std::string state_dir = dir.path().string() + "/agent";
  ASSERT_OK(runInFreshNetns([&] {
    auto iso = Isolator::create({state_dir, "sg_iso_test"});
    ASSERT_OK(iso);
    // A file where the state directory should be: the record cannot be
    // written, so the isolation would not survive a restart.
    ASSERT_EQ(std::system(("touch " + state_dir).c_str()), 0);
    auto r = (*iso)->isolate(spec());
    EXPECT_ERROR(r, Errc::kIo);
    if (!r) {
      EXPECT_NE(r.error().message().find("isolation record"), std::string::npos)
          << r.error().message();
    }
    EXPECT_FALSE((*iso)->isolated());
    EXPECT_EQ(nftListTable("sg_iso_test").find("chain"), std::string::npos);
  }));
}

TEST(Isolator, MalformedRecordStopsCreate) {
  const sg::test::ScratchDir dir("sg-isolator");
  ASSERT_EQ(std::system(("echo garbage > " + dir.path().string() + "/isolation.json").c_str()), 0);
  auto iso = Isolator::create({dir.path().string(), "sg_iso_test"});
  EXPECT_ERROR(iso, Errc::kInvalidArgument);
}

}  // namespace
}  // namespace sg
