#include "core/port_flood.h"

#include <gtest/gtest.h>

#include <random>

#include "core/port_flood_response.h"
#include "core/tracker.h"
#include "test_helpers.h"

namespace sg {
namespace {

constexpr uint64_t kTick = 100'000'000;  // kDstSampleInterval
constexpr uint16_t kPort = 443;

sg_pkt synTo(uint32_t src_v4, uint16_t port) {
  sg_pkt p{};
  p.kind = SG_PKT_TCP;
  p.tcp_flags = SG_TCP_SYN;
  p.family = 4;
  p.has_src = 1;
  p.dst_port = port;
  p.src.b[10] = p.src.b[11] = p.dst.b[10] = p.dst.b[11] = 0xff;
  p.dst.b[12] = 192;
  p.dst.b[15] = 1;
  for (int i = 0; i < 4; i++) p.src.b[12 + i] = static_cast<uint8_t>(src_v4 >> (24 - 8 * i));
  return p;
}

// Traffic on one port, sampled every 100 ms on a fake clock.
class Scenario {
 public:
  explicit Scenario(PortFloodOptions o = {}, bool handshakes = true)
      : det_(o, handshakes), table_(64, kDefaultHashKey, 64) {}

  // `seconds` of `legit` completing clients and `flood` spoofed SYNs per second.
  void run(double seconds, uint32_t legit, uint32_t flood, uint32_t flood_src_mask = ~0u) {
    const int ticks = static_cast<int>(seconds * 10 + 0.5);
    for (int t = 0; t < ticks; t++) {
      for (uint32_t i = 0; i < legit / 10; i++) {
        sg_pkt p = synTo(0x0a000000u + (rng_() & 0xffff), kPort);
        table_.onAttempt(p);
        table_.onCompletion(p.dst, kPort);
      }
      for (uint32_t i = 0; i < flood / 10; i++) {
        table_.onAttempt(synTo((0xcb007100u & ~flood_src_mask) | (rng_() & flood_src_mask), kPort));
      }
      now_ += kTick;
      for (PortFloodEvent& e : det_.onSamples(now_, table_.harvest())) events_.push_back(e);
    }
  }
  uint64_t now() const { return now_; }
  PortFloodDetector& det() { return det_; }
  std::vector<PortFloodEvent>& events() { return events_; }

 private:
  PortFloodDetector det_;
  DstTable table_;
  std::mt19937 rng_{11};
  uint64_t now_ = 1'000'000'000;
  std::vector<PortFloodEvent> events_;
};

TEST(PortFlood, NormalTrafficIsLearnedAndNeverFlagged) {
  Scenario s;
  s.run(120, 2000, 0);  // busy: twice the floor, every handshake completes
  EXPECT_TRUE(s.events().empty());
  EXPECT_NEAR(s.det().normalRate(synTo(0, kPort).dst, kPort), 2000, 50);
}

TEST(PortFlood, ASpoofedFloodIsDetectedWithinASecondAndItsEndToo) {
  Scenario s;
  s.run(60, 100, 0);
  const uint64_t start = s.now();
  s.run(5, 100, 20000);
  ASSERT_EQ(s.events().size(), 1u);
  const PortFlood& f = s.events()[0].flood;
  EXPECT_EQ(s.events()[0].kind, PortFloodEvent::Kind::kDetected);
  EXPECT_EQ(f.reason, "rate");
  EXPECT_EQ(f.dst_port, kPort);
  EXPECT_LE(f.detected_ns - start, 200'000'000u);  // one or two samples
  EXPECT_EQ(f.first_ns, start);
  EXPECT_GT(f.rate, 1000);
  EXPECT_GT(f.distinct_sources, 1000u);
  EXPECT_LT(f.completion_ratio, 0.2);
  const uint64_t stop = s.now();
  s.run(10, 100, 0);
  ASSERT_EQ(s.events().size(), 2u);
  const PortFlood& e = s.events()[1].flood;
  EXPECT_EQ(s.events()[1].kind, PortFloodEvent::Kind::kEnded);
  EXPECT_NEAR(e.peak_rate, 20100, 500);
  // The rate falls under half the floor within the window, then end_after (3 s).
  EXPECT_GE(e.ended_ns - stop, 3'000'000'000u);
  EXPECT_LE(e.ended_ns - stop, 4'100'000'000u);
  EXPECT_GT(e.attempts, 90000u);
  // The flood never became normal.
  EXPECT_LT(s.det().normalRate(synTo(0, kPort).dst, kPort), 200);
}

// A flood's first samples, before the window holds enough of it to pass
// the test, must not become its normal: a port learned at 5,000/s would
// take 50,000/s to flag after its warm-up.
TEST(PortFlood, TheFirstSamplesOfAFloodAreNotLearnedAsNormal) {
  Scenario s;
  s.run(0.2, 0, 5000);
  ASSERT_FALSE(s.events().empty());
  EXPECT_LT(s.events()[0].flood.normal_rate, 1.0) << "learned from the flood itself";
  EXPECT_LT(s.det().normalRate(synTo(0, kPort).dst, kPort), 1.0);
}

// An idle agent harvests less often (kDstIdleInterval; here a second): a
// flood that starts then is flagged at the next harvest, its start dated
// from the harvest before (not 100 ms before), its rate from the whole second.
TEST(PortFlood, AnIdleHostsSlowerHarvestsStillFlagAFloodAtTheNextOne) {
  PortFloodDetector det(PortFloodOptions{}, true);
  DstTable table(64, kDefaultHashKey, 64);
  uint64_t now = 1'000'000'000;
  for (int i = 0; i < 5; i++) {
    now += 1'000'000'000;
    EXPECT_TRUE(det.onSamples(now, table.harvest()).empty());
  }
  const uint64_t before = now;
  std::mt19937 rng(1);
  for (int i = 0; i < 3000; i++) table.onAttempt(synTo(rng(), kPort));
  now += 1'000'000'000;
  auto events = det.onSamples(now, table.harvest());
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].flood.first_ns, before);
  EXPECT_NEAR(events[0].flood.rate, 3000, 1);
}

TEST(PortFlood, UnderTheFloorNothingIsFlagged) {
  Scenario s;
  s.run(60, 10, 0);
  s.run(5, 10, 900);  // 90x its normal, but under the 1000/s floor
  EXPECT_TRUE(s.events().empty());
}

TEST(PortFlood, ABusyPortNeedsTheFactor) {
  Scenario s;
  s.run(60, 3000, 0);
  s.run(5, 3000, 9000);  // 4x its normal: over the floor, under the factor, but
  // the ratio halves (3000 of 12000 complete, against all): collapse
  ASSERT_EQ(s.events().size(), 1u);
  EXPECT_EQ(s.events()[0].flood.reason, "completion_ratio");
}

TEST(PortFlood, ABusyPortThatCompletesItsHandshakesIsNotAFlood) {
  PortFloodOptions o;
  Scenario s(o);
  s.run(60, 3000, 0);
  s.run(5, 9000, 0);  // 3x, all complete: a busy hour, not a flood
  EXPECT_TRUE(s.events().empty());
}

TEST(PortFlood, AYoungPortOverTheFloorIsFlaggedOnlyWhenItsHandshakesFail) {
  Scenario busy;
  busy.run(5, 5000, 0);  // the agent starts beside a busy service
  EXPECT_TRUE(busy.events().empty());
  Scenario flooded;
  flooded.run(5, 0, 5000);  // ... or in the middle of a flood
  ASSERT_FALSE(flooded.events().empty());
  EXPECT_EQ(flooded.events()[0].flood.reason, "completion_ratio");
  Scenario blind(PortFloodOptions{}, /*handshakes=*/false);
  blind.run(5, 0, 5000);
  ASSERT_FALSE(blind.events().empty());
  EXPECT_EQ(blind.events()[0].flood.reason, "rate");
}

// Says whether a port has a listener here; counts the questions.
struct FakeListenerProbe : ListenerProbe {
  bool listens = false;
  int asked = 0;
  bool listening(const sg_addr&, uint16_t) override {
    asked++;
    return listens;
  }
};

// Review finding H4: a DNAT-published port (Docker -p, NodePort) completes
// its handshakes in a container's namespace, so its ratio reads 0: a busy
// one was a completion_ratio flood in its warm-up, and its clients' /24s
// were blocked.
TEST(PortFlood, AForwardedPortIsNeverJudgedOnItsCompletionRatio) {
  FakeListenerProbe probe;
  Scenario forwarded;
  forwarded.det().setListenerProbe(&probe);
  forwarded.run(5, 0, 5000, 0xff);  // real clients from one /24, completing elsewhere
  EXPECT_TRUE(forwarded.events().empty())
      << forwarded.events()[0].flood.reason << " flood on a forwarded port";
  EXPECT_EQ(probe.asked, 1) << "asked once, then every kListenerRecheck";
  forwarded.run(40, 0, 5000, 0xff);  // past its warm-up: its normal is 5,000/s
  EXPECT_TRUE(forwarded.events().empty());
  // Its rate still counts: ten times its normal is a flood.
  forwarded.run(2, 0, 60000);
  ASSERT_FALSE(forwarded.events().empty());
  EXPECT_EQ(forwarded.events()[0].flood.reason, "rate");
  EXPECT_FALSE(forwarded.events()[0].flood.in_warmup);
}

TEST(PortFlood, AYoungForwardedPortIsFlaggedAtTheFactorTimesTheFloor) {
  FakeListenerProbe probe;
  Scenario s;
  s.det().setListenerProbe(&probe);
  s.run(2, 0, 9000);
  EXPECT_TRUE(s.events().empty());
  s.run(2, 0, 20000);  // over 10 x 1,000/s
  ASSERT_FALSE(s.events().empty());
  EXPECT_EQ(s.events()[0].flood.reason, "rate");
  EXPECT_TRUE(s.events()[0].flood.in_warmup);
}

TEST(PortFlood, APortServedHereIsStillJudgedOnItsRatioButNotPrefixBlockedInItsWarmup) {
  FakeListenerProbe probe;
  probe.listens = true;
  Scenario s;
  s.det().setListenerProbe(&probe);
  s.run(3, 0, 5000, 0xff);  // a spoofed flood from one /24 on a port with a listener
  ASSERT_FALSE(s.events().empty());
  const PortFlood& f = s.events()[0].flood;
  EXPECT_EQ(f.reason, "completion_ratio");
  EXPECT_TRUE(f.in_warmup);
  EXPECT_GT(f.top_prefixes[0].share, 0.9);
  const ResponsePlan plan = planResponse(f, PortFloodOptions{}, {});
  EXPECT_EQ(plan.kind(), "none") << "a ratio-only detection in warm-up blocked prefixes";
  EXPECT_NE(plan.why.find("warm-up"), std::string::npos) << plan.why;
  s.run(10, 0, 5000, 0xff);
  EXPECT_EQ(probe.asked, 1) << "a port with a listener is asked once";
}

TEST(PortFlood, AServiceThatStartsListeningLaterIsAskedAgain) {
  FakeListenerProbe probe;
  Scenario s;
  s.det().setListenerProbe(&probe);
  s.run(5, 0, 5000);
  EXPECT_TRUE(s.events().empty());
  probe.listens = true;
  s.run(11, 0, 5000);
  EXPECT_EQ(probe.asked, 2);
  ASSERT_FALSE(s.events().empty());
  EXPECT_EQ(s.events()[0].flood.reason, "completion_ratio");
}

TEST(PortFlood, AConcentratedFloodIsAnsweredWithPrefixBlocksAndASpreadOneIsNot) {
  Scenario s;
  s.run(60, 100, 0);
  s.run(2, 100, 20000, 0xff);  // every SYN from 203.0.113.0/24
  ASSERT_FALSE(s.events().empty());
  const PortFlood& f = s.events()[0].flood;
  ASSERT_FALSE(f.top_prefixes.empty());
  EXPECT_EQ(f.top_prefixes[0].prefix.str(), "203.0.113.0/24");
  EXPECT_GT(f.top_prefixes[0].share, 0.9);
  ResponsePlan plan = planResponse(f, PortFloodOptions{}, {});
  EXPECT_EQ(plan.kind(), "prefix_block");
  ASSERT_EQ(plan.prefixes.size(), 1u);
  EXPECT_EQ(plan.prefixes[0].str(), "203.0.113.0/24");
  // The allowlist first: an allowlisted prefix is never blocked.
  ResponsePlan allowed = planResponse(f, PortFloodOptions{}, {*parsePrefix("203.0.0.0/16")});
  EXPECT_EQ(allowed.kind(), "none");
  // ... nor one holding an allowlisted address: spoofing a flood from the
  // host's own /24 (its address is on the implicit allowlist) must not get its
  // neighbours, its gateway or its console blocked.
  ResponsePlan own = planResponse(f, PortFloodOptions{}, {*parsePrefix("203.0.113.11/32")});
  EXPECT_EQ(own.kind(), "none") << own.why;
  EXPECT_NE(own.why.find("allowlist"), std::string::npos) << own.why;
  PortFloodOptions off;
  off.prefix_blocks = false;
  EXPECT_EQ(planResponse(f, off, {}).kind(), "none");

  Scenario spread;
  spread.run(60, 100, 0);
  spread.run(2, 100, 20000);
  ASSERT_FALSE(spread.events().empty());
  ResponsePlan none = planResponse(spread.events()[0].flood, PortFloodOptions{}, {});
  EXPECT_EQ(none.kind(), "none");
  EXPECT_NE(none.why.find("spread"), std::string::npos);
}

TEST(PortFlood, OptionsAreValidated) {
  EXPECT_OK(validatePortFloodOptions(PortFloodOptions{}));
  PortFloodOptions o;
  o.factor = 1;
  EXPECT_ERROR(validatePortFloodOptions(o), Errc::kInvalidArgument);
  o = {};
  o.floor = 0;
  EXPECT_ERROR(validatePortFloodOptions(o), Errc::kInvalidArgument);
  o = {};
  o.collapse = 1.5;
  EXPECT_ERROR(validatePortFloodOptions(o), Errc::kInvalidArgument);
  o = {};
  o.rate_window = std::chrono::milliseconds(10);
  auto r = validatePortFloodOptions(o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("port_flood_window"), std::string::npos);
  o = {};
  o.max_dsts = 16;
  EXPECT_ERROR(validatePortFloodOptions(o), Errc::kInvalidArgument);
}

}  // namespace
}  // namespace sg
