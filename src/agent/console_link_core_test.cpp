#include "agent/console_link_core.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

#include "proto/codec.h"
#include "scratch_dir.h"
#include "test_helpers.h"

namespace sg::agent {
namespace {

class FakeTransport final : public LinkTransport {
 public:
  bool up = true;
  std::vector<proto::AgentMessage> sent;
  bool send(std::string text) override {
    if (!up) return false;
    auto m = proto::parseAgentMessage(text);
    EXPECT_TRUE(m.ok()) << text;
    if (m.ok()) sent.push_back(*m);
    return true;
  }
  template <typename T>
  std::vector<T> of() const {
    std::vector<T> out;
    for (const auto& m : sent) {
      if (const auto* t = std::get_if<T>(&m)) out.push_back(*t);
    }
    return out;
  }
};

proto::Event ev(const char* src) {
  proto::Event e;
  e.kind = proto::EventKind::kBlockAdded;
  e.source = *parsePrefix(src);
  e.count = 300;
  return e;
}

std::string console(const proto::ConsoleMessage& m) { return proto::encode(m); }

class ConsoleLinkCoreTest : public ::testing::Test {
 protected:
  std::unique_ptr<ConsoleLinkCore> open(size_t max_events = 100) {
    LinkCoreOptions o;
    o.name = "web-1";
    o.agent_version = "0.1.0";
    o.state_dir = dir_;
    o.queue.max_events = max_events;
    auto core = ConsoleLinkCore::open(o, clock_);
    EXPECT_OK(core);
    (*core)->setTransport(&transport_);
    return std::move(*core);
  }

  sg::test::ScratchDir scratch_{"sg-link-core"};
  std::string dir_ = scratch_.path().string();
  FakeClock clock_{5'000'000'000};
  FakeTransport transport_;
};

TEST_F(ConsoleLinkCoreTest, HelloSaysTheNameAppliedVersionAndAckedSeq) {
  auto core = open();
  core->setAppliedVersion(7);
  core->onConnected();
  auto hellos = transport_.of<proto::Hello>();
  ASSERT_EQ(hellos.size(), 1u);
  EXPECT_EQ(hellos[0].name, "web-1");
  EXPECT_EQ(hellos[0].platform, "linux");
  EXPECT_EQ(hellos[0].applied_version, 7u);
  EXPECT_EQ(hellos[0].acked_report_seq, 0u);
}

TEST_F(ConsoleLinkCoreTest, ReportsWaitForTheWelcomeAndCutOffOnesGoOnReconnect) {
  auto core = open();
  core->report(ev("192.0.2.1"));  // no link yet: kept
  core->onConnected();
  EXPECT_TRUE(transport_.of<proto::Report>().empty());  // hello first, then the welcome
  core->onText(console(proto::Welcome{1, 0}));
  auto reports = transport_.of<proto::Report>();
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_EQ(reports[0].seq, 1u);
  // The link drops before the ack; more detections meanwhile.
  core->onDisconnected("connection reset");
  transport_.up = false;
  core->report(ev("192.0.2.2"));
  EXPECT_EQ(core->queueDepth(), 2u);
  transport_.up = true;
  transport_.sent.clear();
  core->onConnected();
  core->onText(console(proto::Welcome{2, 0}));  // report 1 never arrived
  reports = transport_.of<proto::Report>();
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_EQ(reports[0].seq, 1u);
  core->onText(console(proto::ReportAck{1}));
  reports = transport_.of<proto::Report>();
  ASSERT_EQ(reports.size(), 2u);
  EXPECT_EQ(reports[1].seq, 2u);
  EXPECT_EQ(reports[1].events[0].source.str(), "192.0.2.2/32");
  core->onText(console(proto::ReportAck{2}));
  EXPECT_EQ(core->queueDepth(), 0u);
}

TEST_F(ConsoleLinkCoreTest, SeqsKeepIncreasingAcrossRestarts) {
  uint64_t last = 0;
  {
    auto core = open();
    core->onConnected();
    core->onText(console(proto::Welcome{1, 0}));
    core->report(ev("192.0.2.1"));
    core->onText(console(proto::ReportAck{1}));
    last = transport_.of<proto::Report>().back().seq;
    EXPECT_EQ(last, 1u);
  }
  transport_.sent.clear();
  auto core = open();
  core->onConnected();
  auto hellos = transport_.of<proto::Hello>();
  ASSERT_EQ(hellos.size(), 1u);
  EXPECT_EQ(hellos[0].acked_report_seq, 1u);
  core->onText(console(proto::Welcome{1, 1}));
  core->report(ev("192.0.2.9"));
  auto reports = transport_.of<proto::Report>();
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_GT(reports[0].seq, last);  // never a seq the console has seen
}

// An agent whose state directory was lost starts at seq 1, below what the
// console stored for it: without moving on, each report would be acked as a
// duplicate and dropped.
TEST_F(ConsoleLinkCoreTest, SeqsMovePastTheConsolesAfterALostStateDir) {
  {
    auto core = open();  // an empty state dir: a fresh start
    core->onConnected();
    core->onText(console(proto::Welcome{1, 500}));
    core->report(ev("192.0.2.1"));
    auto reports = transport_.of<proto::Report>();
    ASSERT_EQ(reports.size(), 1u);
    EXPECT_EQ(reports[0].seq, 501u);
    EXPECT_EQ(core->counters().seq_jumps, 1u);
    core->onText(console(proto::ReportAck{501}));
    // Reconnected to a console that says less: no jump back.
    core->onDisconnected("gone");
    core->onConnected();
    core->onText(console(proto::Welcome{2, 3}));
    core->report(ev("192.0.2.2"));
    EXPECT_EQ(transport_.of<proto::Report>().back().seq, 502u);
    EXPECT_EQ(core->counters().seq_jumps, 1u);
  }
  transport_.sent.clear();
  auto core = open();  // restarted: the jump was saved
  core->onConnected();
  core->onText(console(proto::Welcome{1, 0}));
  core->report(ev("192.0.2.3"));
  EXPECT_GT(transport_.of<proto::Report>().back().seq, 502u);
}

TEST_F(ConsoleLinkCoreTest, PingIsAnsweredWithTheAgentsClock) {
  auto core = open();
  core->onConnected();
  core->onText(console(proto::Ping{9, 123}));
  auto pongs = transport_.of<proto::Pong>();
  ASSERT_EQ(pongs.size(), 1u);
  EXPECT_EQ(pongs[0].nonce, 9u);
  EXPECT_EQ(pongs[0].time_ns, 123u);
  EXPECT_EQ(pongs[0].peer_time_ns, 5'000'000'000u);
}

TEST_F(ConsoleLinkCoreTest, DesiredStateWakesTheLoopAndWorkOfADroppedLinkIsDiscarded) {
  auto core = open();
  core->onConnected();
  core->onText(console(proto::Welcome{1, 0}));
  proto::Snapshot s;
  s.version = 3;
  core->onText(console(s));
  uint64_t n = 0;
  ASSERT_EQ(::read(core->wakeFd(), &n, sizeof n), static_cast<ssize_t>(sizeof n));
  core->heartbeatDue();
  auto work = core->takeWork();
  ASSERT_EQ(work.size(), 2u);
  EXPECT_EQ(std::get<proto::Snapshot>(work[0]).version, 3u);
  EXPECT_TRUE(std::holds_alternative<HeartbeatDue>(work[1]));
  // A snapshot from a link that then dropped: the next hello asks again.
  core->onText(console(s));
  core->onDisconnected("gone");
  core->onConnected();
  EXPECT_TRUE(core->takeWork().empty());
  // Garbage is counted, not applied.
  core->onText("{\"v\":1,\"type\":\"snapshot\"}");
  EXPECT_EQ(core->counters().rejected, 1u);
  EXPECT_TRUE(core->takeWork().empty());
}

proto::PortFloodReport portFlood() {
  proto::PortFloodReport p;
  p.dst = *parsePrefix("192.0.2.10");
  p.dst_port = 443;
  p.reason = "rate";
  p.rate = p.peak_rate = 20000;
  p.response = "syncookies";
  p.first_ns = 1;
  p.at_ns = 2;
  return p;
}

// An older console refuses a hello of a version it does not speak with its
// close frame before the welcome: each next link offers one version less. A version-2 console gets
// port floods and events without their rate; a version-1 console, after one
// more refusal, the detections while the port floods wait for a later link; the link after
// a welcomed one tries the newest again.
TEST_F(ConsoleLinkCoreTest, StepsDownAVersionPerRefusalForAnOlderConsoleAndTriesAgainLater) {
  auto core = open();
  core->onConnected();
  ASSERT_EQ(transport_.of<proto::Hello>().back().protocol, 3u);
  core->onConsoleClosed(proto::kCloseUnsupportedVersion, "unsupported protocol version 3");
  core->onDisconnected("closed");  // a version-2 console refuses it before any welcome
  EXPECT_EQ(core->counters().version_fallbacks, 1u);
  EXPECT_EQ(core->protocolVersion(), 2u);
  proto::Event rated = ev("192.0.2.8");
  rated.rate = 5000;
  core->report(portFlood());
  core->report(rated);
  core->onConnected();
  EXPECT_EQ(transport_.of<proto::Hello>().back().protocol, 2u);
  core->onText(proto::encode(proto::ConsoleMessage{proto::Welcome{1, 0}}, 2));
  // Sent as version 2 (whose parser refuses a rate field): without it.
  ASSERT_EQ(transport_.of<proto::Report>().size(), 1u);
  const proto::Report r2 = transport_.of<proto::Report>()[0];
  EXPECT_EQ(r2.port_floods.size(), 1u);
  ASSERT_EQ(r2.events.size(), 1u);
  EXPECT_EQ(r2.events[0].rate, 0u);
  core->onDisconnected("network");  // a welcomed link ends: the newest again
  EXPECT_EQ(core->protocolVersion(), 3u);

  // A version-1 console: two refusals, then version 1.
  core->onConnected();
  core->onConsoleClosed(1000, "");  // an older console: a normal close, no reason
  core->onDisconnected("closed");
  core->onConnected();
  EXPECT_EQ(transport_.of<proto::Hello>().back().protocol, 2u);
  core->onConsoleClosed(1000, "");
  core->onDisconnected("closed");
  EXPECT_EQ(core->counters().version_fallbacks, 3u);
  EXPECT_EQ(core->protocolVersion(), 1u);
  core->report(portFlood());
  core->report(ev("192.0.2.7"));
  core->onConnected();
  EXPECT_EQ(transport_.of<proto::Hello>().back().protocol, 1u);
  core->onText(proto::encode(proto::ConsoleMessage{proto::Welcome{1, 1}}, 1));
  auto reports = transport_.of<proto::Report>();
  ASSERT_FALSE(reports.empty());
  EXPECT_EQ(reports.back().events.size(), 1u);
  EXPECT_TRUE(reports.back().port_floods.empty());
  EXPECT_EQ(core->portFloodsWaiting(), 1u);  // held for a version-2 link
  core->onDisconnected("network");
  EXPECT_EQ(core->protocolVersion(), 3u);
  core->onConnected();
  EXPECT_EQ(transport_.of<proto::Hello>().back().protocol, 3u);
}

// A console that speaks only version 1 refuses versions 3 and 2 with its
// close frame before the welcome: kCloseUnsupportedVersion from a console
// that has it, 1000 with no reason from an older one. The link after the
// second refusal offers version 1 and carries the detections; the port
// floods wait for a version-2-or-later link (the one after a welcome tries
// the newest again).
TEST_F(ConsoleLinkCoreTest, FallsBackToVersion1OnARefusalKeepsPortFloodsAndTriesAgainLater) {
  for (uint16_t code : {proto::kCloseUnsupportedVersion, uint16_t{1000}}) {
    SCOPED_TRACE(code);
    transport_.sent.clear();
    auto core = open();
    core->onConnected();
    ASSERT_EQ(transport_.of<proto::Hello>().back().protocol, 3u);
    core->onConsoleClosed(code, code == 1000 ? "" : "unsupported protocol version 3");
    core->onDisconnected("closed by the console");
    core->onConnected();
    ASSERT_EQ(transport_.of<proto::Hello>().back().protocol, 2u);
    core->onConsoleClosed(code, code == 1000 ? "" : "unsupported protocol version 2");
    core->onDisconnected("closed by the console");
    EXPECT_EQ(core->counters().version_fallbacks, 2u);
    EXPECT_EQ(core->protocolVersion(), 1u);
    core->report(portFlood());
    core->report(ev("192.0.2.7"));
    core->onConnected();
    EXPECT_EQ(transport_.of<proto::Hello>().back().protocol, 1u);
    core->onText(proto::encode(proto::ConsoleMessage{proto::Welcome{1, 0}}, 1));
    auto reports = transport_.of<proto::Report>();
    ASSERT_EQ(reports.size(), 1u);
    EXPECT_EQ(reports[0].events.size(), 1u);
    EXPECT_TRUE(reports[0].port_floods.empty());
    EXPECT_EQ(core->portFloodsWaiting(), 1u);
    core->onText(proto::encode(proto::ConsoleMessage{proto::ReportAck{reports[0].seq}}, 1));
    core->onDisconnected("network");  // a welcomed link ends: the newest again
    EXPECT_EQ(core->protocolVersion(), 3u);
    core->onConnected();
    EXPECT_EQ(transport_.of<proto::Hello>().back().protocol, 3u);
    core->onText(console(proto::Welcome{1, reports[0].seq}));
    reports = transport_.of<proto::Report>();
    ASSERT_EQ(reports.size(), 2u);
    ASSERT_EQ(reports[1].port_floods.size(), 1u) << "the held port flood went to version 3";
    EXPECT_EQ(reports[1].port_floods[0], portFlood());
    EXPECT_EQ(core->portFloodsDropped(), 0u);
  }
}

// A close frame after the welcome, or one with another code before it, is
// no refusal of the version.
TEST_F(ConsoleLinkCoreTest, OnlyARefusalBeforeTheWelcomeFallsBack) {
  auto core = open();
  core->onConnected();
  core->onConsoleClosed(1001, "going away");  // a console shutting down
  core->onDisconnected("closed by the console");
  EXPECT_EQ(core->protocolVersion(), 3u);
  core->onConnected();
  core->onText(console(proto::Welcome{1, 0}));
  core->onConsoleClosed(1000, "");  // revoked, replaced: after the welcome
  core->onDisconnected("closed by the console");
  EXPECT_EQ(core->protocolVersion(), 3u);
  EXPECT_EQ(core->counters().version_fallbacks, 0u);
}

// Review finding H2: a link that broke between the hello and the welcome
// (network, console restart, a reset by someone on the path) made the next
// link offer version 1, and that link discarded every queued port flood.
TEST_F(ConsoleLinkCoreTest, APortFloodSurvivesALinkLostBeforeTheWelcome) {
  auto core = open();
  core->report(portFlood());                          // queued while cut off
  core->onConnected();                                // hello v3
  core->onDisconnected("network: connection reset");  // no refusal: a drop
  EXPECT_EQ(core->counters().version_fallbacks, 0u);
  core->onConnected();
  EXPECT_EQ(transport_.of<proto::Hello>().back().protocol, 3u) << "fell back on a plain drop";
  core->onText(console(proto::Welcome{1, 0}));
  bool sent = false;
  for (const auto& r : transport_.of<proto::Report>()) sent = sent || !r.port_floods.empty();
  EXPECT_TRUE(sent) << "the port flood never reached the (version-2) console";
  EXPECT_EQ(core->portFloodsDropped(), 0u);
}

TEST_F(ConsoleLinkCoreTest, PortFloodsQueuedWhileCutOffGoOutAfterTheWelcome) {
  auto core = open();
  core->report(portFlood());
  EXPECT_EQ(core->queueDepth(), 1u);
  core->onConnected();
  core->onText(console(proto::Welcome{1, 0}));
  auto reports = transport_.of<proto::Report>();
  ASSERT_EQ(reports.size(), 1u);
  ASSERT_EQ(reports[0].port_floods.size(), 1u);
  EXPECT_EQ(reports[0].port_floods[0], portFlood());
  EXPECT_EQ(core->protocolVersion(), 3u);
}

}  // namespace
}  // namespace sg::agent
