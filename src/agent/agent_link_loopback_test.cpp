// The agent's console link against a small real console over TLS + mTLS on
// 127.0.0.1 (label net, no root): sg_net's server, sg_console's Session,
// Correlator and DesiredState; certificates made with src/pki
// (net/loopback_fixture.h). The agent side is the real AgentLink over a
// BlockBook on FakeSensor; the test thread plays the agent's loop thread.
#include <poll.h>
#include <stdlib.h>

#include <filesystem>
#include <map>

#include "agent/agent_link.h"
#include "agent/console_link.h"
#include "agent/fake_sensor.h"
#include "console/correlator.h"
#include "console/desired_state.h"
#include "console/session.h"
#include "core/fake_isolation.h"
#include "net/loopback_fixture.h"
#include "proto/codec.h"
#include "scratch_dir.h"

namespace sg::agent {
namespace {

using net::test::waitFor;

// The test console: one Session per connection, all under one mutex.
class TestConsole : public net::WsHandler {
 public:
  explicit TestConsole(Clock& clock) : clock(clock) {
    EXPECT_OK(desired.upsertEndpoint("ep-7", {{"org", "acme"}}));
  }
  void onOpen(const std::shared_ptr<net::WsConnection>& c) override {
    std::lock_guard<std::mutex> lock(mu);
    sessions_[c->id()] = {
        c, std::make_unique<console::Session>(correlator, desired, clock, c->peer().cert_cn)};
  }
  void onText(const std::shared_ptr<net::WsConnection>& c, std::string text) override {
    auto m = proto::parseAgentMessage(text);
    std::lock_guard<std::mutex> lock(mu);
    if (!m) {
      c->close();
      return;
    }
    if (std::holds_alternative<proto::Report>(*m)) ++reports;
    if (const auto* hb = std::get_if<proto::Heartbeat>(&*m)) last_heartbeat = *hb;
    auto it = sessions_.find(c->id());
    if (it == sessions_.end()) return;
    auto out = it->second.session->onMessage(*m);
    if (!out) {
      c->close();
      return;
    }
    for (const auto& reply : *out) c->send(proto::encode(reply));
  }
  void onClose(const std::shared_ptr<net::WsConnection>& c, const std::string&) override {
    std::lock_guard<std::mutex> lock(mu);
    sessions_.erase(c->id());
  }
  // After a change of the desired state: a delta to every connected agent.
  void push() {
    std::lock_guard<std::mutex> lock(mu);
    for (auto& [id, s] : sessions_) {
      auto next = s.session->pushIfBehind();
      if (next.ok() && *next) s.conn->send(proto::encode(**next));
    }
  }
  uint64_t addBlock(const char* src, std::optional<Nanos> ttl = std::nullopt) {
    std::lock_guard<std::mutex> lock(mu);
    auto v = desired.addBlock(*parsePrefix(src), ttl, "op", "test");
    EXPECT_OK(v);
    return v.ok() ? *v : 0;
  }
  uint64_t acked() {
    std::lock_guard<std::mutex> lock(mu);
    return desired.endpoint("ep-7")->acked_version;
  }
  bool sawFlood(const char* src) {
    std::lock_guard<std::mutex> lock(mu);
    const console::Flood* f = correlator.activeFor(*parsePrefix(src));
    return f != nullptr && f->endpoints.count("ep-7") == 1;
  }

  Clock& clock;  // first: the correlator and the desired state read it
  std::mutex mu;
  console::Correlator correlator{console::CorrelatorOptions{}, clock};
  console::DesiredState desired{console::DesiredStateOptions{}, clock};
  int reports = 0;
  proto::Heartbeat last_heartbeat;

 private:
  struct Live {
    std::shared_ptr<net::WsConnection> conn;
    std::unique_ptr<console::Session> session;
  };
  std::map<uint64_t, Live> sessions_;
};

class AgentLinkLoopbackTest : public ::testing::Test {
 protected:
  void SetUp() override {
    book_ = std::make_unique<BlockBook>(sensor_, nullptr, log_, clock_, AgentConfig{},
                                        [](uint32_t) { return std::string("eth0"); });
  }
  void TearDown() override {
    link_.reset();
    if (server_) server_->stop();
    std::fclose(out_);
  }
  void startServer(uint16_t port = 0) {
    net::ServerOptions o = net::test::serverOptions(pki_);
    o.port = port;
    net::WsRoute route;
    route.handler = console_;
    auto s = net::Server::start(io_.ioc(), std::move(o), net::Router{}, route, clock_);
    ASSERT_OK(s);
    server_ = *s;
  }
  void startAgent() {
    ConsoleLinkOptions o;
    o.host = "127.0.0.1";
    o.port = server_->port();
    o.url = "https://127.0.0.1:" + std::to_string(o.port);
    o.tls.ca_pem = pki_.ca_pem;  // as saved at enrollment
    o.tls.cert_pem = pki_.agent.cert;
    o.tls.key_pem = pki_.agent.key;
    o.backoff =
        net::BackoffPolicy{std::chrono::milliseconds(20), std::chrono::milliseconds(200), 2.0, 0.5};
    o.connect_timeout = std::chrono::milliseconds(2000);
    o.heartbeat = std::chrono::milliseconds(100);
    o.core.name = "ep-7";
    o.core.agent_version = "0.1.0";
    o.core.state_dir = dir_;
    o.on_state = [this](bool up, const std::string&) { ++(up ? ups_ : downs_); };
    auto link = ConsoleLink::create(std::move(o), clock_);
    ASSERT_OK(link);
    link_ = std::make_unique<AgentLink>(std::move(*link), dir_);
    LinkApplyHost h;
    h.book = book_.get();
    h.isolation = &isolation_;
    h.config = [] { return AgentConfig{}; };
    h.allowlist = [] { return std::vector<Prefix>{*parsePrefix("127.0.0.0/8")}; };
    h.apply_config = [](const AgentConfig&) -> Result<void> { return Ok{}; };
    ASSERT_OK(link_->attach(h, log_, [] { return std::map<std::string, uint64_t>{{"x", 1}}; }));
  }
  // The agent's loop: wait on the link's eventfd, handle what it brings.
  bool pump(const std::function<bool()>& pred,
            std::chrono::milliseconds limit = std::chrono::seconds(10)) {
    auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
      if (pred()) return true;
      pollfd p{link_->wakeFd(), POLLIN, 0};
      if (::poll(&p, 1, 10) > 0) link_->onWake();
    }
    return pred();
  }
  bool holds(const char* src) {
    for (const auto& b : sensor_.blocks) {
      if (Address{b.key}.str() == src) return true;
    }
    return false;
  }
  void detect(uint8_t last_octet) {
    sg_event e{};
    e.type = SG_EV_BLOCK_ADDED;
    e.src = parseAddress("198.51.100." + std::to_string(last_octet))->raw;
    e.ts_ns = clock_.nowNs();
    e.block_ns = 60'000'000'000;
    e.count = 300;
    e.dst_port = 443;
    (void)sensor_.addBlock(
        e.src, sg_block{e.ts_ns, e.ts_ns + e.block_ns, 0, 300, 443, 0, SG_BLK_XDP_DROP});
    book_->onKernelEvent(e);  // logs block_added: the link reports it
  }

  sg::test::ScratchDir scratch_{"sg-link-net"};
  std::string dir_ = scratch_.path().string();
  std::FILE* out_ = std::tmpfile();
  EventLog log_{LogFormat::kJson, out_};
  MonotonicClock clock_;
  FakeSensor sensor_;
  FakeIsolation isolation_;
  std::unique_ptr<BlockBook> book_;
  net::test::IoThreads io_;
  net::test::TestPki pki_ = net::test::makeTestPki();
  std::shared_ptr<TestConsole> console_ = std::make_shared<TestConsole>(clock_);
  std::shared_ptr<net::Server> server_;
  std::unique_ptr<AgentLink> link_;
  std::atomic<int> ups_{0}, downs_{0};
};

TEST_F(AgentLinkLoopbackTest, SnapshotDeltaReportsAndResumeAfterTheConsoleRestarts) {
  const uint64_t v1 = console_->addBlock("192.0.2.1");
  startServer();
  const uint16_t port = server_->port();
  startAgent();
  // Hello -> welcome + snapshot -> applied -> ack.
  ASSERT_TRUE(pump([&] { return console_->acked() == v1; })) << link_->statusJson().dump();
  EXPECT_TRUE(holds("192.0.2.1"));
  EXPECT_EQ(link_->statusJson()["connected"], true);

  // A local detection reaches the correlator.
  detect(7);
  ASSERT_TRUE(pump([&] { return console_->sawFlood("198.51.100.7"); }));
  // The console's own block was not reported back as a detection.
  EXPECT_FALSE(console_->sawFlood("192.0.2.1"));

  // A global block added while connected arrives as a delta.
  const uint64_t v2 = console_->addBlock("192.0.2.2", std::chrono::seconds(60));
  console_->push();
  ASSERT_TRUE(pump([&] { return console_->acked() == v2; }));
  EXPECT_TRUE(holds("192.0.2.2"));

  // The console goes away; the agent keeps detecting, and a block is added
  // on the console meanwhile.
  server_->stop();
  ASSERT_TRUE(pump([&] { return link_->statusJson()["connected"] == false; }));
  server_.reset();
  detect(8);
  EXPECT_GE(link_->statusJson()["queue_depth"].get<int>(), 1);
  const uint64_t v3 = console_->addBlock("192.0.2.3");
  // Back on the same port: the agent reconnects, resumes from version 2,
  // and delivers the detection it could not send.
  startServer(port);
  ASSERT_TRUE(pump([&] { return console_->acked() == v3; })) << link_->statusJson().dump();
  EXPECT_TRUE(holds("192.0.2.3"));
  ASSERT_TRUE(pump([&] { return console_->sawFlood("198.51.100.8"); }));
  ASSERT_TRUE(pump([&] { return link_->statusJson()["queue_depth"] == 0; }));
  EXPECT_GE(link_->statusJson()["connects"].get<int>(), 2);
  // Logged once per outage, not once per retry.
  EXPECT_EQ(ups_.load(), 2);
  EXPECT_EQ(downs_.load(), 1);
  // Heartbeats (every 100 ms here) carry the applied version and the blocks.
  ASSERT_TRUE(pump([&] {
    std::lock_guard<std::mutex> lock(console_->mu);
    return console_->last_heartbeat.applied_version == v3;
  }));
  std::lock_guard<std::mutex> lock(console_->mu);
  EXPECT_EQ(console_->last_heartbeat.active_blocks, 5u);
  EXPECT_EQ(console_->last_heartbeat.counters.at("x"), 1u);
}

TEST_F(AgentLinkLoopbackTest, TheAppliedVersionAndSeqsSurviveAnAgentRestart) {
  const uint64_t v1 = console_->addBlock("192.0.2.1");
  startServer();
  startAgent();
  ASSERT_TRUE(pump([&] { return console_->acked() == v1; }));
  detect(9);
  ASSERT_TRUE(pump([&] { return console_->sawFlood("198.51.100.9"); }));
  const int reports_before = console_->reports;
  link_.reset();  // the agent stops
  // It starts again: its hello says the version it runs, so no snapshot is needed,
  // and its next report is not taken for a duplicate.
  startAgent();
  EXPECT_EQ(link_->applier()->appliedVersion(), v1);
  detect(10);
  ASSERT_TRUE(pump([&] { return console_->sawFlood("198.51.100.10"); }));
  EXPECT_GT(console_->reports, reports_before);
  std::lock_guard<std::mutex> lock(console_->mu);
  EXPECT_EQ(console_->correlator.counters().duplicate_reports, 0u);
}

}  // namespace
}  // namespace sg::agent
