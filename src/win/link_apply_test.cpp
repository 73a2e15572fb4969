#include "win/link_apply.h"

#include <gtest/gtest.h>

#include "core/fake_isolation.h"
#include "proto/codec.h"
#include "test_helpers.h"

namespace sg::win {
namespace {

class CallsEnforcer final : public Enforcer {
 public:
  const char* name() const override { return "calls"; }
  Result<void> block(const BlockSpec&) override { return Ok{}; }
  Result<void> unblock(const Address&, uint8_t) override { return Ok{}; }
  Result<void> blockPrefix(const Prefix& p, Nanos ttl) override {
    if (fail) return Error(Errc::kIo, "FwpmFilterAdd0: 0x80320027");
    calls.push_back("block " + p.str() + " " + std::to_string(ttl.count()));
    return Ok{};
  }
  Result<void> unblockPrefix(const Prefix& p) override {
    calls.push_back("unblock " + p.str());
    return Ok{};
  }
  std::vector<std::string> calls;
  bool fail = false;
};

Prefix pfx(const char* t) { return *parsePrefix(t); }

proto::BlockEntry entry(const char* src, std::optional<uint64_t> ms = std::nullopt) {
  return proto::BlockEntry{pfx(src), ms};
}

class WinLinkApplierTest : public ::testing::Test {
 protected:
  WinLinkApplierTest()
      : pipeline_(AgentConfig{}, &enforcer_),
        applier_(&pipeline_, {pfx("127.0.0.0/8"), pfx("10.1.0.0/16")}) {}
  CallsEnforcer enforcer_;
  AttemptPipeline pipeline_;
  WinLinkApplier applier_;
};

TEST_F(WinLinkApplierTest, SnapshotBlocksGoToTheEnforcerAndAreAcked) {
  proto::Snapshot s;
  s.version = 3;
  s.blocks = {entry("198.51.100.7"), entry("203.0.113.0/24", 60'000)};
  s.policy.name = "default";
  auto a = applier_.apply(s, 0);
  ASSERT_TRUE(std::holds_alternative<proto::Ack>(a));
  EXPECT_EQ(std::get<proto::Ack>(a).version, 3u);
  EXPECT_EQ(applier_.appliedVersion(), 3u);
  ASSERT_EQ(enforcer_.calls.size(), 2u);
  EXPECT_EQ(enforcer_.calls[1], "block 203.0.113.0/24 60000000000");
  EXPECT_EQ(pipeline_.blocks().size(), 2u);
}

TEST_F(WinLinkApplierTest, TheAllowlistWinsWithTheLinuxReason) {
  proto::Snapshot s;
  s.version = 4;
  s.blocks = {entry("10.1.2.3"), entry("10.0.0.0/8"), entry("192.0.2.1")};
  auto a = applier_.apply(s, 0);
  ASSERT_TRUE(std::holds_alternative<proto::Nack>(a));
  const auto& n = std::get<proto::Nack>(a);
  EXPECT_EQ(n.version, 4u);
  ASSERT_EQ(n.items.size(), 2u);  // inside the allowlist, and a prefix that covers part of it
  EXPECT_EQ(n.items[0].target, "10.1.2.3/32");
  EXPECT_EQ(n.items[0].reason, "source on allowlist");
  EXPECT_EQ(n.items[1].target, "10.0.0.0/8");
  EXPECT_EQ(enforcer_.calls,
            std::vector<std::string>{"block 192.0.2.1/32 " +
                                     std::to_string(24LL * 365 * 3600 * 1'000'000'000)});
}

TEST_F(WinLinkApplierTest, ASnapshotRemovesTheConsolesBlocksItNoLongerListsOnly) {
  proto::Snapshot s;
  s.version = 1;
  s.blocks = {entry("198.51.100.7"), entry("198.51.100.8")};
  (void)applier_.apply(s, 0);
  ASSERT_TRUE(pipeline_.block(pfx("192.0.2.50"), 0, 0).ok());  // a local (manual) block
  enforcer_.calls.clear();
  s.version = 2;
  s.blocks = {entry("198.51.100.8")};
  ASSERT_TRUE(std::holds_alternative<proto::Ack>(applier_.apply(s, 0)));
  EXPECT_EQ(enforcer_.calls[0], "unblock 198.51.100.7/32");
  EXPECT_EQ(applier_.consoleBlocks(), 1u);
  EXPECT_EQ(pipeline_.blocks().size(), 2u);  // .8 and the local one
}

TEST_F(WinLinkApplierTest, DeltaOpsAndWhatWindowsDoesNotApplyLiveIsNacked) {
  proto::Delta d;
  d.from_version = 1;
  d.version = 2;
  proto::DeltaOp add;
  add.kind = proto::OpKind::kBlockAdd;
  add.block = entry("198.51.100.9");
  proto::DeltaOp iso;
  iso.kind = proto::OpKind::kIsolate;
  proto::DeltaOp pol;
  pol.kind = proto::OpKind::kPolicySet;
  pol.policy.name = "strict";
  d.ops = {add, iso, pol};
  auto a = applier_.apply(d, 0);
  ASSERT_TRUE(std::holds_alternative<proto::Nack>(a));
  const auto& n = std::get<proto::Nack>(a);
  ASSERT_EQ(n.items.size(), 2u);
  EXPECT_EQ(n.items[0].op, "isolate");
  EXPECT_EQ(n.items[1].op, "policy_set");
  EXPECT_EQ(n.items[1].target, "strict");
  EXPECT_EQ(enforcer_.calls.size(), 1u);

  proto::Delta r;
  r.from_version = 2;
  r.version = 3;
  proto::DeltaOp rm;
  rm.kind = proto::OpKind::kBlockRemove;
  rm.block = entry("198.51.100.9");
  r.ops = {rm};
  ASSERT_TRUE(std::holds_alternative<proto::Ack>(applier_.apply(r, 0)));
  EXPECT_EQ(enforcer_.calls.back(), "unblock 198.51.100.9/32");
}

TEST_F(WinLinkApplierTest, AnEnforcerErrorIsANackItemWithItsMessage) {
  enforcer_.fail = true;
  proto::Snapshot s;
  s.version = 5;
  s.blocks = {entry("198.51.100.7")};
  auto a = applier_.apply(s, 0);
  ASSERT_TRUE(std::holds_alternative<proto::Nack>(a));
  EXPECT_NE(std::get<proto::Nack>(a).items[0].reason.find("0x80320027"), std::string::npos);
}

// Isolation as on Linux (agent_link_apply.cpp): into the IsolationPort with
// the console's addresses, the named peers and --allow; a snapshot releases
// only the console's isolation, a release op any.
class WinLinkIsolationTest : public WinLinkApplierTest {
 protected:
  WinLinkIsolationTest() {
    applier_.setIsolation(&iso_, [] { return std::vector<Address>{*parseAddress("192.0.2.10")}; },
                          {pfx("10.1.0.0/16")});
  }
  proto::Snapshot isolated(uint64_t version, bool on) {
    proto::Snapshot s;
    s.version = version;
    s.policy.name = "default";
    s.isolation.on = on;
    s.isolation.allowed_peers = {pfx("198.51.100.0/24")};
    return s;
  }
  static proto::Delta delta(uint64_t version, proto::OpKind kind) {
    proto::DeltaOp op;
    op.kind = kind;
    proto::Delta d;
    d.from_version = version - 1;
    d.version = version;
    d.ops = {op};
    return d;
  }
  FakeIsolation iso_;
};

TEST_F(WinLinkIsolationTest, ASnapshotIsolatesWithTheConsolePeersAndAllowAndIsAcked) {
  auto a = applier_.apply(isolated(7, true), 0);
  ASSERT_TRUE(std::holds_alternative<proto::Ack>(a));
  ASSERT_TRUE(iso_.isolated());
  EXPECT_EQ(iso_.spec().console, std::vector<Address>{*parseAddress("192.0.2.10")});
  EXPECT_EQ(iso_.spec().allow, (std::vector<Prefix>{pfx("198.51.100.0/24"), pfx("10.1.0.0/16")}));
  // The same snapshot again (a reconnect): nothing replaced.
  ASSERT_TRUE(std::holds_alternative<proto::Ack>(applier_.apply(isolated(7, true), 0)));
  EXPECT_EQ(iso_.isolate_calls, 1);
  // The console lifts it.
  ASSERT_TRUE(std::holds_alternative<proto::Ack>(applier_.apply(isolated(8, false), 0)));
  EXPECT_FALSE(iso_.isolated());
  EXPECT_EQ(iso_.release_calls, 1);
}

TEST_F(WinLinkIsolationTest, DeltaIsolateAndReleaseOps) {
  ASSERT_TRUE(
      std::holds_alternative<proto::Ack>(applier_.apply(delta(2, proto::OpKind::kIsolate), 0)));
  EXPECT_TRUE(iso_.isolated());
  EXPECT_EQ(iso_.spec().allow, std::vector<Prefix>{pfx("10.1.0.0/16")});
  ASSERT_TRUE(
      std::holds_alternative<proto::Ack>(applier_.apply(delta(3, proto::OpKind::kRelease), 0)));
  EXPECT_FALSE(iso_.isolated());
}

TEST_F(WinLinkIsolationTest, ASnapshotLeavesAnIsolationTheConsoleDidNotMake) {
  ASSERT_OK(iso_.isolate(IsolationSpec{{*parseAddress("192.0.2.10")}, {}}));  // made locally
  ASSERT_TRUE(std::holds_alternative<proto::Ack>(applier_.apply(isolated(4, false), 0)));
  EXPECT_TRUE(iso_.isolated());
  EXPECT_EQ(iso_.release_calls, 0);
}

TEST_F(WinLinkIsolationTest, FailuresAreNackItems) {
  iso_.fail_next = Error(Errc::kIo, "FwpmFilterAdd0: 0x80320027");
  auto a = applier_.apply(isolated(5, true), 0);
  ASSERT_TRUE(std::holds_alternative<proto::Nack>(a));
  EXPECT_EQ(std::get<proto::Nack>(a).items[0].op, "isolate");
  EXPECT_NE(std::get<proto::Nack>(a).items[0].reason.find("0x80320027"), std::string::npos);
  EXPECT_FALSE(iso_.isolated());

  applier_.setIsolation(&iso_, [] { return std::vector<Address>{}; }, {});  // not resolved
  a = applier_.apply(isolated(6, true), 0);
  ASSERT_TRUE(std::holds_alternative<proto::Nack>(a));
  EXPECT_EQ(std::get<proto::Nack>(a).items[0].reason,
            "the console's address is not known (name not resolved)");

  applier_.setIsolation(nullptr, nullptr, {});
  a = applier_.apply(isolated(7, true), 0);
  ASSERT_TRUE(std::holds_alternative<proto::Nack>(a));
  EXPECT_EQ(std::get<proto::Nack>(a).items[0].reason, "this agent runs without isolation");
}

// Review s17 M2: the console's addresses were looked up once, at start: a
// name that did not resolve then refused every isolate until a restart, and
// a console that moved was cut off by the isolation it ordered.
TEST_F(WinLinkIsolationTest, TheConsolesAddressIsLookedUpAtEachIsolateOrder) {
  std::vector<Address> resolved;  // nothing yet: DNS not up at boot
  int lookups = 0;
  applier_.setIsolation(&iso_,
                        [&] {
                          ++lookups;
                          return resolved;
                        },
                        {});
  auto a = applier_.apply(isolated(5, true), 0);
  ASSERT_TRUE(std::holds_alternative<proto::Nack>(a));
  EXPECT_FALSE(iso_.isolated());
  resolved = {*parseAddress("192.0.2.20")};
  EXPECT_TRUE(std::holds_alternative<proto::Ack>(applier_.apply(isolated(6, true), 0)));
  ASSERT_TRUE(iso_.isolated());
  EXPECT_EQ(iso_.spec().console, resolved);
  resolved = {*parseAddress("192.0.2.30")};  // the console moved
  EXPECT_TRUE(std::holds_alternative<proto::Ack>(applier_.apply(isolated(7, true), 0)));
  EXPECT_EQ(iso_.spec().console, resolved);
  const int before = lookups;
  EXPECT_TRUE(std::holds_alternative<proto::Ack>(applier_.apply(isolated(8, false), 0)));
  EXPECT_EQ(lookups, before) << "a release needs no lookup";
}

TEST(WinReportEvent, BlocksAndFlagsBecomeReportEvents) {
  sg_event ev{};
  ev.type = SG_EV_BLOCK_ADDED;
  ev.src = parseAddress("203.0.113.9")->raw;
  ev.count = 250;
  ev.dst_port = 443;
  ev.block_ns = 60'000'000'000;
  auto e = reportEvent(ev, 5000, 64, 10'000'000'000);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->kind, proto::EventKind::kBlockAdded);
  EXPECT_EQ(e->source.str(), "203.0.113.9/32");
  EXPECT_EQ(e->block_ms, 60'000u);
  EXPECT_EQ(e->first_attempt_ns, 5'000'000'000u);
  ev.type = SG_EV_FLAGGED;
  EXPECT_EQ(reportEvent(ev, 5000, 64, 1)->kind, proto::EventKind::kFloodDetected);
  ev.type = SG_EV_PRESSURE;
  EXPECT_FALSE(reportEvent(ev, 5000, 64, 1).has_value());
  ev.type = SG_EV_BLOCK_ADDED;
  ev.src = parseAddress("2001:db8:1:2::")->raw;  // the Tracker's key: masked to the /64
  EXPECT_EQ(reportEvent(ev, 5000, 64, 1)->source.str(), "2001:db8:1:2::/64");
}

}  // namespace
}  // namespace sg::win
