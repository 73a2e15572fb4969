#include "win/link_runner.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "proto/codec.h"
#include "win/fake_ws.h"

namespace sg::win {
namespace {

using test::FakeWsConnection;
using test::FakeWsConnector;

std::string console(const proto::ConsoleMessage& m) { return proto::encode(m); }

proto::AgentMessage parsed(const std::string& text) {
  auto m = proto::parseAgentMessage(text);
  EXPECT_TRUE(m.ok()) << text;
  return m.ok() ? *m : proto::AgentMessage{};
}

proto::Event blockEvent(const char* src) {
  proto::Event e;
  e.kind = proto::EventKind::kBlockAdded;
  e.source = *parsePrefix(src);
  e.count = 300;
  return e;
}

class LinkRunnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    agent::LinkCoreOptions o;
    o.name = "win-1";
    o.agent_version = "0.1.0";
    o.platform = "windows";
    auto core = agent::ConsoleLinkCore::open(o, clock_);
    ASSERT_TRUE(core.ok());
    core_ = std::move(core).value();
  }
  LinkRunnerOptions fast() {
    LinkRunnerOptions o;
    o.backoff_min = std::chrono::milliseconds(1);
    o.backoff_max = std::chrono::milliseconds(4);
    return o;
  }
  FakeClock clock_;
  std::unique_ptr<agent::ConsoleLinkCore> core_;
  FakeWsConnector connector_;
};

TEST_F(LinkRunnerTest, HelloSaysWindowsAndReportsFlowAfterTheWelcome) {
  auto conn = std::make_shared<FakeWsConnection>();
  connector_.add(conn);
  LinkRunner runner(core_.get(), &connector_, fast());
  core_->report(blockEvent("203.0.113.9"));  // queued: no link yet
  runner.start();
  auto sent = conn->waitSent(1);
  ASSERT_GE(sent.size(), 1u);
  const auto hello = std::get<proto::Hello>(parsed(sent[0]));
  EXPECT_EQ(hello.platform, "windows");
  EXPECT_EQ(hello.name, "win-1");
  EXPECT_EQ(sent.size(), 1u) << "no report before the welcome";

  conn->push(console(proto::Welcome{1, 0}));
  sent = conn->waitSent(2);
  ASSERT_EQ(sent.size(), 2u);
  const auto report = std::get<proto::Report>(parsed(sent[1]));
  ASSERT_EQ(report.events.size(), 1u);
  EXPECT_EQ(report.events[0].source.str(), "203.0.113.9/32");

  conn->push(console(proto::ReportAck{report.seq}));
  conn->push(console(proto::Ping{7, 100}));
  sent = conn->waitSent(3);
  ASSERT_EQ(sent.size(), 3u);
  EXPECT_EQ(std::get<proto::Pong>(parsed(sent[2])).nonce, 7u);
  EXPECT_EQ(core_->queueDepth(), 0u);
  EXPECT_TRUE(core_->connected());
}

TEST_F(LinkRunnerTest, RetriesAfterAFailedConnectAndSaysWhy) {
  connector_.addFailure("TLS: the console's certificate is not signed by the pinned CA");
  auto conn = std::make_shared<FakeWsConnection>();
  connector_.add(conn);
  std::vector<std::string> downs;
  std::mutex mu;
  auto o = fast();
  o.on_state = [&](bool up, const std::string& why) {
    std::lock_guard<std::mutex> lock(mu);
    if (!up) downs.push_back(why);
  };
  LinkRunner runner(core_.get(), &connector_, o);
  runner.start();
  ASSERT_GE(conn->waitSent(1).size(), 1u);
  EXPECT_EQ(connector_.attempts(), 2);
  std::lock_guard<std::mutex> lock(mu);
  ASSERT_EQ(downs.size(), 1u);
  EXPECT_NE(downs[0].find("pinned CA"), std::string::npos);
}

TEST_F(LinkRunnerTest, ABadFrameDropsTheLinkWithItsReasonAndTheReportIsSentAgain) {
  auto first = std::make_shared<FakeWsConnection>();
  auto second = std::make_shared<FakeWsConnection>();
  connector_.add(first);
  connector_.add(second);
  LinkRunner runner(core_.get(), &connector_, fast());
  runner.start();
  ASSERT_EQ(first->waitSent(1).size(), 1u);
  first->push(console(proto::Welcome{1, 0}));
  core_->report(blockEvent("203.0.113.9"));
  ASSERT_EQ(first->waitSent(2).size(), 2u);
  // The transport refuses a binary frame: the link drops, the report in
  // flight (not acknowledged) goes again after the next welcome.
  first->push(Error(Errc::kInvalidArgument, "the console sent a binary frame"));
  ASSERT_EQ(second->waitSent(1).size(), 1u);
  EXPECT_TRUE(first->closed());
  EXPECT_NE(core_->lastError().find("binary frame"), std::string::npos);
  second->push(console(proto::Welcome{2, 0}));
  auto sent = second->waitSent(2);
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(std::get<proto::Report>(parsed(sent[1])).events.size(), 1u);
}

// The console's close frame reaches the link core: a console that does not
// speak the hello's version (4001 with its parser's reason, or an older
// console's 1000 with no reason, before the welcome) gets one version less at
// the next link; a link that merely broke (no close frame) is no refusal:
// the core does not step down for it (it offers the newest again).
TEST_F(LinkRunnerTest, AConsoleThatRefusesTheVersionGetsAnOlderHelloNextTime) {
  const uint32_t newest = proto::kProtocolVersion;
  auto refused = std::make_shared<FakeWsConnection>();
  auto refused_old = std::make_shared<FakeWsConnection>();
  auto broken = std::make_shared<FakeWsConnection>();
  auto last = std::make_shared<FakeWsConnection>();
  for (const auto& c : {refused, refused_old, broken, last}) connector_.add(c);
  LinkRunner runner(core_.get(), &connector_, fast());
  runner.start();

  auto sent = refused->waitSent(1);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(std::get<proto::Hello>(parsed(sent[0])).protocol, newest);
  refused->pushClose(proto::kCloseUnsupportedVersion,
                     "unsupported protocol version " + std::to_string(newest));

  sent = refused_old->waitSent(1);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(std::get<proto::Hello>(parsed(sent[0])).protocol, newest - 1);
  EXPECT_EQ(core_->counters().version_fallbacks, 1u);
  refused_old->pushClose(1000, "");  // a console older than code 4001

  sent = broken->waitSent(1);
  ASSERT_EQ(sent.size(), 1u);
  const uint32_t third = std::get<proto::Hello>(parsed(sent[0])).protocol;
  EXPECT_EQ(third, std::max(newest - 2, proto::kMinProtocolVersion));
  broken->push(
      Error(Errc::kUnavailable, "WinHttpWebSocketReceive: ERROR_WINHTTP_CONNECTION_ERROR"));

  sent = last->waitSent(1);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(std::get<proto::Hello>(parsed(sent[0])).protocol, newest);
  EXPECT_EQ(core_->counters().version_fallbacks, third == newest - 2 ? 2u : 1u);
}

TEST_F(LinkRunnerTest, AMessageThatDoesNotParseIsCountedAndTheLinkStays) {
  auto conn = std::make_shared<FakeWsConnection>();
  connector_.add(conn);
  LinkRunner runner(core_.get(), &connector_, fast());
  runner.start();
  ASSERT_EQ(conn->waitSent(1).size(), 1u);
  conn->push(std::string("{\"type\":\"snapshot\",\"version\":\"x\"}"));
  conn->push(console(proto::Ping{9, 1}));
  auto sent = conn->waitSent(2);
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(core_->counters().rejected, 1u);
  EXPECT_NE(core_->lastError().find("console message refused"), std::string::npos);
  EXPECT_FALSE(conn->closed());
}

TEST_F(LinkRunnerTest, SendOnlyQueuesSoASlowConsoleNeverBlocksTheCaller) {
  auto conn = std::make_shared<FakeWsConnection>();
  connector_.add(conn);
  auto o = fast();
  o.max_outbox = 3;
  LinkRunner runner(core_.get(), &connector_, o);
  runner.start();
  ASSERT_EQ(conn->waitSent(1).size(), 1u);  // the hello
  conn->holdSends(true);
  ASSERT_TRUE(runner.send("a"));
  ASSERT_TRUE(conn->waitSenderHeld());  // the writer waits in the console's sendText with "a"
  EXPECT_TRUE(runner.send("b"));
  EXPECT_TRUE(runner.send("c"));
  EXPECT_TRUE(runner.send("d"));
  EXPECT_FALSE(runner.send("e")) << "past max_outbox: refused (the core retries later)";
  conn->holdSends(false);
  auto sent = conn->waitSent(5);
  ASSERT_EQ(sent.size(), 5u);
  EXPECT_EQ(sent[1] + sent[2] + sent[3] + sent[4], "abcd");
}

TEST_F(LinkRunnerTest, StopClosesTheLinkAndJoins) {
  auto conn = std::make_shared<FakeWsConnection>();
  connector_.add(conn);
  LinkRunner runner(core_.get(), &connector_, fast());
  runner.start();
  ASSERT_EQ(conn->waitSent(1).size(), 1u);
  runner.stop();
  EXPECT_TRUE(conn->closed());
  EXPECT_FALSE(core_->connected());
}

}  // namespace
}  // namespace sg::win
