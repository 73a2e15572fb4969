// The agent link through ConsoleService with fake connections: sessions,
// fan-out, acks, reports stored before their ack, refusals and replacement.
#include "console/service_test_fixture.h"

namespace sg::console {
namespace {

using test::kSec;

class ServiceLinkTest : public test::ServiceFixture {};

Prefix pfx(const char* text) { return *parsePrefix(text); }

TEST_F(ServiceLinkTest, WelcomeSnapshotThenDeltasAndAcksCount) {
  auto ep = enrollAgent("web-1");
  ASSERT_OK(svc_->block(operator_, pfx("203.0.113.0/24"), std::nullopt, ""));
  auto conn = connect(ep);
  auto out = conn->take();
  ASSERT_EQ(out.size(), 2u);
  EXPECT_TRUE(std::holds_alternative<proto::Welcome>(out[0]));
  const proto::Snapshot snap = std::get<proto::Snapshot>(out[1]);
  ASSERT_EQ(snap.blocks.size(), 1u);
  sendFrom(conn, proto::Ack{snap.version});
  ASSERT_OK(svc_->block(operator_, pfx("192.0.2.7"), std::nullopt, ""));
  out = conn->take();
  ASSERT_EQ(out.size(), 1u);
  const proto::Delta delta = std::get<proto::Delta>(out[0]);
  EXPECT_EQ(delta.from_version, snap.version);
  EXPECT_EQ(delta.ops[0].block.source, pfx("192.0.2.7"));
  auto blocks = svc_->blocks();  // by source text: the new one first
  EXPECT_EQ((*blocks)[0].block.source, pfx("192.0.2.7"));
  EXPECT_EQ((*blocks)[0].status.pending, 1u);
  EXPECT_EQ((*blocks)[1].status.acked, 1u);
  sendFrom(conn, proto::Ack{delta.version});
  blocks = svc_->blocks();
  ASSERT_EQ(blocks->size(), 2u);
  for (const auto& b : *blocks) {
    EXPECT_EQ(b.status.acked, 1u);
    EXPECT_EQ(b.status.pending, 0u);
  }
  auto eps = svc_->endpoints();
  EXPECT_TRUE((*eps)[0].online);
  EXPECT_EQ((*eps)[0].applied_version, delta.version);
}

// A global block is encoded once for the fleet: every link at the same
// version gets the same bytes (one buffer), a link at another its own delta.
TEST_F(ServiceLinkTest, AFanOutSharesOneEncodingBetweenLinksAtTheSameVersion) {
  std::vector<std::shared_ptr<test::FakeConnection>> conns;
  for (const char* name : {"web-1", "web-2", "web-3"}) {
    conns.push_back(connect(enrollAgent(name)));
    const auto out = conns.back()->take();
    sendFrom(conns.back(), proto::Ack{std::get<proto::Snapshot>(out.at(1)).version});
  }
  // web-3 alone is isolated: its link is then one version further.
  ASSERT_OK(svc_->isolate(operator_, "web-3", "test"));
  for (auto& c : conns) (void)c->takeShared();
  advance(3 * kSec + 123'000);
  ASSERT_OK(svc_->block(operator_, pfx("192.0.2.7"), std::chrono::minutes(10), ""));
  auto a = conns[0]->takeShared(), b = conns[1]->takeShared(), c = conns[2]->takeShared();
  ASSERT_EQ(a.size(), 1u);
  ASSERT_EQ(b.size(), 1u);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(a[0].get(), b[0].get());  // one buffer
  EXPECT_NE(a[0].get(), c[0].get());
  const auto delta_a = std::get<proto::Delta>(*proto::parseConsoleMessage(*a[0]));
  const auto delta_c = std::get<proto::Delta>(*proto::parseConsoleMessage(*c[0]));
  EXPECT_EQ(delta_c.from_version, delta_a.from_version + 1);
  ASSERT_EQ(delta_a.ops.size(), 1u);
  ASSERT_EQ(delta_c.ops.size(), 1u);
  EXPECT_EQ(delta_a.ops[0], delta_c.ops[0]);  // TTL counted from one "now"
}

TEST_F(ServiceLinkTest, AReportIsStoredBeforeItsAck) {
  auto ep = enrollAgent("web-1");
  auto conn = connect(ep);
  conn->take();
  sendFrom(conn, proto::Report{1, 0, {detection("192.0.2.7", 500 * kSec)}});
  auto out = conn->take();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(std::get<proto::ReportAck>(out[0]).seq, 1u);
  // By the time the ack was sent, another reader of the database sees it.
  auto reader = SqliteStore::open(dbPath());
  ASSERT_OK(reader);
  auto floods = (*reader)->listFloods(false);
  ASSERT_EQ(floods->size(), 1u);
  EXPECT_EQ((*floods)[0].source, "192.0.2.7");
  EXPECT_EQ((*reader)->getEndpoint("web-1")->last_report_seq, 1u);
  auto views = svc_->floods(false);
  ASSERT_EQ(views->size(), 1u);
  EXPECT_EQ(views->front().flood.endpoints.count("web-1"), 1u);
}

TEST_F(ServiceLinkTest, ThreeEndpointsOneSourceIsOneHighFlood) {
  for (const char* name : {"a", "b", "c"}) {
    auto conn = connect(enrollAgent(name));
    sendFrom(conn, proto::Report{1, 0, {detection("192.0.2.7", 500 * kSec)}});
  }
  auto floods = svc_->floods(false);
  ASSERT_EQ(floods->size(), 1u);
  EXPECT_EQ(floods->front().flood.severity, Severity::kHigh);
  EXPECT_EQ(floods->front().flood.endpoints.size(), 3u);
}

TEST_F(ServiceLinkTest, BadFramesAndProtocolErrorsCloseTheLink) {
  auto ep = enrollAgent("web-1");
  auto conn = connect(ep);
  svc_->agentLink()->onText(conn, "{not json");
  EXPECT_TRUE(conn->closed());
  // A hello naming another endpoint than the certificate's.
  auto other = std::make_shared<test::FakeConnection>(
      99, net::PeerInfo{"127.0.0.1", ep.name, ep.cert_sha256});
  svc_->agentLink()->onOpen(other);
  sendFrom(other, proto::Hello{"web-2", "0.1.0", "linux", 0, 0});
  EXPECT_TRUE(other->closed());
  auto metrics = svc_->metricsText();
  EXPECT_NE(metrics.find("syn_guard_console_agent_bad_messages_total 1"), std::string::npos);
  EXPECT_NE(metrics.find("syn_guard_console_agent_protocol_errors_total 1"), std::string::npos);
}

// Review finding H2: an agent falls back to an older version only on an
// explicit refusal, so the refusal of a version says so in its close frame.
TEST_F(ServiceLinkTest, AHelloInAnUnknownVersionIsRefusedWithItsOwnCloseCode) {
  auto ep = enrollAgent("web-1");
  auto conn = std::make_shared<test::FakeConnection>(
      7, net::PeerInfo{"127.0.0.1", ep.name, ep.cert_sha256});
  svc_->agentLink()->onOpen(conn);
  const std::string hello =
      R"({"v":4,"type":"hello","name":"web-1","agent_version":"9.0.0","platform":"linux",)"
      R"("applied_version":0,"acked_report_seq":0})";
  svc_->agentLink()->onText(conn, hello);
  ASSERT_TRUE(conn->closed());
  EXPECT_EQ(conn->closeFrame().first, proto::kCloseUnsupportedVersion);
  EXPECT_EQ(conn->closeFrame().second.rfind("unsupported protocol version 4", 0), 0u)
      << conn->closeFrame().second;
  // Any other refused message closes as a protocol error, saying why.
  auto other = connect(ep);
  svc_->agentLink()->onText(other, "{not json");
  EXPECT_EQ(other->closeFrame().first, 1002);
  EXPECT_EQ(other->closeFrame().second.rfind("bad message: ", 0), 0u) << other->closeFrame().second;
}

TEST_F(ServiceLinkTest, UnknownRevokedOrStaleCertificatesAreRefused) {
  auto ep = enrollAgent("web-1");
  net::HttpRequest req;
  req.peer = net::PeerInfo{"127.0.0.1", "web-9", ep.cert_sha256};
  EXPECT_EQ(svc_->authorizeAgent(req)->status, 403);
  req.peer = net::PeerInfo{"127.0.0.1", "web-1", std::string(64, '0')};
  EXPECT_EQ(svc_->authorizeAgent(req)->status, 403);
  req.peer = net::PeerInfo{"127.0.0.1", "web-1", ep.cert_sha256};
  EXPECT_FALSE(svc_->authorizeAgent(req).has_value());
  auto conn = connect(ep);
  EXPECT_FALSE(conn->closed());
  ASSERT_OK(svc_->revokeEndpoint(admin_, "web-1"));
  EXPECT_TRUE(conn->closed());  // at once
  EXPECT_EQ(svc_->authorizeAgent(req)->status, 403);
  auto late = connect(ep);  // a link that got past the upgrade check anyway
  EXPECT_TRUE(late->closed());
  // Saying why (review s18 L4: the agent now reads a close sent right
  // after the upgrade; it said only "closed by the console").
  EXPECT_EQ(late->closeFrame(),
            std::make_pair(uint16_t{1008}, std::string("endpoint 'web-1' is revoked")));
  EXPECT_TRUE(svc_->endpoints()->front().revoked);
  EXPECT_FALSE(svc_->endpoints()->front().online);
}

TEST_F(ServiceLinkTest, ARevokedEndpointNoLongerCountsAsHavingAppliedABlock) {
  auto a = enrollAgent("web-1");
  auto b = enrollAgent("web-2");
  auto ca = connect(a);
  auto cb = connect(b);
  ASSERT_OK(svc_->block(operator_, pfx("192.0.2.7"), std::nullopt, ""));
  for (auto* c : {&ca, &cb}) {
    const proto::Delta d = std::get<proto::Delta>((*c)->take().back());
    sendFrom(*c, proto::Ack{d.version});
  }
  EXPECT_EQ(svc_->blocks()->front().status.acked, 2u);
  ASSERT_OK(svc_->revokeEndpoint(admin_, "web-2"));
  EXPECT_EQ(svc_->blocks()->front().status.acked, 1u);
  EXPECT_EQ(svc_->blocks()->front().status.pending, 0u);
}

TEST_F(ServiceLinkTest, ASecondLinkReplacesTheFirst) {
  auto ep = enrollAgent("web-1");
  auto first = connect(ep);
  auto second = connect(ep);
  EXPECT_TRUE(first->closed());
  EXPECT_FALSE(second->closed());
  // The first's late close does not take the second's endpoint offline.
  svc_->agentLink()->onClose(first, "closed");
  EXPECT_TRUE(svc_->endpoints()->front().online);
  ASSERT_OK(svc_->block(operator_, pfx("192.0.2.7"), std::nullopt, ""));
  EXPECT_EQ(first->take().size(), 2u);  // welcome + snapshot only, before it was replaced
  auto out = second->take();
  EXPECT_TRUE(std::holds_alternative<proto::Delta>(out.back()));
}

TEST_F(ServiceLinkTest, TicksPingAndSilentLinksGoOffline) {
  auto ep = enrollAgent("web-1");
  auto conn = connect(ep);
  conn->take();
  advance(11 * kSec);
  svc_->tick();
  auto out = conn->take();
  ASSERT_EQ(out.size(), 1u);
  const proto::Ping ping = std::get<proto::Ping>(out[0]);
  sendFrom(conn, proto::Pong{ping.nonce, ping.time_ns, 5 * kSec});
  sendFrom(conn, proto::Heartbeat{6 * kSec, 0, 3, {}});
  auto eps = svc_->endpoints();
  EXPECT_TRUE(eps->front().online);
  EXPECT_EQ(eps->front().active_blocks, 3u);
  EXPECT_GT(eps->front().last_heartbeat_ms, 0);
  advance(31 * kSec);
  svc_->tick();
  EXPECT_TRUE(conn->closed());
  EXPECT_FALSE(svc_->endpoints()->front().online);
}

TEST_F(ServiceLinkTest, QuietFloodsEndAndAreStoredAsEnded) {
  auto conn = connect(enrollAgent("web-1"));
  sendFrom(conn, proto::Report{1, 0, {detection("192.0.2.7", 500 * kSec)}});
  // Keep the link alive with heartbeats while the flood goes quiet.
  for (int i = 0; i < 7; ++i) {
    advance(10 * kSec);
    sendFrom(conn, proto::Heartbeat{0, 0, 0, {}});
    svc_->tick();
  }
  EXPECT_TRUE(svc_->floods(false)->empty());
  ASSERT_EQ(svc_->floods(true)->size(), 1u);
  auto reader = SqliteStore::open(dbPath());
  EXPECT_TRUE((*reader)->listFloods(false)->empty());
  EXPECT_EQ((*reader)->listFloods(true)->size(), 1u);
}

TEST_F(ServiceLinkTest, MetricsCountLinksReportLatencyAndFanOuts) {
  auto conn = connect(enrollAgent("web-1"));
  advance(11 * kSec);
  svc_->tick();
  const auto ping = std::get<proto::Ping>(conn->take().back());
  // The agent's clock reads 100 s when the console's reads ping.time_ns (RTT 0).
  sendFrom(conn, proto::Pong{ping.nonce, ping.time_ns, 100 * kSec});
  advance(20'000'000);  // 20 ms later the report arrives, about a detection 20 ms old
  sendFrom(conn, proto::Report{1, 0, {detection("192.0.2.7", 100 * kSec)}});
  ASSERT_OK(svc_->block(operator_, pfx("192.0.2.9"), std::nullopt, ""));
  const std::string m = svc_->metricsText();
  EXPECT_NE(m.find("syn_guard_console_agents_connected 1\n"), std::string::npos) << m;
  EXPECT_NE(m.find("syn_guard_console_reports_stored_total 1\n"), std::string::npos);
  EXPECT_NE(m.find("syn_guard_console_report_latency_seconds_bucket{le=\"0.01\"} 0\n"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("syn_guard_console_report_latency_seconds_bucket{le=\"0.025\"} 1\n"),
            std::string::npos);
  EXPECT_NE(m.find("syn_guard_console_fanout_seconds_count 1\n"), std::string::npos);
  EXPECT_NE(m.find("syn_guard_console_fanout_sends_total 1\n"), std::string::npos);
}

// The fan-out's end to end time is the console's own: from the change to
// the last link's ack of what it was sent (a link that closes no longer
// counts), so a benchmark need not poll the API for it.
TEST_F(ServiceLinkTest, MetricsTimeAFanOutToItsLastAck) {
  auto a = connect(enrollAgent("web-1"));
  auto b = connect(enrollAgent("web-2"));
  auto c = connect(enrollAgent("web-3"));
  for (auto* conn : {&a, &b, &c}) {
    sendFrom(*conn, proto::Ack{std::get<proto::Snapshot>((*conn)->take().back()).version});
  }
  auto v = svc_->block(operator_, pfx("192.0.2.9"), std::nullopt, "");
  ASSERT_OK(v);
  auto acked = [&] {
    const std::string m = svc_->metricsText();
    const std::string key = "\nsyn_guard_console_fanout_last_acked_version ";
    return std::stoull(m.substr(m.find(key) + key.size()));
  };
  sendFrom(a, proto::Ack{*v});
  sendFrom(b, proto::Ack{*v - 1});  // an older version: still waited for
  EXPECT_EQ(acked(), 0u);
  sendFrom(b, proto::Nack{*v, {{"block_add", "192.0.2.9", "source on allowlist"}}});
  EXPECT_EQ(acked(), 0u);
  svc_->agentLink()->onClose(c, "gone");
  EXPECT_EQ(acked(), *v);
  EXPECT_NE(svc_->metricsText().find("syn_guard_console_fanout_acked_seconds_count 1\n"),
            std::string::npos);
}

TEST_F(ServiceLinkTest, MetricsShowTheLinksSendQueues) {
  auto a = connect(enrollAgent("web-1"));
  auto b = connect(enrollAgent("web-2"));
  a->pending = 3;
  b->pending = 5;
  const std::string m = svc_->metricsText();
  EXPECT_NE(m.find("syn_guard_console_agent_send_queue_max 5\n"), std::string::npos) << m;
  EXPECT_NE(m.find("syn_guard_console_agent_send_queue_messages 8\n"), std::string::npos) << m;
}

// Review s16 L1: every close the console starts names why. An agent reads
// 1000 with no reason before its welcome as an older console refusing its
// hello, and steps its protocol down (port floods held back at version 1).
// Before the fix, dropLink() closed with (1000, "") and the fake's close()
// looked the same.
TEST_F(ServiceLinkTest, ALinkReplacedBeforeItsWelcomeIsClosedWithAReason) {
  auto ep = enrollAgent("web-1");
  auto first = std::make_shared<test::FakeConnection>(
      41, net::PeerInfo{"127.0.0.1", ep.name, ep.cert_sha256});
  svc_->agentLink()->onOpen(first);  // no hello yet: no welcome
  auto second = connect(ep);
  ASSERT_TRUE(first->closed());
  EXPECT_EQ(
      first->closeFrame(),
      std::make_pair(uint16_t{1000}, std::string("replaced by a newer link of this endpoint")));
}

TEST_F(ServiceLinkTest, EveryCloseTheConsoleStartsSaysWhy) {
  auto ep = enrollAgent("web-1");
  auto expectWhy = [](test::FakeConnection& c, uint16_t code, const std::string& reason) {
    ASSERT_TRUE(c.closed());
    EXPECT_EQ(c.closeFrame().first, code);
    EXPECT_EQ(c.closeFrame().second.rfind(reason, 0), 0u) << c.closeFrame().second;
  };
  // A message the session refuses (a report before the hello).
  auto bare = std::make_shared<test::FakeConnection>(
      42, net::PeerInfo{"127.0.0.1", ep.name, ep.cert_sha256});
  svc_->agentLink()->onOpen(bare);
  sendFrom(bare, proto::Report{1, 0, {}});
  expectWhy(*bare, 1002, "protocol error: ");
  // Silent for too long: reaped.
  auto silent = connect(ep);
  advance(31 * kSec);
  svc_->tick();
  expectWhy(*silent, 1000, "no message from the agent in time");
  // A bad message: its error in the reason, as printable ASCII (a close
  // reason must be UTF-8; the error may quote the agent's bytes).
  auto bad = connect(ep);
  svc_->agentLink()->onText(bad, "{\"v\":1,\"type\":\"h\xc3\xa9llo\"}");
  expectWhy(*bad, 1002, "bad message: ");
  for (char c : bad->closeFrame().second) {
    EXPECT_TRUE(c >= 0x20 && c <= 0x7e) << bad->closeFrame().second;
  }
  // Revoked.
  auto revoked = connect(ep);
  ASSERT_OK(svc_->revokeEndpoint(admin_, "web-1"));
  expectWhy(*revoked, 1008, "endpoint revoked");
}

}  // namespace
}  // namespace sg::console
