// Correlator::startFlood / mergeFlood: the floods several consoles share.
#include <gtest/gtest.h>

#include "console/correlator.h"
#include "test_helpers.h"

namespace sg::console {
namespace {

constexpr uint64_t kSec = 1'000'000'000;

Prefix src(const char* text) { return *parsePrefix(text); }

proto::Event detection(const char* source, uint16_t port, uint64_t first_ns, uint64_t detected_ns) {
  proto::Event e;
  e.kind = proto::EventKind::kFloodDetected;
  e.source = src(source);
  e.dst_port = port;
  e.count = 300;
  e.window_ms = 5000;
  e.first_attempt_ns = first_ns;
  e.detected_ns = detected_ns;
  return e;
}

class CorrelatorMergeTest : public ::testing::Test {
 protected:
  FakeClock clock_{100 * kSec};
  Correlator a_{CorrelatorOptions{}, clock_};  // two consoles' correlators
  Correlator b_{CorrelatorOptions{}, clock_};
};

TEST_F(CorrelatorMergeTest, AStartedFloodTakesTheStoresIdAndTheNextReport) {
  a_.startFlood(src("192.0.2.7"), 41);
  a_.startFlood(src("192.0.2.7"), 99);  // one active already: nothing
  auto out = a_.onReport("a-1", 0, proto::Report{1, 0, {detection("192.0.2.7", 443, 5, 9)}});
  ASSERT_EQ(out.changed, (std::vector<uint64_t>{41}));
  EXPECT_EQ(a_.activeFor(src("192.0.2.7"))->endpoints.size(), 1u);
  auto next = a_.onReport("a-1", 0, proto::Report{2, 0, {detection("192.0.2.8", 443, 5, 9)}});
  EXPECT_EQ(next.changed, (std::vector<uint64_t>{42}));  // its own ids continue above
}

TEST_F(CorrelatorMergeTest, SightingsOfBothConsolesMakeOneHighFloodWhicheverMergesFirst) {
  a_.startFlood(src("192.0.2.7"), 7);
  b_.startFlood(src("192.0.2.7"), 7);
  a_.onReport("a-1", 0, proto::Report{1, 0, {detection("192.0.2.7", 443, 50 * kSec, 90 * kSec)}});
  b_.onReport("b-1", 0, proto::Report{1, 0, {detection("192.0.2.7", 80, 40 * kSec, 95 * kSec)}});
  b_.onReport("b-2", 0, proto::Report{1, 0, {detection("192.0.2.7", 80, 60 * kSec, 96 * kSec)}});
  const Flood fa = *a_.activeFor(src("192.0.2.7"));
  const Flood fb = *b_.activeFor(src("192.0.2.7"));
  EXPECT_TRUE(a_.mergeFlood(fb));
  EXPECT_TRUE(b_.mergeFlood(fa));
  const Flood& ma = *a_.activeFor(src("192.0.2.7"));
  const Flood& mb = *b_.activeFor(src("192.0.2.7"));
  EXPECT_EQ(ma.endpoints, mb.endpoints);
  EXPECT_EQ(ma.endpoints.size(), 3u);
  EXPECT_EQ(ma.severity, Severity::kHigh);
  EXPECT_EQ(ma.started_ns, 40 * kSec);  // the earliest first attempt anywhere
  EXPECT_EQ(ma.last_seen_ns, 96 * kSec);
  EXPECT_EQ(ma.ports(), (std::set<uint16_t>{80, 443}));
  // Merging again changes nothing (the consoles stop storing it back).
  EXPECT_FALSE(a_.mergeFlood(mb));
  EXPECT_FALSE(b_.mergeFlood(ma));
}

TEST_F(CorrelatorMergeTest, TwoConsolesStartingAtOnceKeepTheLowerId) {
  a_.startFlood(src("192.0.2.7"), 8);
  b_.startFlood(src("192.0.2.7"), 5);
  a_.onReport("a-1", 0, proto::Report{1, 0, {detection("192.0.2.7", 443, 5, 9)}});
  EXPECT_TRUE(a_.mergeFlood(*b_.activeFor(src("192.0.2.7"))));
  EXPECT_EQ(a_.activeFor(src("192.0.2.7"))->id, 5u);
}

TEST_F(CorrelatorMergeTest, AFloodOnlyAnotherConsoleSawIsAdoptedAsStored) {
  b_.onReport("b-1", 0, proto::Report{1, 0, {detection("192.0.2.7", 443, 5, 9)}});
  EXPECT_FALSE(a_.mergeFlood(*b_.activeFor(src("192.0.2.7"))));
  ASSERT_NE(a_.activeFor(src("192.0.2.7")), nullptr);
  EXPECT_EQ(a_.activeFor(src("192.0.2.7"))->endpoints.count("b-1"), 1u);
  Flood ended = *b_.activeFor(src("192.0.2.7"));
  ended.source = src("192.0.2.9");
  ended.active = false;
  EXPECT_FALSE(a_.mergeFlood(ended));  // an ended one elsewhere starts nothing here
  EXPECT_EQ(a_.activeFor(src("192.0.2.9")), nullptr);
}

TEST_F(CorrelatorMergeTest, AStoredCopyThatLostARaceIsStoredAgain) {
  a_.startFlood(src("192.0.2.7"), 7);
  b_.startFlood(src("192.0.2.7"), 7);
  a_.onReport("a-1", 0, proto::Report{1, 0, {detection("192.0.2.7", 443, 5, 9)}});
  b_.onReport("b-1", 0, proto::Report{1, 0, {detection("192.0.2.7", 443, 5, 9)}});
  ASSERT_TRUE(b_.mergeFlood(*a_.activeFor(src("192.0.2.7"))));
  // A's own copy was stored last (it overwrote B's): B hears it, has nothing
  // to learn, but the stored copy misses b-1, so B stores it again.
  EXPECT_TRUE(b_.mergeFlood(*a_.activeFor(src("192.0.2.7"))));
  EXPECT_TRUE(a_.mergeFlood(*b_.activeFor(src("192.0.2.7"))));   // A learns b-1
  EXPECT_FALSE(a_.mergeFlood(*b_.activeFor(src("192.0.2.7"))));  // converged
}

TEST_F(CorrelatorMergeTest, AMillisecondOfTimeBaseDriftIsNotAChange) {
  a_.onReport("a-1", 0, proto::Report{1, 0, {detection("192.0.2.7", 443, 50 * kSec, 90 * kSec)}});
  Flood drifted = *a_.activeFor(src("192.0.2.7"));
  drifted.endpoints["a-1"].first_attempt_ns -= 1'000'000;
  drifted.endpoints["a-1"].last_detected_ns += 1'000'000;
  drifted.last_seen_ns += 1'000'000;
  EXPECT_FALSE(a_.mergeFlood(drifted));
}

}  // namespace
}  // namespace sg::console
