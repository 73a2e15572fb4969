#include "core/reflection.h"

#include <gtest/gtest.h>

#include "test_helpers.h"

namespace sg {
namespace {

constexpr uint64_t kTick = 100'000'000;  // the agent's harvest interval

Address addr(const char* text) {
  auto a = parseAddress(text);
  EXPECT_OK(a);
  return a.ok() ? *a : Address{};
}

// Unmatched SYN-ACKs arriving at a steady rate, harvested every 100 ms on a
// fake clock.
class Feed {
 public:
  explicit Feed(ReflectionOptions o = {}) : det_(o) {}
  // `seconds` at `per_sec` unmatched SYN-ACKs from `from` (port 443); the events it caused.
  std::vector<ReflectionEvent> run(double seconds, uint64_t per_sec, const char* from = "192.0.2.1",
                                   uint16_t port = 443) {
    std::vector<ReflectionEvent> out;
    const int ticks = static_cast<int>(seconds * 10 + 0.5);
    for (int i = 0; i < ticks; i++) {
      now_ += kTick;
      const uint64_t n = per_sec / 10;
      total_ += n;
      std::vector<ReflectorCount> seen;
      if (n) seen.push_back({addr(from), port, n});
      if (auto e = det_.onSample(now_, total_, seen)) out.push_back(*e);
    }
    return out;
  }
  ReflectionDetector& det() { return det_; }
  uint64_t now() const { return now_; }

 private:
  ReflectionDetector det_;
  uint64_t now_ = 1'000'000'000;
  uint64_t total_ = 0;
};

TEST(ReflectionDetectorTest, AStrayUnmatchedSynAckIsNoReflection) {
  Feed f;
  EXPECT_TRUE(f.run(10, 50).empty()) << "50/s is under the default threshold of 100/s";
  EXPECT_FALSE(f.det().active());
  EXPECT_NEAR(f.det().rate(), 50, 1);
}

TEST(ReflectionDetectorTest, AFloodOfUnmatchedSynAcksIsDetectedThenEnds) {
  Feed f;
  f.run(5, 10);
  auto on = f.run(2, 5000, "198.51.100.7", 80);
  ASSERT_EQ(on.size(), 1u);
  const Reflection& r = on[0].reflection;
  EXPECT_EQ(on[0].kind, ReflectionEvent::Kind::kDetected);
  EXPECT_GT(r.rate, 100);
  EXPECT_TRUE(r.dropped) << "drop is the default response";
  ASSERT_FALSE(r.top_sources.empty());
  EXPECT_EQ(r.top_sources[0].src, "198.51.100.7");
  ASSERT_FALSE(r.top_ports.empty());
  EXPECT_EQ(r.top_ports[0].src, "80");
  EXPECT_LE(r.detected_ns - r.first_ns, 2 * kTick) << "seen within a harvest or two";
  ASSERT_TRUE(f.det().active());
  EXPECT_NEAR(f.det().active()->peak_rate, 5000, 100);

  // Over the threshold, then quiet: ends after end_after (3 s) of quiet.
  auto quiet = f.run(2, 0);
  EXPECT_TRUE(quiet.empty()) << "the window still holds the flood, then end_after runs";
  auto off = f.run(3, 0);
  ASSERT_EQ(off.size(), 1u);
  EXPECT_EQ(off[0].kind, ReflectionEvent::Kind::kEnded);
  EXPECT_GE(off[0].reflection.synacks, 9000u);
  EXPECT_FALSE(f.det().active());
}

TEST(ReflectionDetectorTest, ARateDipShorterThanEndAfterKeepsItOn) {
  Feed f;
  ASSERT_EQ(f.run(2, 1000).size(), 1u);
  EXPECT_TRUE(f.run(2.5, 0).empty());
  EXPECT_TRUE(f.run(2, 1000).empty()) << "one reflection, not two";
  EXPECT_TRUE(f.det().active());
}

TEST(ReflectionDetectorTest, ThresholdAndDropAreTheOptions) {
  ReflectionOptions o;
  o.threshold = 10000;
  o.drop = false;
  Feed f(o);
  EXPECT_TRUE(f.run(3, 5000).empty());
  auto on = f.run(1, 20000);
  ASSERT_EQ(on.size(), 1u);
  EXPECT_FALSE(on[0].reflection.dropped);
  nlohmann::json j = reflectionJson(on[0].reflection, false);
  EXPECT_EQ(j["response"], "none");
  EXPECT_EQ(j["reflectors"][0]["src"], "192.0.2.1");
  EXPECT_EQ(j["ports"][0]["port"], 443);
}

TEST(ReflectionDetectorTest, ReflectorsAreBounded) {
  ReflectionDetector det{ReflectionOptions{}};
  uint64_t now = kTick, total = 0;
  std::vector<ReflectorCount> seen;
  for (uint32_t i = 0; i < 3 * ReflectionDetector::kMaxTracked; i++) {
    Address a = addr("10.0.0.0");
    a.raw.b[13] = static_cast<uint8_t>(i >> 8);
    a.raw.b[14] = static_cast<uint8_t>(i);
    a.raw.b[15] = static_cast<uint8_t>(i >> 16);
    seen.push_back({a, static_cast<uint16_t>(i), 1});
  }
  total += seen.size();
  (void)det.onSample(now, 0, {});
  auto e = det.onSample(now + kTick, total, seen);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->reflection.distinct_reflectors, ReflectionDetector::kMaxTracked);
  EXPECT_EQ(e->reflection.top_sources.size(), 8u);
}

TEST(ReflectionDetectorTest, ACounterRestartIsNoNegativeRate) {
  Feed f;
  f.run(1, 50);
  EXPECT_FALSE(f.det().onSample(f.now() + kTick, 3, {}));
  EXPECT_GE(f.det().rate(), 0);
}

TEST(ReflectionOptionsTest, RangesAreChecked) {
  ReflectionOptions o;
  EXPECT_OK(validateReflectionOptions(o));
  o.threshold = 0;
  EXPECT_ERROR(validateReflectionOptions(o), Errc::kInvalidArgument);
  VerifiedOptions v;
  EXPECT_OK(validateVerifiedOptions(v));
  v.ttl = std::chrono::milliseconds(10);
  EXPECT_ERROR(validateVerifiedOptions(v), Errc::kInvalidArgument);
  v = VerifiedOptions{};
  v.max_entries = 10;
  EXPECT_ERROR(validateVerifiedOptions(v), Errc::kInvalidArgument);
  v = VerifiedOptions{};
  v.per_prefix = 0;
  EXPECT_ERROR(validateVerifiedOptions(v), Errc::kInvalidArgument);
  v.per_prefix = 65537;
  EXPECT_ERROR(validateVerifiedOptions(v), Errc::kInvalidArgument);
}

TEST(ReflectionDetectorTest, WindowReflectorsAreTheWindowsHarvests) {
  ReflectionDetector d(ReflectionOptions{});
  const ReflectorCount a{*parseAddress("198.51.100.9"), 443, 5};
  const ReflectorCount b{*parseAddress("203.0.113.5"), 80, 7};
  (void)d.onSample(0, 5, {a});
  (void)d.onSample(500'000'000, 12, {b});
  EXPECT_EQ(d.windowReflectors().size(), 2u);
  (void)d.onSample(5'000'000'000, 12, {});  // the window's base keeps b's
  EXPECT_EQ(d.windowReflectors().size(), 1u);
  (void)d.onSample(7'000'000'000, 12, {});
  EXPECT_TRUE(d.windowReflectors().empty());
}

}  // namespace
}  // namespace sg
