// ReflectionWatch over FakeSensor on a fake clock: the knobs it pushes, the
// drop turned on at reflection_detected and off at reflection_ended, status
// and metrics; and the port-flood prefix blocks verified sources may pass
// (SG_PFX_FLOOD) against an operator's.
#include "agent/reflection_watch.h"

#include <gtest/gtest.h>

#include "agent/block_book_fixture.h"
#include "agent/port_flood_watch.h"

namespace sg::agent {
namespace {

constexpr uint64_t kTick = 100'000'000;

struct ReflectFixture : Fixture {
  ReflectionWatch watch{sensor, log, ReflectionOptions{}};

  // `seconds` of `per_sec` unmatched SYN-ACKs from 198.51.100.9:443.
  void run(double seconds, uint64_t per_sec) {
    for (int t = 0; t < static_cast<int>(seconds * 10 + 0.5); t++) {
      const uint64_t n = per_sec / 10;
      sensor.counters.c[SG_CNT_SYNACK_UNMATCHED] += n;
      if (n) sensor.reflectors.push_back({*parseAddress("198.51.100.9"), 443, n});
      clock.advance(kTick);
      (void)watch.onTick(clock.nowNs());
    }
  }
};

TEST(ReflectionWatch, ApplyPushesTheKnobs) {
  ReflectFixture f;
  ReflectionOptions r;
  VerifiedOptions v;
  v.ttl = std::chrono::minutes(2);
  f.watch.apply(r, v, false);
  EXPECT_TRUE(f.sensor.reflect_on);
  EXPECT_FALSE(f.sensor.reflect_drop) << "no reflection yet";
  EXPECT_TRUE(f.sensor.verified_on);
  EXPECT_EQ(f.sensor.verified_ttl_ns, 120'000'000'000ull);
  EXPECT_EQ(f.sensor.verified_per_prefix, 64u);
  r.enabled = false;
  v.enabled = false;
  f.watch.apply(r, v, false);
  EXPECT_FALSE(f.sensor.reflect_on);
  EXPECT_FALSE(f.sensor.verified_on);
}

TEST(ReflectionWatch, DetectedTurnsTheDropOnEndedTurnsItOff) {
  ReflectFixture f;
  f.watch.apply(ReflectionOptions{}, VerifiedOptions{}, false);
  f.run(2, 20);
  EXPECT_FALSE(f.sensor.reflect_drop);
  f.run(1, 5000);
  EXPECT_TRUE(f.sensor.reflect_drop);
  EXPECT_TRUE(f.watch.active());
  std::string log = f.logText();
  EXPECT_NE(log.find("\"event\":\"reflection_detected\""), std::string::npos) << log;
  EXPECT_NE(log.find("\"src\":\"198.51.100.9\""), std::string::npos) << log;
  EXPECT_NE(log.find("\"port\":443"), std::string::npos) << log;
  EXPECT_NE(log.find("\"response\":\"drop\""), std::string::npos) << log;
  nlohmann::json st = f.watch.statusJson();
  EXPECT_TRUE(st["reflection"]["active"]["dropping"].get<bool>()) << st.dump();
  EXPECT_NE(f.watch.metricsText().find("syn_guard_reflection_active 1"), std::string::npos);

  f.run(6, 0);
  EXPECT_FALSE(f.sensor.reflect_drop);
  EXPECT_TRUE(f.sensor.reflector_drops.empty()) << "the drop list emptied at the end";
  EXPECT_FALSE(f.watch.active());
  log = f.logText();
  EXPECT_NE(log.find("\"event\":\"reflection_ended\""), std::string::npos) << log;
  EXPECT_NE(log.find("\"response_undone\":true"), std::string::npos) << log;
  EXPECT_EQ(f.watch.counters().detected, 1u);
  EXPECT_EQ(f.watch.counters().ended, 1u);
  EXPECT_TRUE(f.watch.statusJson()["reflection"]["active"].is_null());
}

// --enforcer none: detected and reported, never dropped (drop on or not).
TEST(ReflectionWatch, DetectOnlyReportsAndNeverDrops) {
  ReflectFixture f;
  f.watch.apply(ReflectionOptions{}, VerifiedOptions{}, true);
  f.run(1, 5000);
  EXPECT_TRUE(f.watch.active());
  EXPECT_FALSE(f.sensor.reflect_drop);
  const std::string log = f.logText();
  EXPECT_NE(log.find("\"event\":\"reflection_detected\""), std::string::npos) << log;
  EXPECT_NE(log.find("\"response\":\"none\""), std::string::npos) << log;
  EXPECT_FALSE(f.watch.statusJson()["reflection"]["drop"].get<bool>());
}

// The drop acts on the reflectors harvested (review s14, H1): those of the
// detecting window, then those that join; never a server not seen.
TEST(ReflectionWatch, TheDropListsOnlyTheReflectorsSeen) {
  ReflectFixture f;
  f.watch.apply(ReflectionOptions{}, VerifiedOptions{}, false);
  f.run(1, 5000);
  ASSERT_TRUE(f.sensor.reflect_drop);
  using Key = std::pair<std::string, uint16_t>;
  EXPECT_EQ(f.sensor.reflector_drops, (std::set<Key>{{"198.51.100.9", 443}}));
  f.sensor.reflectors.push_back({*parseAddress("203.0.113.5"), 80, 600});
  f.run(0.1, 5000);
  EXPECT_EQ(f.sensor.reflector_drops, (std::set<Key>{{"198.51.100.9", 443}, {"203.0.113.5", 80}}));
}

// Only reflectors that sent a meaningful number of unmatched SYN-ACKs are
// listed (review s15 H1 c): a server seen once, before or during the
// reflection (another host's connect whose SYN-ACK came here unmatched), is
// never listed; one that keeps sending over the window's minimum is.
TEST(ReflectionWatch, TheDropListsOnlyTheBusiestReflectors) {
  ReflectFixture f;
  f.watch.apply(ReflectionOptions{}, VerifiedOptions{}, false);
  using Key = std::pair<std::string, uint16_t>;
  f.sensor.counters.c[SG_CNT_SYNACK_UNMATCHED] += 1;
  f.sensor.reflectors.push_back({*parseAddress("203.0.113.5"), 443, 1});  // once, in the window
  f.run(1, 5000);
  ASSERT_TRUE(f.sensor.reflect_drop);
  EXPECT_EQ(f.sensor.reflector_drops, (std::set<Key>{{"198.51.100.9", 443}}));

  f.sensor.reflectors.push_back({*parseAddress("203.0.113.6"), 80, 2});  // twice, while dropping
  f.run(1, 5000);
  EXPECT_EQ(f.sensor.reflector_drops, (std::set<Key>{{"198.51.100.9", 443}}))
      << "a server seen twice is not listed";

  // One that keeps sending 1 per harvest (10/s) reaches the minimum (5 in
  // the 1 s window) on its fifth harvest.
  for (int i = 0; i < 4; i++) {
    f.sensor.reflectors.push_back({*parseAddress("203.0.113.7"), 443, 1});
    f.run(0.1, 5000);
  }
  EXPECT_EQ(f.sensor.reflector_drops.count({"203.0.113.7", 443}), 0u);
  f.sensor.reflectors.push_back({*parseAddress("203.0.113.7"), 443, 1});
  f.run(0.1, 5000);
  EXPECT_EQ(f.sensor.reflector_drops, (std::set<Key>{{"198.51.100.9", 443}, {"203.0.113.7", 443}}));
}

// Without conntrack the sensor cannot tell a container's SYN-ACK from a
// reflected one: it never drops, and the event says so.
TEST(ReflectionWatch, ASensorThatCannotDropSaysSo) {
  ReflectFixture f;
  f.sensor.can_drop_reflections = false;
  f.watch.apply(ReflectionOptions{}, VerifiedOptions{}, false);
  f.run(1, 5000);
  ASSERT_TRUE(f.watch.active());
  const std::string log = f.logText();
  EXPECT_NE(log.find("\"response\":\"none\""), std::string::npos) << log;
  EXPECT_NE(log.find("conntrack"), std::string::npos) << log;
  EXPECT_FALSE(f.watch.statusJson()["reflection"]["active"]["dropping"].get<bool>());
}

TEST(ReflectionWatch, ReportOnlyWhenDropIsOff) {
  ReflectFixture f;
  ReflectionOptions r;
  r.drop = false;
  f.watch.apply(r, VerifiedOptions{}, false);
  f.run(1, 5000);
  EXPECT_TRUE(f.watch.active());
  EXPECT_FALSE(f.sensor.reflect_drop);
  EXPECT_NE(f.logText().find("\"response\":\"none\""), std::string::npos);
}

TEST(ReflectionWatch, SwitchingTheDropOffMidReflectionStopsDroppingAtOnce) {
  ReflectFixture f;
  f.watch.apply(ReflectionOptions{}, VerifiedOptions{}, false);
  f.run(1, 5000);
  ASSERT_TRUE(f.sensor.reflect_drop);
  ReflectionOptions r;
  r.drop = false;
  f.watch.apply(r, VerifiedOptions{}, false);
  EXPECT_FALSE(f.sensor.reflect_drop);
}

TEST(ReflectionWatch, APortFloodsPrefixBlockIsMarkedForVerifiedSourcesAnOperatorsIsNot) {
  Fixture f;
  BlockBook book{f.sensor, nullptr, f.log, f.clock, f.config, [](uint32_t) { return ""; }};
  BookPrefixResponder responder{book, [] { return std::chrono::seconds(60); }};
  PortFlood flood;
  flood.dst_port = 80;
  ResponsePlan plan;
  plan.prefixes = {*parsePrefix("203.0.113.0/24")};
  std::vector<Prefix> engaged;
  ASSERT_OK(responder.engage(flood, plan, &engaged));
  ASSERT_OK(book.blockPrefix(*parsePrefix("198.51.100.0/24"), std::chrono::seconds(60)));
  ASSERT_EQ(f.sensor.prefix_blocks.size(), 2u);
  for (const PrefixBlockEntry& e : f.sensor.prefix_blocks) {
    const bool flood_block = e.prefix.str() == "203.0.113.0/24";
    EXPECT_EQ((e.block.flags & SG_PFX_FLOOD) != 0, flood_block) << e.prefix.str();
  }
  EXPECT_NE(f.logText().find("\"origin\":\"port_flood\""), std::string::npos) << f.logText();
}

}  // namespace
}  // namespace sg::agent
