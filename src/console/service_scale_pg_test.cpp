// Two consoles on one PostgreSQL database serving one fleet: a change made
// through one reaches the agents linked to the other, versions and flood ids
// come from the database, and a flood seen through both is one flood. The
// change feed delivers on its own thread, so each wait is bounded (5 s).
#include <thread>

#include "console/pg_store.h"
#include "console/pg_test_db.h"
#include "console/service_test_fixture.h"

namespace sg::console {
namespace {

using test::AgentCredentials;
using test::FakeConnection;
using test::kSec;

Prefix pfx(const char* text) { return *parsePrefix(text); }

// Polls `done` every 10 ms for up to 5 s.
bool eventually(const std::function<bool()>& done) {
  for (int i = 0; i < 500; ++i) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return done();
}

class ScaleOutTest : public test::ServiceFixture {
 protected:
  void SetUp() override {
    const std::string why = test::pgTestUnavailable();
    if (!why.empty()) {
      if (sg::test::inCi()) FAIL() << "CI=true: " << why;
      GTEST_SKIP() << why << " (with CI=true this fails)";
    }
    auto key = pki::generateEcKey();
    auto ca = pki::selfSignCa(*key, "test CA", std::chrono::seconds(3600));
    ca_pem_ = *pki::certToPem(ca->get());
    ca_key_pem_ = *pki::keyToPem(*key);
    auto db = test::PgTestDb::create();
    ASSERT_OK(db);
    db_ = std::move(*db);
    a_ = openConsole();
    b_ = openConsole();
    ASSERT_TRUE(a_ && b_);
  }
  void TearDown() override {
    a_.reset();
    b_.reset();
    db_.reset();
  }
  std::unique_ptr<ConsoleService> openConsole() {
    auto store = PgStore::open(db_->url());
    EXPECT_OK(store);
    if (!store) return nullptr;
    auto s = ConsoleService::open(
        std::move(*store), options_, clock_, [this] { return wallNow(); }, ca_pem_, ca_key_pem_);
    EXPECT_OK(s);
    return s ? std::move(*s) : nullptr;
  }
  // Enrolled through `svc`; known to both consoles once this returns.
  AgentCredentials enrollOn(std::unique_ptr<ConsoleService>& svc, const std::string& name) {
    std::swap(svc_, svc);
    AgentCredentials a = enrollAgent(name);
    std::swap(svc_, svc);
    EXPECT_TRUE(eventually([&] {
      for (auto* c : {&a_, &b_}) {
        auto eps = (*c)->endpoints();
        bool found = false;
        for (const auto& e : *eps) found = found || e.name == name;
        if (!found) return false;
      }
      return true;
    }));
    return a;
  }
  // Linked to `svc`, its first snapshot acknowledged; returns the snapshot's version.
  std::shared_ptr<FakeConnection> linkTo(std::unique_ptr<ConsoleService>& svc,
                                         const AgentCredentials& a, uint64_t applied = 0) {
    std::swap(svc_, svc);
    auto conn = connect(a, applied);
    std::swap(svc_, svc);
    return conn;
  }
  void sendTo(std::unique_ptr<ConsoleService>& svc, const std::shared_ptr<FakeConnection>& conn,
              const proto::AgentMessage& m) {
    svc->agentLink()->onText(conn, proto::encode(m));
  }
  // Acks every snapshot/delta received; returns the last version (0: none).
  uint64_t ackAll(std::unique_ptr<ConsoleService>& svc, const std::shared_ptr<FakeConnection>& conn,
                  std::vector<proto::ConsoleMessage>* seen = nullptr) {
    uint64_t last = 0;
    for (auto& m : conn->take()) {
      if (const auto* s = std::get_if<proto::Snapshot>(&m)) last = s->version;
      if (const auto* d = std::get_if<proto::Delta>(&m)) last = d->version;
      if (seen) seen->push_back(m);
    }
    if (last != 0) sendTo(svc, conn, proto::Ack{last});
    return last;
  }

  std::unique_ptr<test::PgTestDb> db_;
  std::unique_ptr<ConsoleService> a_, b_;
};

bool hasBlock(const std::vector<proto::ConsoleMessage>& seen, const Prefix& source) {
  for (const auto& m : seen) {
    if (const auto* s = std::get_if<proto::Snapshot>(&m)) {
      for (const auto& b : s->blocks) {
        if (b.source == source) return true;
      }
    }
    if (const auto* d = std::get_if<proto::Delta>(&m)) {
      for (const auto& op : d->ops) {
        if (op.kind == proto::OpKind::kBlockAdd && op.block.source == source) return true;
      }
    }
  }
  return false;
}

TEST_F(ScaleOutTest, ABlockThroughOneConsoleReachesTheAgentsOfTheOther) {
  auto agent = enrollOn(a_, "a-1");
  auto conn = linkTo(a_, agent);
  ASSERT_GT(ackAll(a_, conn), 0u);
  ASSERT_OK(b_->block(operator_, pfx("192.0.2.7"), std::nullopt, "from b"));
  std::vector<proto::ConsoleMessage> seen;
  ASSERT_TRUE(eventually([&] {
    ackAll(a_, conn, &seen);
    return hasBlock(seen, pfx("192.0.2.7"));
  }));
  ASSERT_TRUE(eventually([&] {
    auto blocks = a_->blocks();
    return blocks->size() == 1 && (*blocks)[0].status.acked == 1;
  }));
  // And back: unblocked through A, gone on B.
  ASSERT_OK(a_->unblock(operator_, pfx("192.0.2.7")));
  EXPECT_TRUE(eventually([&] { return b_->blocks()->empty(); }));
}

TEST_F(ScaleOutTest, VersionsComeFromTheDatabaseAndNeverClash) {
  std::set<uint64_t> versions;
  for (int i = 0; i < 5; ++i) {
    const std::string a = "198.51.100." + std::to_string(i);
    const std::string b = "203.0.113." + std::to_string(i);
    auto va = a_->block(operator_, *parsePrefix(a), std::nullopt, "");
    auto vb = b_->block(operator_, *parsePrefix(b), std::nullopt, "");
    ASSERT_OK(va);
    ASSERT_OK(vb);
    EXPECT_TRUE(versions.insert(*va).second) << *va;
    EXPECT_TRUE(versions.insert(*vb).second) << *vb;
  }
  EXPECT_TRUE(eventually([&] { return a_->blocks()->size() == 10 && b_->blocks()->size() == 10; }));
}

TEST_F(ScaleOutTest, AnAgentMovingToTheOtherConsoleGetsASnapshot) {
  auto agent = enrollOn(a_, "mover");
  ASSERT_OK(a_->block(operator_, pfx("192.0.2.7"), std::nullopt, ""));
  auto conn = linkTo(a_, agent);
  const uint64_t v = ackAll(a_, conn);
  ASSERT_GT(v, 0u);
  ASSERT_TRUE(eventually([&] { return b_->blocks()->size() == 1; }));
  ASSERT_OK(b_->block(operator_, pfx("192.0.2.8"), std::nullopt, ""));
  conn->close();
  a_->agentLink()->onClose(conn, "moved");
  // Reconnects through the load balancer to B, claiming A's version.
  auto moved = linkTo(b_, agent, v);
  auto out = moved->take();
  ASSERT_EQ(out.size(), 2u);
  const auto* snap = std::get_if<proto::Snapshot>(&out[1]);
  ASSERT_NE(snap, nullptr);
  EXPECT_EQ(snap->blocks.size(), 2u);
}

TEST_F(ScaleOutTest, PolicyAndIsolationReachTheOtherConsolesAgents) {
  auto agent = enrollOn(b_, "b-1");
  auto conn = linkTo(b_, agent);
  ASSERT_GT(ackAll(b_, conn), 0u);
  Policy p;
  p.name = "strict";
  p.selector = {{"name", "b-1"}};
  p.profile.threshold = 17;
  ASSERT_OK(a_->setPolicy(admin_, p));
  std::vector<proto::ConsoleMessage> seen;
  auto saw = [&](proto::OpKind kind) {
    for (const auto& m : seen) {
      if (const auto* d = std::get_if<proto::Delta>(&m)) {
        for (const auto& op : d->ops) {
          if (op.kind == kind && (kind != proto::OpKind::kPolicySet || op.policy.threshold == 17)) {
            return true;
          }
        }
      }
    }
    return false;
  };
  ASSERT_TRUE(eventually([&] {
    ackAll(b_, conn, &seen);
    return saw(proto::OpKind::kPolicySet);
  }));
  ASSERT_OK(a_->isolate(operator_, "b-1", "test"));
  ASSERT_TRUE(eventually([&] {
    ackAll(b_, conn, &seen);
    return saw(proto::OpKind::kIsolate);
  }));
  auto eps = b_->endpoints();
  EXPECT_TRUE((*eps)[0].isolated);
  EXPECT_EQ((*eps)[0].policy, "strict");
}

TEST_F(ScaleOutTest, OneSourceOnBothConsolesIsOneFlood) {
  auto a1 = enrollOn(a_, "a-1");
  auto b1 = enrollOn(b_, "b-1");
  auto b2 = enrollOn(b_, "b-2");
  auto ca1 = linkTo(a_, a1);
  auto cb1 = linkTo(b_, b1);
  auto cb2 = linkTo(b_, b2);
  sendTo(a_, ca1, proto::Report{1, 0, {detection("192.0.2.7", 500 * kSec)}});
  sendTo(b_, cb1, proto::Report{1, 0, {detection("192.0.2.7", 500 * kSec, 80)}});
  sendTo(b_, cb2, proto::Report{1, 0, {detection("192.0.2.7", 501 * kSec)}});
  for (auto* svc : {&a_, &b_}) {
    EXPECT_TRUE(eventually([&] {
      auto floods = (*svc)->floods(false);
      return floods->size() == 1 && floods->front().flood.endpoints.size() == 3 &&
             floods->front().flood.severity == Severity::kHigh;
    })) << (svc == &a_ ? "console A" : "console B");
  }
  EXPECT_EQ(a_->floods(false)->front().flood.id, b_->floods(false)->front().flood.id);
  EXPECT_EQ(a_->floods(false)->front().flood.ports(), (std::set<uint16_t>{80, 443}));
}

// An incident opened and an audit entry written through one console reach
// the other's dashboard stream (its SSE), as blocks and policies reach its
// agents: the store announces each, the other reads it back.
TEST_F(ScaleOutTest, IncidentsAndAuditThroughOneConsoleStreamOnTheOther) {
  auto a1 = enrollOn(a_, "a-1");
  auto ca1 = linkTo(a_, a1);
  sendTo(a_, ca1, proto::Report{1, 0, {detection("192.0.2.7", 500 * kSec)}});
  ASSERT_TRUE(eventually([&] { return b_->floods(false)->size() == 1; }));
  const uint64_t flood_id = b_->floods(false)->front().flood.id;
  (void)a_->takeLiveEvents();  // primes: what exists now is not news
  std::vector<LiveEvent> seen;
  auto has = [&seen](const std::string& type, const std::string& needle) {
    for (const auto& e : seen) {
      if (e.type == type && e.data.find(needle) != std::string::npos) return true;
    }
    return false;
  };

  auto incident = b_->escalate(operator_, flood_id, "page on-call from b");
  ASSERT_OK(incident);
  ASSERT_OK(b_->block(operator_, pfx("198.51.100.9"), std::nullopt, "seen on b"));
  EXPECT_TRUE(eventually([&] {
    for (auto& e : a_->takeLiveEvents()) seen.push_back(std::move(e));
    return has("incident", "page on-call from b") && has("audit", "198.51.100.9") &&
           has("audit", "\"escalate\"") &&
           has("flood", "\"incidents\":[" + std::to_string(*incident));
  })) <<
      [&] {
        std::string all;
        for (const auto& e : seen) all += e.type + " " + e.data + "\n";
        return all;
      }();
  auto tl = a_->timeline("");
  ASSERT_OK(tl);
  bool marked = false;
  for (const auto& m : tl->marks) marked = marked || m.text == "olga: block 198.51.100.9";
  EXPECT_TRUE(marked) << "the other console's operator action is on this timeline too";
}

// Port floods reported to one console are in the other's fleet view too
// (the store announces each; the other reloads it).
TEST_F(ScaleOutTest, PortFloodsOnBothConsolesAreOneFleetView) {
  auto a1 = enrollOn(a_, "a-1");
  auto b1 = enrollOn(b_, "b-1");
  auto ca1 = linkTo(a_, a1);
  auto cb1 = linkTo(b_, b1);
  auto pf = [](const char* dst, uint64_t rate) {
    proto::PortFloodReport m;
    m.dst = *parsePrefix(dst);
    m.dst_port = 443;
    m.reason = "rate";
    m.rate = m.peak_rate = rate;
    m.top_prefixes = {{*parsePrefix("198.51.100.0/24"), 500}};
    m.response = "none";
    m.first_ns = 400 * kSec;
    m.at_ns = 401 * kSec;
    return m;
  };
  sendTo(a_, ca1, proto::Report{1, 0, {}, {pf("192.0.2.10", 9000)}});
  sendTo(b_, cb1, proto::Report{1, 0, {}, {pf("192.0.2.20", 7000)}});
  for (auto* svc : {&a_, &b_}) {
    EXPECT_TRUE(eventually([&] {
      auto fleet = (*svc)->portFleet();
      return fleet.ok() && fleet->endpoints == std::vector<std::string>{"a-1", "b-1"} &&
             fleet->shared_prefixes.size() == 1 && fleet->severity == Severity::kMedium;
    })) << (svc == &a_ ? "console A" : "console B");
  }
  EXPECT_EQ(b_->portFloods(false)->size(), 2u);
}

// A change the feed never announced (written behind the consoles' backs,
// as one made while a listener was disconnected) arrives through the resync
// that follows a lost feed connection.
TEST_F(ScaleOutTest, AfterALostFeedConnectionEverythingIsReadAgain) {
  auto agent = enrollOn(a_, "a-1");
  auto conn = linkTo(a_, agent);
  ASSERT_GT(ackAll(a_, conn), 0u);
  auto sql = db_->connect();
  ASSERT_OK(sql);
  ASSERT_OK((*sql)->exec(
      "INSERT INTO global_blocks (source, expires_at_ms, added_by, reason, version, added_at_ms)"
      " VALUES ('192.0.2.99', NULL, 'elsewhere', '', 1, 0)"));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_TRUE(a_->blocks()->empty());  // nothing announced it
  ASSERT_OK(
      (*sql)->exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                   " WHERE datname = current_database() AND pid <> pg_backend_pid()"));
  std::vector<proto::ConsoleMessage> seen;
  EXPECT_TRUE(eventually([&] {
    ackAll(a_, conn, &seen);
    return hasBlock(seen, pfx("192.0.2.99"));
  }));
}

// Flood claims are store writes: only a report the session will correlate
// may cost them, not one before the hello nor a replayed seq.
TEST_F(ScaleOutTest, AReportBeforeTheHelloOrAReplayWritesNothing) {
  auto agent = enrollOn(a_, "a-1");
  auto reader = PgStore::open(db_->url());
  ASSERT_OK(reader);
  auto bare = std::make_shared<FakeConnection>(
      next_conn_++, net::PeerInfo{"127.0.0.1", agent.name, agent.cert_sha256});
  a_->agentLink()->onOpen(bare);
  const uint64_t v0 = *(*reader)->resourceVersion();
  sendTo(a_, bare, proto::Report{1, 0, {detection("192.0.2.7", 500 * kSec)}});
  EXPECT_TRUE(bare->closed());  // no hello: a protocol error
  EXPECT_EQ(*(*reader)->resourceVersion(), v0);

  auto conn = linkTo(a_, agent);
  ackAll(a_, conn);
  sendTo(a_, conn, proto::Report{1, 0, {detection("192.0.2.7", 500 * kSec)}});
  const uint64_t v1 = *(*reader)->resourceVersion();
  sendTo(a_, conn, proto::Report{1, 0, {detection("198.51.100.9", 501 * kSec)}});  // a replay
  EXPECT_EQ(*(*reader)->resourceVersion(), v1);
  EXPECT_FALSE(conn->closed());
}

}  // namespace
}  // namespace sg::console
