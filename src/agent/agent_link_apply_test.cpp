#include "agent/agent_link_apply.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

#include "agent/fake_sensor.h"
#include "core/fake_isolation.h"
#include "scratch_dir.h"
#include "test_helpers.h"

namespace sg::agent {
namespace {

constexpr uint64_t kSec = 1'000'000'000;

Prefix pfx(const char* text) { return *parsePrefix(text); }

proto::BlockEntry block(const char* src, std::optional<uint64_t> ms = std::nullopt) {
  return proto::BlockEntry{pfx(src), ms};
}

proto::DeltaOp op(proto::OpKind kind) {
  proto::DeltaOp o;
  o.kind = kind;
  return o;
}

proto::PolicyParams policy(const char* name, uint32_t threshold) {
  proto::PolicyParams p;
  p.name = name;
  p.threshold = threshold;
  p.window_ms = 2000;
  p.block_duration_ms = 30000;
  return p;
}

// The agent around the applier: a real BlockBook over FakeSensor, the
// isolation fake, a config applied "live" by recording it.
class LinkApplierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_.allow = {pfx("203.0.113.0/24")};
    book_ = std::make_unique<BlockBook>(sensor_, nullptr, log_, clock_, bookConfig(),
                                        [](uint32_t) { return std::string("eth0"); });
  }
  void TearDown() override { std::fclose(out_); }
  AgentConfig bookConfig() const {
    AgentConfig c = config_;
    c.allow.push_back(pfx("127.0.0.0/8"));
    c.allow.push_back(pfx("198.51.100.5"));  // a host address
    return c;
  }
  LinkApplyHost host() {
    LinkApplyHost h;
    h.book = book_.get();
    h.isolation = &isolation_;
    h.config = [this] { return config_; };
    h.allowlist = [this] { return bookConfig().allow; };
    h.apply_config = [this](const AgentConfig& c) -> Result<void> {
      config_ = c;
      book_->setConfig(bookConfig());
      ++applied_configs_;
      return Ok{};
    };
    h.console_addresses = [] { return std::vector<Address>{*parseAddress("192.0.2.100")}; };
    h.wall_ms = [this] { return wall_ms_; };
    return h;
  }
  std::unique_ptr<LinkApplier> make() {
    auto a = std::make_unique<LinkApplier>(host(), dir_);
    EXPECT_OK(a->restore());
    return a;
  }
  std::vector<std::string> held() {
    std::vector<std::string> out;
    auto listed = book_->blocksJson();
    EXPECT_TRUE(listed.ok());
    if (!listed.ok()) return out;
    const nlohmann::json all = std::move(*listed);
    for (const auto& b : all) out.push_back(b.value("src", ""));
    std::sort(out.begin(), out.end());
    return out;
  }
  static const proto::Nack& nackOf(const proto::AgentMessage& m) {
    return std::get<proto::Nack>(m);
  }

  sg::test::ScratchDir scratch_{"sg-link-apply"};
  std::string dir_ = scratch_.path().string();
  std::FILE* out_ = std::tmpfile();
  EventLog log_{LogFormat::kJson, out_};
  FakeClock clock_{100 * kSec};
  FakeSensor sensor_;
  FakeIsolation isolation_;
  AgentConfig config_;
  std::unique_ptr<BlockBook> book_;
  uint64_t wall_ms_ = 1'700'000'000'000;
  int applied_configs_ = 0;
};

TEST_F(LinkApplierTest, SnapshotReplacesTheConsolesBlocksAndLeavesLocalDetectionsAlone) {
  auto a = make();
  ASSERT_OK(book_->block(*parseAddress("192.0.2.50"), std::chrono::seconds(60)));  // local
  proto::Snapshot s;
  s.version = 1;
  s.policy = policy("default", 200);
  s.blocks = {block("192.0.2.1"), block("192.0.2.2", 60000)};
  auto answer = a->apply(s);
  EXPECT_EQ(std::get<proto::Ack>(answer).version, 1u);
  EXPECT_EQ(held(), (std::vector<std::string>{"192.0.2.1", "192.0.2.2", "192.0.2.50"}));
  // The next snapshot drops 192.0.2.1 and adds 192.0.2.3: the local block stays.
  s.version = 2;
  s.blocks = {block("192.0.2.2", 59000), block("192.0.2.3")};
  EXPECT_EQ(std::get<proto::Ack>(a->apply(s)).version, 2u);
  EXPECT_EQ(held(), (std::vector<std::string>{"192.0.2.2", "192.0.2.3", "192.0.2.50"}));
  EXPECT_EQ(a->appliedVersion(), 2u);
  // Unblocked on the host (`syn-guard unblock`): the next snapshot puts it back.
  ASSERT_OK(book_->unblock(*parseAddress("192.0.2.3")));
  s.version = 3;
  EXPECT_EQ(std::get<proto::Ack>(a->apply(s)).version, 3u);
  EXPECT_EQ(held(), (std::vector<std::string>{"192.0.2.2", "192.0.2.3", "192.0.2.50"}));
}

TEST_F(LinkApplierTest, DeltaOpsApplyInOrderAndAStaleDeltaChangesNothing) {
  auto a = make();
  proto::Delta d{0, 4, {}};
  auto add = op(proto::OpKind::kBlockAdd);
  add.block = block("192.0.2.9", 30000);
  auto remove = op(proto::OpKind::kBlockRemove);
  remove.block = block("192.0.2.9");
  auto add2 = op(proto::OpKind::kBlockAdd);
  add2.block = block("2001:db8:1:2::/64");
  d.ops = {add, remove, add2};
  EXPECT_EQ(std::get<proto::Ack>(a->apply(d)).version, 4u);
  EXPECT_EQ(held(), (std::vector<std::string>{"2001:db8:1:2::/64"}));
  proto::Delta stale{2, 3, {add}};
  EXPECT_EQ(std::get<proto::Ack>(a->apply(stale)).version, 3u);
  EXPECT_EQ(held(), (std::vector<std::string>{"2001:db8:1:2::/64"}));
  EXPECT_EQ(a->appliedVersion(), 4u);
}

TEST_F(LinkApplierTest, TheAllowlistWinsAndPrefixesBecomePrefixBlocks) {
  auto a = make();
  proto::Delta d{0, 1, {}};
  for (const char* src : {"203.0.113.9", "127.0.0.1", "198.51.100.5", "127.0.0.0/16", "10.0.0.0/8",
                          "2001:db8::/48", "192.0.2.1"}) {
    auto o = op(proto::OpKind::kBlockAdd);
    o.block = block(src);
    d.ops.push_back(o);
  }
  auto answer = a->apply(d);
  const auto& nack = nackOf(answer);
  EXPECT_EQ(nack.version, 1u);
  ASSERT_EQ(nack.items.size(), 4u);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(nack.items[i].op, "block_add");
    EXPECT_EQ(nack.items[i].reason, kReasonAllowlisted) << nack.items[i].target;
  }
  EXPECT_EQ(nack.items[3].target, "127.0.0.0/16");
  EXPECT_EQ(held(), (std::vector<std::string>{"10.0.0.0/8", "192.0.2.1", "2001:db8::/48"}));
  EXPECT_EQ(a->appliedVersion(), 1u);  // a nack moves the agent to the version too
  // Removing a prefix block lifts it.
  auto rm = op(proto::OpKind::kBlockRemove);
  rm.block = block("10.0.0.0/8");
  EXPECT_TRUE(std::holds_alternative<proto::Ack>(a->apply(proto::Delta{1, 2, {rm}})));
  EXPECT_EQ(held(), (std::vector<std::string>{"192.0.2.1", "2001:db8::/48"}));
}

TEST_F(LinkApplierTest, ABlockCoveringTheConsoleIsRefused) {
  auto a = make();
  proto::Delta d{0, 1, {}};
  for (const char* src : {"192.0.2.100", "192.0.2.0/24", "192.0.2.7"}) {
    auto o = op(proto::OpKind::kBlockAdd);
    o.block = block(src);
    d.ops.push_back(o);
  }
  auto answer = a->apply(d);
  const auto& nack = nackOf(answer);
  ASSERT_EQ(nack.items.size(), 2u);
  EXPECT_EQ(nack.items[0].reason, kReasonConsole);
  EXPECT_EQ(nack.items[1].reason, kReasonConsole);
  EXPECT_EQ(held(), (std::vector<std::string>{"192.0.2.7"}));
}

TEST_F(LinkApplierTest, ConsoleBlocksAndVersionSurviveARestart) {
  {
    auto a = make();
    proto::Snapshot s;
    s.version = 5;
    s.policy = policy("default", 200);
    s.blocks = {block("192.0.2.1"), block("192.0.2.2", 60000)};
    ASSERT_TRUE(std::holds_alternative<proto::Ack>(a->apply(s)));
  }
  // A restart without the pinned table: the TTL block is gone from the
  // kernel, the permanent one is in no store here either.
  sensor_.blocks.clear();
  book_ = std::make_unique<BlockBook>(sensor_, nullptr, log_, clock_, bookConfig(),
                                      [](uint32_t) { return std::string("eth0"); });
  wall_ms_ += 20'000;
  auto a = make();
  EXPECT_EQ(a->appliedVersion(), 5u);
  EXPECT_EQ(held(), (std::vector<std::string>{"192.0.2.1", "192.0.2.2"}));
  for (const auto& b : sensor_.blocks) {
    if (Address{b.key}.str() == "192.0.2.2") {
      EXPECT_EQ(b.block.expires_ns - clock_.nowNs(), 40 * kSec);  // what was left of it
    }
  }
  // An expired one is not brought back.
  wall_ms_ += 60'000;
  sensor_.blocks.clear();
  book_ = std::make_unique<BlockBook>(sensor_, nullptr, log_, clock_, bookConfig(),
                                      [](uint32_t) { return std::string("eth0"); });
  auto b = make();
  EXPECT_EQ(held(), (std::vector<std::string>{"192.0.2.1"}));
}

TEST_F(LinkApplierTest, PolicyGoesLiveAndStaysOverReloadsAndRestartsUntilDefault) {
  config_.threshold = 500;
  auto a = make();
  proto::Delta d{0, 1, {}};
  auto set = op(proto::OpKind::kPolicySet);
  set.policy = policy("payments", 50);
  d.ops = {set};
  EXPECT_TRUE(std::holds_alternative<proto::Ack>(a->apply(d)));
  EXPECT_EQ(config_.threshold, 50u);
  EXPECT_EQ(config_.window, std::chrono::seconds(2));
  EXPECT_EQ(config_.block_duration, std::chrono::seconds(30));
  // SIGHUP re-reads the file (threshold 400 there now): the console's stays.
  AgentConfig reloaded;
  reloaded.threshold = 400;
  a->overlay(reloaded);
  EXPECT_EQ(reloaded.threshold, 50u);
  config_ = reloaded;
  // A restart brings the policy back before the link connects.
  config_.threshold = 400;
  auto b = make();
  EXPECT_EQ(config_.threshold, 50u);
  // "default": the agent's own values again.
  proto::Delta back{1, 2, {}};
  set.policy = policy("default", 200);
  back.ops = {set};
  EXPECT_TRUE(std::holds_alternative<proto::Ack>(b->apply(back)));
  EXPECT_EQ(config_.threshold, 400u);
}

TEST_F(LinkApplierTest, AnEnforcerChangeIsNackedAndTheRestOfThePolicyApplied) {
  auto a = make();
  proto::Delta d{0, 1, {}};
  auto set = op(proto::OpKind::kPolicySet);
  set.policy = policy("strict", 20);
  set.policy.enforcer = EnforcerKind::kNftables;
  d.ops = {set};
  auto answer = a->apply(d);
  const auto& nack = nackOf(answer);
  ASSERT_EQ(nack.items.size(), 1u);
  EXPECT_EQ(nack.items[0].op, "policy_set");
  EXPECT_EQ(nack.items[0].target, "strict");
  EXPECT_NE(nack.items[0].reason.find("needs an agent restart"), std::string::npos);
  EXPECT_EQ(config_.threshold, 20u);
  // Out of range: refused whole, nothing changes.
  set.policy = policy("broken", 20);
  set.policy.window_ms = 0;
  proto::Delta bad{1, 2, {set}};
  const auto answer2 = a->apply(bad);
  EXPECT_EQ(nackOf(answer2).items.size(), 1u);
  EXPECT_EQ(config_.window, std::chrono::seconds(2));
}

TEST_F(LinkApplierTest, IsolationKeepsTheConsoleAndTheAllowlistAndASnapshotReleasesOnlyItsOwn) {
  auto a = make();
  proto::Delta d{0, 1, {}};
  auto iso = op(proto::OpKind::kIsolate);
  iso.allowed_peers = {pfx("198.51.100.0/24")};
  d.ops = {iso};
  EXPECT_TRUE(std::holds_alternative<proto::Ack>(a->apply(d)));
  ASSERT_TRUE(isolation_.isolated());
  EXPECT_EQ(isolation_.spec().console, (std::vector<Address>{*parseAddress("192.0.2.100")}));
  EXPECT_EQ(isolation_.spec().allow,
            (std::vector<Prefix>{pfx("198.51.100.0/24"), pfx("203.0.113.0/24")}));
  proto::Snapshot s;
  s.version = 2;
  s.policy = policy("default", 200);
  EXPECT_TRUE(std::holds_alternative<proto::Ack>(a->apply(s)));
  EXPECT_FALSE(isolation_.isolated());
  // Isolated locally (control socket): a snapshot without isolation leaves it.
  ASSERT_OK(isolation_.isolate(IsolationSpec{{*parseAddress("192.0.2.100")}, {}}));
  s.version = 3;
  EXPECT_TRUE(std::holds_alternative<proto::Ack>(a->apply(s)));
  EXPECT_TRUE(isolation_.isolated());
}

TEST_F(LinkApplierTest, TheConsoleDoesNotHearItsOwnBlocksBack) {
  auto a = make();
  proto::Delta d{0, 1, {}};
  auto add = op(proto::OpKind::kBlockAdd);
  add.block = block("192.0.2.1", 1000);
  d.ops = {add};
  ASSERT_TRUE(std::holds_alternative<proto::Ack>(a->apply(d)));
  proto::Event e;
  e.kind = proto::EventKind::kBlockExpired;
  e.source = pfx("192.0.2.1");
  EXPECT_FALSE(a->reportable(e));
  e.source = pfx("192.0.2.77");
  EXPECT_TRUE(a->reportable(e));
}

}  // namespace
}  // namespace sg::agent
