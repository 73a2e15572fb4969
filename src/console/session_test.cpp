#include "console/session.h"

#include <gtest/gtest.h>

#include "test_helpers.h"

namespace sg::console {
namespace {

constexpr uint64_t kSec = 1'000'000'000;

Prefix pfx(const char* text) { return *parsePrefix(text); }

proto::Hello hello(const char* name, uint64_t applied = 0, uint64_t acked_seq = 0) {
  return proto::Hello{name, "0.1.0", "linux", applied, acked_seq};
}

proto::Report reportOf(uint64_t seq, uint64_t first_ns, uint64_t detected_ns) {
  proto::Event e;
  e.source = pfx("192.0.2.7");
  e.dst_port = 80;
  e.count = 300;
  e.window_ms = 5000;
  e.first_attempt_ns = first_ns;
  e.detected_ns = detected_ns;
  return proto::Report{seq, 0, {e}};
}

class SessionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK(desired_.upsertEndpoint("web-1", {{"org", "acme"}}));
    ASSERT_OK(desired_.upsertEndpoint("web-2", {{"org", "acme"}}));
  }
  std::vector<proto::ConsoleMessage> send(Session& s, const proto::AgentMessage& m) {
    auto out = s.onMessage(m);
    EXPECT_TRUE(out.ok()) << (out.ok() ? "" : out.error().message());
    return out.ok() ? *out : std::vector<proto::ConsoleMessage>{};
  }

  FakeClock clock_{1000 * kSec};
  Correlator correlator_{CorrelatorOptions{}, clock_};
  DesiredState desired_{DesiredStateOptions{}, clock_};
};

TEST_F(SessionTest, HelloGetsWelcomeThenSnapshotAndMarksTheEndpointConnected) {
  Session s(correlator_, desired_, clock_, "web-1");
  auto out = send(s, hello("web-1"));
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(std::get<proto::Welcome>(out[0]).console_time_ns, 1000 * kSec);
  EXPECT_EQ(std::get<proto::Snapshot>(out[1]).version, 1u);
  EXPECT_TRUE(desired_.endpoint("web-1")->connected);
  send(s, proto::Ack{1});
  EXPECT_EQ(desired_.endpoint("web-1")->acked_version, 1u);
}

TEST_F(SessionTest, ResumeUpToDateGetsOnlyWelcomeWithTheStoredSeq) {
  correlator_.restoreSeq("web-1", 41);
  Session s(correlator_, desired_, clock_, "web-1");
  auto out = send(s, hello("web-1", /*applied=*/1, /*acked_seq=*/40));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(std::get<proto::Welcome>(out[0]).last_report_seq, 41u);
  // It sends no ack (nothing was sent to it): its hello says what it runs.
  EXPECT_EQ(desired_.endpoint("web-1")->acked_version, 1u);
}

TEST_F(SessionTest, AHelloClaimingAVersionNeverGivenIsNoAck) {
  Session s(correlator_, desired_, clock_, "web-1");
  auto out = send(s, hello("web-1", /*applied=*/99));
  ASSERT_EQ(out.size(), 2u);  // welcome + snapshot
  EXPECT_EQ(desired_.endpoint("web-1")->acked_version, 0u);
}

TEST_F(SessionTest, RefusesAnythingBeforeHelloAndAnotherAgentsName) {
  Session s(correlator_, desired_, clock_, "web-1");
  EXPECT_ERROR(s.onMessage(proto::Ack{1}), Errc::kInvalidArgument);
  EXPECT_ERROR(s.onMessage(hello("web-2")), Errc::kPermissionDenied);
  EXPECT_FALSE(desired_.endpoint("web-2")->connected);
  ASSERT_OK(s.onMessage(hello("web-1")));
  EXPECT_ERROR(s.onMessage(hello("web-1")), Errc::kInvalidArgument);
  EXPECT_ERROR(s.onMessage(proto::Ack{99}), Errc::kInvalidArgument);  // never sent
}

TEST_F(SessionTest, ReportsAreAckedOnceStoredAndDuplicatesAckedAgain) {
  Session s(correlator_, desired_, clock_, "web-1");
  send(s, hello("web-1"));
  auto out = send(s, reportOf(1, 990 * kSec, 999 * kSec));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(std::get<proto::ReportAck>(out[0]).seq, 1u);
  EXPECT_FALSE(s.lastReport().duplicate);
  EXPECT_EQ(s.lastReport().changed.size(), 1u);        // what the link stores before the ack
  out = send(s, reportOf(1, 990 * kSec, 999 * kSec));  // resent after a lost ack
  EXPECT_EQ(std::get<proto::ReportAck>(out[0]).seq, 1u);
  EXPECT_TRUE(s.lastReport().duplicate);
  EXPECT_EQ(correlator_.counters().reports, 1u);
  EXPECT_EQ(correlator_.counters().duplicate_reports, 1u);
}

TEST_F(SessionTest, PongSetsTheOffsetThatConvertsReportTimes) {
  Session s(correlator_, desired_, clock_, "web-1");
  send(s, hello("web-1"));
  // The agent's clock is 300 s behind the console's; 2 ms RTT.
  proto::Ping p = s.ping();
  clock_.advance(2'000'000);
  send(s, proto::Pong{p.nonce, p.time_ns, p.time_ns + 1'000'000 - 300 * kSec});
  EXPECT_EQ(*s.offset().offsetNs(), -300 * static_cast<int64_t>(kSec));
  EXPECT_EQ(*s.offset().rttNs(), 2'000'000u);
  send(s, reportOf(1, 690 * kSec, 699 * kSec));
  EXPECT_EQ(correlator_.activeFor(pfx("192.0.2.7"))->started_ns, 990 * kSec);
  // A pong that answers no ping of ours changes nothing.
  send(s, proto::Pong{p.nonce, p.time_ns, 0});
  EXPECT_EQ(*s.offset().offsetNs(), -300 * static_cast<int64_t>(kSec));
}

TEST_F(SessionTest, ChangesArePushedAsDeltasFromWhatWasSent) {
  Session s(correlator_, desired_, clock_, "web-1");
  send(s, hello("web-1"));
  EXPECT_FALSE(s.pushIfBehind()->has_value());
  auto v = *desired_.addBlock(pfx("192.0.2.7"), std::nullopt, "alice", "");
  auto pushed = s.pushIfBehind();
  ASSERT_TRUE(pushed.ok() && pushed->has_value());
  const auto& d = std::get<proto::Delta>(**pushed);
  EXPECT_EQ(d.from_version, 1u);
  EXPECT_EQ(d.version, v);
  EXPECT_FALSE(s.pushIfBehind()->has_value());  // sent once, even before the ack
  send(s, proto::Nack{v, {{"block_add", "192.0.2.7", "source on allowlist"}}});
  EXPECT_EQ(desired_.blockStatus(pfx("192.0.2.7")).rejected, 1u);
  // Isolating another endpoint pushes nothing here.
  ASSERT_OK(desired_.isolate("web-2", {}));
  EXPECT_FALSE(s.pushIfBehind()->has_value());
}

TEST_F(SessionTest, ClosingTheLinkMarksTheEndpointDisconnected) {
  {
    Session s(correlator_, desired_, clock_, "web-1");
    send(s, hello("web-1"));
    ASSERT_OK(desired_.addBlock(pfx("192.0.2.7"), std::nullopt, "alice", ""));
    EXPECT_EQ(desired_.blockStatus(pfx("192.0.2.7")).pending, 1u);
  }
  EXPECT_FALSE(desired_.endpoint("web-1")->connected);
  EXPECT_EQ(desired_.blockStatus(pfx("192.0.2.7")).pending, 0u);
}

TEST_F(SessionTest, AgentPingsGetPongsAndHeartbeatsAreKept) {
  Session s(correlator_, desired_, clock_, "web-1");
  send(s, hello("web-1"));
  auto out = send(s, proto::Ping{7, 123});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(std::get<proto::Pong>(out[0]), (proto::Pong{7, 123, 1000 * kSec}));
  send(s, proto::Heartbeat{500 * kSec, 1, 3, {{"syn_seen", 10}}});
  EXPECT_EQ(s.lastHeartbeat()->active_blocks, 3u);
  EXPECT_EQ(*s.offset().offsetNs(), -500 * static_cast<int64_t>(kSec));  // one-way estimate
}

}  // namespace
}  // namespace sg::console
