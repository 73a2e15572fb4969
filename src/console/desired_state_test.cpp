#include "console/desired_state.h"

#include <gtest/gtest.h>

#include "test_helpers.h"

namespace sg::console {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;

Prefix pfx(const char* text) { return *parsePrefix(text); }

const Labels kPayments = {{"org", "acme"}, {"dept", "payments"}};
const Labels kWeb = {{"org", "acme"}, {"dept", "web"}};

class DesiredStateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK(state_.upsertEndpoint("pay-1", kPayments));
    ASSERT_OK(state_.upsertEndpoint("web-1", kWeb));
    ASSERT_OK(state_.setConnected("pay-1", true));
    ASSERT_OK(state_.setConnected("web-1", true));
  }
  // The message that catches `name` up from `applied`, which must exist.
  proto::ConsoleMessage catchUp(const std::string& name, uint64_t applied) {
    auto m = state_.catchUp(name, applied);
    EXPECT_TRUE(m.ok() && m->has_value());
    return **m;
  }

  FakeClock clock_;
  DesiredState state_{DesiredStateOptions{}, clock_};
};

TEST_F(DesiredStateTest, ConnectingEndpointGetsASnapshotThenDeltas) {
  auto first = catchUp("pay-1", 0);
  ASSERT_TRUE(std::holds_alternative<proto::Snapshot>(first));
  const auto& snap = std::get<proto::Snapshot>(first);
  EXPECT_EQ(snap.version, 1u);
  EXPECT_TRUE(snap.blocks.empty());
  EXPECT_EQ(snap.policy.name, "default");
  ASSERT_OK(state_.onAck("pay-1", 1));
  EXPECT_FALSE(state_.catchUp("pay-1", 1)->has_value());  // up to date

  auto v = state_.addBlock(pfx("192.0.2.7"), std::nullopt, "alice", "flood 1");
  ASSERT_OK(v);
  auto delta = catchUp("pay-1", 1);
  ASSERT_TRUE(std::holds_alternative<proto::Delta>(delta));
  const auto& d = std::get<proto::Delta>(delta);
  EXPECT_EQ(d.from_version, 1u);
  EXPECT_EQ(d.version, *v);
  ASSERT_EQ(d.ops.size(), 1u);
  EXPECT_EQ(d.ops[0].kind, proto::OpKind::kBlockAdd);
  EXPECT_EQ(d.ops[0].block.source, pfx("192.0.2.7"));
  EXPECT_FALSE(d.ops[0].block.expires_in_ms.has_value());
}

TEST_F(DesiredStateTest, ReconnectWithAnOldVersionGetsASnapshot) {
  DesiredStateOptions o;
  o.change_log_capacity = 2;
  DesiredState s(o, clock_);
  ASSERT_OK(s.upsertEndpoint("a", {}));
  ASSERT_OK(s.addBlock(pfx("192.0.2.1"), std::nullopt, "op", ""));  // v2
  ASSERT_OK(s.addBlock(pfx("192.0.2.2"), std::nullopt, "op", ""));  // v3
  ASSERT_OK(s.addBlock(pfx("192.0.2.3"), std::nullopt, "op", ""));  // v4: v2 leaves the log
  ASSERT_OK(s.addBlock(pfx("192.0.2.4"), std::nullopt, "op", ""));  // v5
  auto behind = s.catchUp("a", 2);                                  // v3 is gone from the log too
  ASSERT_TRUE(std::holds_alternative<proto::Snapshot>(**behind));
  EXPECT_EQ(std::get<proto::Snapshot>(**behind).blocks.size(), 4u);
  EXPECT_EQ(std::get<proto::Snapshot>(**behind).version, 5u);
  auto near = s.catchUp("a", 3);  // v4 and v5 are there
  ASSERT_TRUE(std::holds_alternative<proto::Delta>(**near));
  EXPECT_EQ(std::get<proto::Delta>(**near).ops.size(), 2u);
  // A version this console never gave (it restarted from an older store):
  // snapshot, never a delta.
  auto future = s.catchUp("a", 99);
  ASSERT_TRUE(std::holds_alternative<proto::Snapshot>(**future));
  EXPECT_ERROR(s.catchUp("nobody", 0), Errc::kNotFound);
}

TEST_F(DesiredStateTest, RestartContinuesTheVersionAndSnapshotsTheBehind) {
  DesiredState again(DesiredStateOptions{}, clock_, /*version=*/40);
  ASSERT_OK(again.upsertEndpoint("a", {}));
  ASSERT_OK(again.restoreBlock(GlobalBlock{pfx("192.0.2.1"), std::nullopt, "op", "", 12}));
  EXPECT_FALSE(again.catchUp("a", 40)->has_value());  // was up to date before the restart
  auto snap = again.catchUp("a", 39);
  ASSERT_TRUE(std::holds_alternative<proto::Snapshot>(**snap));
  EXPECT_EQ(std::get<proto::Snapshot>(**snap).blocks.size(), 1u);
  EXPECT_EQ(*again.removeBlock(pfx("192.0.2.1")), 41u);
}

TEST_F(DesiredStateTest, ActionsAreIdempotent) {
  auto v1 = state_.addBlock(pfx("192.0.2.7"), std::nullopt, "alice", "");
  auto v2 = state_.addBlock(pfx("192.0.2.7"), std::nullopt, "bob", "");
  EXPECT_EQ(*v1, *v2);
  auto r1 = state_.removeBlock(pfx("192.0.2.7"));
  EXPECT_GT(*r1, *v1);
  EXPECT_EQ(*state_.removeBlock(pfx("192.0.2.7")), *r1);
  auto i1 = state_.isolate("web-1", {pfx("10.0.0.1")});
  EXPECT_EQ(*state_.isolate("web-1", {pfx("10.0.0.1")}), *i1);
  auto rel = state_.release("web-1");
  EXPECT_EQ(*state_.release("web-1"), *rel);
  EXPECT_ERROR(state_.isolate("ghost", {}), Errc::kNotFound);
}

TEST_F(DesiredStateTest, ChangesForOneEndpointLeaveTheOthersUpToDate) {
  ASSERT_OK(state_.onAck("web-1", 1));
  ASSERT_OK(state_.onAck("pay-1", 1));
  auto v = state_.isolate("pay-1", {pfx("10.0.0.1")});
  EXPECT_EQ(state_.desiredVersion("pay-1"), *v);
  EXPECT_EQ(state_.desiredVersion("web-1"), 1u);
  EXPECT_FALSE(state_.catchUp("web-1", 1)->has_value());
  auto d = std::get<proto::Delta>(catchUp("pay-1", 1));
  ASSERT_EQ(d.ops.size(), 1u);
  EXPECT_EQ(d.ops[0].kind, proto::OpKind::kIsolate);
  EXPECT_EQ(d.ops[0].allowed_peers, std::vector<Prefix>{pfx("10.0.0.1")});
  auto snap = *state_.snapshot("pay-1");
  EXPECT_TRUE(snap.isolation.on);
  EXPECT_FALSE(state_.snapshot("web-1")->isolation.on);
}

TEST_F(DesiredStateTest, PolicyChangesReachOnlyTheEndpointsTheyResolveFor) {
  Policy p{"payments", {{"dept", "payments"}}, {"", 50, 2000, 600000, EnforcerKind::kXdp}, 0};
  auto v = state_.setPolicy(p);
  ASSERT_OK(v);
  EXPECT_EQ(state_.endpoint("pay-1")->policy.name, "payments");
  EXPECT_EQ(state_.endpoint("web-1")->policy.name, "default");
  auto d = std::get<proto::Delta>(catchUp("pay-1", 1));
  ASSERT_EQ(d.ops.size(), 1u);
  EXPECT_EQ(d.ops[0].kind, proto::OpKind::kPolicySet);
  EXPECT_EQ(d.ops[0].policy.threshold, 50u);
  EXPECT_EQ(*state_.setPolicy(p), *v);  // the same again: no new version
  // Relabelling web-1 into payments sends it the policy.
  ASSERT_OK(state_.upsertEndpoint("web-1", kPayments));
  EXPECT_EQ(state_.endpoint("web-1")->policy.name, "payments");
  EXPECT_GT(state_.desiredVersion("web-1"), *v);
  // Deleting it falls back to the default for both.
  auto del = state_.deletePolicy("payments");
  EXPECT_EQ(state_.endpoint("pay-1")->policy.name, "default");
  EXPECT_EQ(state_.desiredVersion("pay-1"), *del);
}

TEST_F(DesiredStateTest, BlockStatusCountsAckedPendingAndRejected) {
  ASSERT_OK(state_.upsertEndpoint("db-1", kPayments));  // offline
  ASSERT_OK(state_.upsertEndpoint("db-2", kPayments));
  ASSERT_OK(state_.setConnected("db-2", true));
  auto v = *state_.addBlock(pfx("10.1.0.0/16"), std::nullopt, "alice", "");
  BlockStatus st = state_.blockStatus(pfx("10.1.0.0/16"));
  EXPECT_EQ(st.pending, 3u);  // pay-1, web-1, db-2 connected; db-1 offline
  ASSERT_OK(state_.onAck("pay-1", v));
  ASSERT_OK(state_.onNack("web-1",
                          proto::Nack{v, {{"block_add", "10.1.0.0/16", "source on allowlist"}}}));
  st = state_.blockStatus(pfx("10.1.0.0/16"));
  EXPECT_EQ(st.acked, 1u);
  EXPECT_EQ(st.rejected, 1u);
  EXPECT_EQ(st.pending, 1u);
  EXPECT_EQ(state_.endpoint("web-1")->acked_version, v);  // applied the rest of v
  EXPECT_EQ(state_.endpoint("web-1")->rejected.begin()->second.first, "source on allowlist");
  // Stale and impossible acks.
  ASSERT_OK(state_.onAck("pay-1", 1));
  EXPECT_EQ(state_.endpoint("pay-1")->acked_version, v);
  EXPECT_ERROR(state_.onAck("pay-1", v + 10), Errc::kInvalidArgument);
  // Unblock clears the rejection: a later block of the same source starts afresh.
  ASSERT_OK(state_.removeBlock(pfx("10.1.0.0/16")));
  EXPECT_TRUE(state_.endpoint("web-1")->rejected.empty());
}

// blockStatuses() (every block in one pass, what GET /v1/blocks uses) says
// what blockStatus() says of each block: endpoints acked at every version in
// between, offline ones, one with a rejection, a policy change between blocks.
TEST_F(DesiredStateTest, BlockStatusesAgreeWithBlockStatusOfEachBlock) {
  for (int i = 0; i < 12; ++i) {
    const std::string name = "ep-" + std::to_string(i);
    ASSERT_OK(state_.upsertEndpoint(name, i % 2 ? kPayments : kWeb));
    ASSERT_OK(state_.setConnected(name, i % 3 != 0));
  }
  std::vector<uint64_t> versions;
  for (int b = 1; b <= 6; ++b) {
    const std::string src = "198.51.100." + std::to_string(b);
    versions.push_back(*state_.addBlock(pfx(src.c_str()), std::nullopt, "alice", ""));
    if (b == 3)
      ASSERT_OK(state_.setPolicy(
          Policy{"p", {{"dept", "web"}}, {"", 50, 2000, 600000, EnforcerKind::kXdp}, 0}));
  }
  for (int i = 0; i < 12; ++i) {
    const std::string name = "ep-" + std::to_string(i);
    if (i % 7 != 6) ASSERT_OK(state_.onAck(name, versions[static_cast<size_t>(i) % 6]));
  }
  ASSERT_OK(state_.onNack("ep-5", proto::Nack{versions[5], {{"block_add", "198.51.100.2", "x"}}}));
  ASSERT_OK(state_.onAck("pay-1", versions.back()));
  auto all = state_.blockStatuses();
  ASSERT_EQ(all.size(), 6u);
  size_t acked = 0, pending = 0;
  for (const auto& [key, b] : state_.blocks()) {
    const BlockStatus one = state_.blockStatus(b.source);
    EXPECT_EQ(all[key].acked, one.acked) << key;
    EXPECT_EQ(all[key].pending, one.pending) << key;
    EXPECT_EQ(all[key].rejected, one.rejected) << key;
    acked += one.acked;
    pending += one.pending;
  }
  EXPECT_GT(acked, 0u);  // the scenario has each kind
  EXPECT_GT(pending, 0u);
  EXPECT_EQ(all["198.51.100.2"].rejected, 1u);
}

TEST_F(DesiredStateTest, BlocksExpireByTheClock) {
  ASSERT_OK(state_.addBlock(pfx("192.0.2.7"), minutes(10), "alice", ""));
  ASSERT_OK(state_.addBlock(pfx("192.0.2.8"), std::nullopt, "alice", ""));
  auto snap = *state_.snapshot("pay-1");
  ASSERT_EQ(snap.blocks.size(), 2u);
  EXPECT_EQ(snap.blocks[0].expires_in_ms, 600000u);
  clock_.advance(std::chrono::nanoseconds(minutes(4)).count());
  EXPECT_EQ(state_.snapshot("pay-1")->blocks[0].expires_in_ms, 360000u);
  EXPECT_TRUE(state_.expireBlocks().empty());
  clock_.advance(std::chrono::nanoseconds(minutes(6)).count());
  const uint64_t before = state_.version();
  EXPECT_EQ(state_.expireBlocks(), std::vector<Prefix>{pfx("192.0.2.7")});
  EXPECT_EQ(state_.version(), before + 1);
  auto d = std::get<proto::Delta>(catchUp("pay-1", before));
  ASSERT_EQ(d.ops.size(), 1u);
  EXPECT_EQ(d.ops[0].kind, proto::OpKind::kBlockRemove);
  EXPECT_EQ(state_.blocks().size(), 1u);
  EXPECT_ERROR(state_.addBlock(pfx("192.0.2.9"), seconds(0), "alice", ""), Errc::kInvalidArgument);
}

TEST_F(DesiredStateTest, GlobalBlocksAreBounded) {
  DesiredStateOptions o;
  o.max_blocks = 2;
  DesiredState s(o, clock_);
  ASSERT_OK(s.addBlock(pfx("192.0.2.1"), std::nullopt, "op", ""));
  ASSERT_OK(s.addBlock(pfx("192.0.2.2"), std::nullopt, "op", ""));
  EXPECT_ERROR(s.addBlock(pfx("192.0.2.3"), std::nullopt, "op", ""), Errc::kResourceExhausted);
  EXPECT_OK(s.addBlock(pfx("192.0.2.2"), std::nullopt, "op", ""));  // existing: fine
}

}  // namespace
}  // namespace sg::console
