#include "console/correlator.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "test_helpers.h"

namespace sg::console {
namespace {

using std::chrono::seconds;

constexpr uint64_t kSec = 1'000'000'000;

Prefix src(const char* text) { return *parsePrefix(text); }

proto::Event detection(const char* source, uint16_t port, uint64_t first_ns, uint64_t detected_ns,
                       uint32_t count = 300,
                       proto::EventKind kind = proto::EventKind::kFloodDetected) {
  proto::Event e;
  e.kind = kind;
  e.source = src(source);
  e.dst_port = port;
  e.count = count;
  e.window_ms = 5000;
  e.first_attempt_ns = first_ns;
  e.detected_ns = detected_ns;
  e.block_ms = kind == proto::EventKind::kBlockAdded ? 60000 : 0;
  return e;
}

proto::Report report(uint64_t seq, std::vector<proto::Event> events) {
  return proto::Report{seq, 0, std::move(events)};
}

class CorrelatorTest : public ::testing::Test {
 protected:
  FakeClock clock_{100 * kSec};
  Correlator correlator_{CorrelatorOptions{}, clock_};
};

TEST_F(CorrelatorTest, OneSourceOnThreeEndpointsIsOneHighFlood) {
  correlator_.setFleetSize(4);
  const uint64_t t = 100 * kSec;
  correlator_.onReport("web-1", 0, report(1, {detection("192.0.2.7", 3000, t - kSec, t)}));
  correlator_.onReport("web-2", 0, report(1, {detection("192.0.2.7", 3000, t - kSec, t)}));
  auto out = correlator_.onReport(
      "db-1", 0,
      report(1, {detection("192.0.2.7", 5432, t - kSec, t, 300, proto::EventKind::kBlockAdded)}));
  ASSERT_EQ(correlator_.active().size(), 1u);
  const Flood& f = *correlator_.active()[0];
  EXPECT_EQ(out.changed, std::vector<uint64_t>{f.id});
  EXPECT_EQ(f.endpoints.size(), 3u);
  EXPECT_EQ(f.severity, Severity::kHigh);
  EXPECT_EQ(f.state, FloodState::kBlock);  // db-1 blocks it
  EXPECT_EQ(f.ports(), (std::set<uint16_t>{3000, 5432}));
  EXPECT_EQ(f.endpoints.at("db-1").action, EndpointAction::kBlocked);
  EXPECT_EQ(f.endpoints.at("web-1").action, EndpointAction::kDetected);
  EXPECT_DOUBLE_EQ(f.peak_rate, 60.0);  // 300 attempts in 5 s
}

// A 5,000/s burst crosses 200 in 40 ms: its peak is the rate the agent
// observed, not 200 / 5 s; an older agent's event (no rate) falls back to
// count / window, and the peak is the highest either way.
TEST_F(CorrelatorTest, PeakRateIsTheObservedRateElseCountOverWindow) {
  const uint64_t t = 100 * kSec;
  proto::Event burst = detection("192.0.2.9", 80, t - 40'000'000, t, 200);
  burst.rate = 5000;
  correlator_.onReport("web-1", 0, report(1, {burst}));
  correlator_.onReport("web-2", 0, report(1, {detection("192.0.2.9", 80, t - 5 * kSec, t, 300)}));
  ASSERT_EQ(correlator_.active().size(), 1u);
  const Flood& f = *correlator_.active()[0];
  EXPECT_DOUBLE_EQ(f.endpoints.at("web-1").peak_rate, 5000.0);
  EXPECT_DOUBLE_EQ(f.endpoints.at("web-2").peak_rate, 60.0);  // no rate: 300 / 5 s
  EXPECT_DOUBLE_EQ(f.peak_rate, 5000.0);
  proto::Event slower = burst;
  slower.rate = 1200;
  slower.detected_ns = t + kSec;
  correlator_.onReport("web-1", 0, report(2, {slower}));
  EXPECT_DOUBLE_EQ(correlator_.active()[0]->peak_rate, 5000.0) << "the peak stays the highest";
}

TEST(Severity, RisesWithEndpointsAndTheFleetFraction) {
  CorrelatorOptions o;
  EXPECT_EQ(severityFor(o, 1, 0), Severity::kLow);
  EXPECT_EQ(severityFor(o, 2, 0), Severity::kMedium);
  EXPECT_EQ(severityFor(o, 3, 0), Severity::kHigh);
  EXPECT_EQ(severityFor(o, 9, 0), Severity::kHigh);
  EXPECT_EQ(severityFor(o, 10, 0), Severity::kCritical);
  EXPECT_EQ(severityFor(o, 3, 4), Severity::kHigh);       // a tenth of 4 never undercuts HIGH
  EXPECT_EQ(severityFor(o, 4, 4), Severity::kCritical);   // ... but all 4 of 4 is critical
  EXPECT_EQ(severityFor(o, 5, 50), Severity::kCritical);  // a tenth of 50
  EXPECT_EQ(severityFor(o, 9, 1000), Severity::kHigh);    // 10 is the cap
  o.critical_fleet_divisor = 0;
  EXPECT_EQ(severityFor(o, 5, 50), Severity::kHigh);
  o.medium_endpoints = 3;
  EXPECT_FALSE(validateCorrelatorOptions(o).ok());
}

TEST_F(CorrelatorTest, EstimatesAttackStartFromTheEarliestAttemptAcrossClockOffsets) {
  // web-1's clock runs 50 s ahead of the console's, web-2's 20 s behind.
  const int64_t ahead = 50 * static_cast<int64_t>(kSec);
  const int64_t behind = -20 * static_cast<int64_t>(kSec);
  // Console times: web-1 first saw it at 90 s, web-2 at 87 s.
  correlator_.onReport("web-1", ahead,
                       report(1, {detection("192.0.2.7", 80, 140 * kSec, 145 * kSec)}));
  correlator_.onReport("web-2", behind,
                       report(1, {detection("192.0.2.7", 80, 67 * kSec, 78 * kSec)}));
  const Flood& f = *correlator_.activeFor(src("192.0.2.7"));
  EXPECT_EQ(f.started_ns, 87 * kSec);
  EXPECT_EQ(f.endpoints.at("web-1").first_attempt_ns, 90 * kSec);
  EXPECT_EQ(f.last_seen_ns, 98 * kSec);  // web-2 detected at 78 s + 20 s
  // A clock far ahead cannot produce a time before the console's epoch.
  correlator_.onReport("odd", 1000 * static_cast<int64_t>(kSec),
                       report(1, {detection("192.0.2.7", 80, 0, 1)}));
  EXPECT_EQ(correlator_.activeFor(src("192.0.2.7"))->started_ns, 0u);
}

TEST_F(CorrelatorTest, FloodEndsAfterTheQuietPeriodAndStaysInHistory) {
  correlator_.onReport("web-1", 0, report(1, {detection("192.0.2.7", 80, 90 * kSec, 99 * kSec)}));
  const uint64_t id = correlator_.active()[0]->id;
  clock_.advance(59 * kSec);
  EXPECT_TRUE(correlator_.endQuiet().empty());
  correlator_.onReport("web-2", 0, report(1, {detection("192.0.2.7", 80, 150 * kSec, 158 * kSec)}));
  clock_.advance(59 * kSec);  // 59 s after web-2's report: still active
  EXPECT_TRUE(correlator_.endQuiet().empty());
  clock_.advance(1 * kSec);
  EXPECT_EQ(correlator_.endQuiet(), std::vector<uint64_t>{id});
  EXPECT_TRUE(correlator_.active().empty());
  ASSERT_EQ(correlator_.history().size(), 1u);
  const Flood* ended = correlator_.find(id);
  ASSERT_NE(ended, nullptr);
  EXPECT_FALSE(ended->active);
  EXPECT_EQ(ended->ended_ns, clock_.nowNs());
  EXPECT_EQ(ended->endpoints.size(), 2u);
  // The same source again is a new flood.
  correlator_.onReport("web-1", 0, report(2, {detection("192.0.2.7", 80, 200 * kSec, 219 * kSec)}));
  EXPECT_GT(correlator_.active()[0]->id, id);
  EXPECT_EQ(correlator_.counters().floods_ended, 1u);
}

TEST_F(CorrelatorTest, DuplicateReportsAreIgnored) {
  auto r = report(1, {detection("192.0.2.7", 80, 90 * kSec, 99 * kSec, 300)});
  EXPECT_FALSE(correlator_.onReport("web-1", 0, r).duplicate);
  const Flood before = *correlator_.active()[0];
  auto again = correlator_.onReport("web-1", 0, r);
  EXPECT_TRUE(again.duplicate);
  EXPECT_TRUE(again.changed.empty());
  EXPECT_EQ(*correlator_.active()[0], before);
  EXPECT_EQ(correlator_.counters().duplicate_reports, 1u);
  // The same seq from another endpoint is its own report.
  EXPECT_FALSE(correlator_.onReport("web-2", 0, r).duplicate);
}

TEST_F(CorrelatorTest, OutOfOrderReportsEndInTheSameFloods) {
  const uint64_t t = 100 * kSec;
  std::vector<std::pair<std::string, proto::Report>> reports = {
      {"a", report(1, {detection("192.0.2.7", 80, t + kSec / 2, t + 1 * kSec, 100)})},
      {"a", report(2, {detection("192.0.2.7", 443, t - 2 * kSec, t + 2 * kSec, 500,
                                 proto::EventKind::kBlockAdded)})},
      {"a",
       report(3, {detection("192.0.2.7", 0, t, t + 9 * kSec, 0, proto::EventKind::kBlockExpired)})},
      {"b", report(1, {detection("192.0.2.7", 80, t - kSec, t + 3 * kSec, 200),
                       detection("2001:db8::/64", 22, t, t + kSec)})},
      {"b", report(2, {detection("192.0.2.7", 80, t - kSec, t + 4 * kSec, 250,
                                 proto::EventKind::kBlockAdded)})},
      // At the same agent time as b's block: the block wins whatever the order.
      {"b", report(3, {detection("192.0.2.7", 80, t - kSec, t + 4 * kSec, 250)})},
  };
  auto run = [&](const std::vector<size_t>& order, bool twice) {
    FakeClock clock(100 * kSec);
    Correlator c(CorrelatorOptions{}, clock);
    for (int pass = 0; pass < (twice ? 2 : 1); ++pass) {
      for (size_t i : order) c.onReport(reports[i].first, 0, reports[i].second);
    }
    std::vector<Flood> floods;
    for (const Flood* f : c.active()) floods.push_back(*f);
    for (auto& f : floods) f.id = 0;  // ids follow first arrival
    std::sort(floods.begin(), floods.end(),
              [](const Flood& x, const Flood& y) { return x.source.str() < y.source.str(); });
    return floods;
  };
  std::vector<size_t> order = {0, 1, 2, 3, 4, 5};
  const auto expected = run(order, false);
  ASSERT_EQ(expected.size(), 2u);
  const Flood& f = expected[0].source == src("192.0.2.7") ? expected[0] : expected[1];
  EXPECT_EQ(f.endpoints.at("a").action, EndpointAction::kUnblocked);
  EXPECT_EQ(f.endpoints.at("b").action, EndpointAction::kBlocked);
  EXPECT_EQ(f.state, FloodState::kBlock);
  EXPECT_EQ(f.started_ns, t - 2 * kSec);
  EXPECT_EQ(f.endpoints.at("a").first_attempt_ns, t - 2 * kSec);
  EXPECT_EQ(f.endpoints.at("a").max_count, 500u);
  std::mt19937 rng(7);
  for (int i = 0; i < 20; ++i) {
    std::shuffle(order.begin(), order.end(), rng);
    EXPECT_EQ(run(order, i % 2 == 1), expected) << "order " << i;
  }
}

TEST_F(CorrelatorTest, ContiguousSeqSkipsNothingAndSurvivesRestore) {
  auto r = [](uint64_t seq) { return report(seq, {}); };
  correlator_.onReport("a", 0, r(1));
  correlator_.onReport("a", 0, r(3));
  EXPECT_EQ(correlator_.contiguousSeq("a"), 1u);  // 2 is missing: the agent must resend it
  correlator_.onReport("a", 0, r(2));
  EXPECT_EQ(correlator_.contiguousSeq("a"), 3u);
  correlator_.restoreSeq("b", 41);
  EXPECT_TRUE(correlator_.onReport("b", 0, r(41)).duplicate);
  EXPECT_FALSE(correlator_.onReport("b", 0, r(42)).duplicate);
  EXPECT_EQ(correlator_.contiguousSeq("b"), 42u);
}

TEST_F(CorrelatorTest, ActiveFloodsAreBoundedAndCounted) {
  CorrelatorOptions o;
  o.max_active = 2;
  Correlator c(o, clock_);
  c.onReport("a", 0,
             report(1, {detection("192.0.2.1", 80, 1, 2), detection("192.0.2.2", 80, 1, 2),
                        detection("192.0.2.3", 80, 1, 2)}));
  EXPECT_EQ(c.active().size(), 2u);
  EXPECT_EQ(c.counters().events_dropped_full, 1u);
}

TEST_F(CorrelatorTest, RestoredFloodsKeepTheirIdsAndState) {
  correlator_.onReport("a", 0, report(1, {detection("192.0.2.7", 80, 90 * kSec, 99 * kSec)}));
  Flood saved = *correlator_.active()[0];
  Correlator again(CorrelatorOptions{}, clock_);
  again.restoreFlood(saved);
  again.onReport("b", 0, report(1, {detection("192.0.2.7", 80, 91 * kSec, 99 * kSec)}));
  ASSERT_EQ(again.active().size(), 1u);
  EXPECT_EQ(again.active()[0]->id, saved.id);
  EXPECT_EQ(again.active()[0]->endpoints.size(), 2u);
  again.onReport("b", 0, report(2, {detection("198.51.100.1", 80, 1, 2)}));
  EXPECT_GT(again.activeFor(src("198.51.100.1"))->id, saved.id);
}

}  // namespace
}  // namespace sg::console
