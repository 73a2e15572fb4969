// PortFloodWatch over FakeSensor and a real BlockBook: events, status,
// metrics, and the responses (prefix blocks, SYN cookies through a fake
// CookiePort) engaged and undone.
#include "agent/port_flood_watch.h"

#include <gtest/gtest.h>

#include <random>
#include <set>

#include "agent/block_book_fixture.h"
#include "agent/cookie_responder.h"
#include "core/tracker.h"

namespace sg::agent {
namespace {

constexpr uint64_t kTick = 100'000'000;

sg_pkt synTo(uint32_t src_v4) {
  sg_pkt p{};
  p.kind = SG_PKT_TCP;
  p.tcp_flags = SG_TCP_SYN;
  p.family = 4;
  p.has_src = 1;
  p.dst_port = 8080;
  p.dst = v4(192, 0, 2, 1);
  for (int i = 0; i < 4; i++) p.src.b[12 + i] = static_cast<uint8_t>(src_v4 >> (24 - 8 * i));
  p.src.b[10] = p.src.b[11] = 0xff;
  return p;
}

// No warm-up: the port is judged against its (empty) normal from the first
// harvest, so a flood is a "rate" one (a completion-ratio detection in a
// port's warm-up blocks no prefix: core/port_flood_response.h).
PortFloodOptions warm() {
  PortFloodOptions o;
  o.warmup = Nanos(0);
  return o;
}

struct WatchFixture : Fixture {
  BlockBook book{sensor, nullptr, log, clock, config, [](uint32_t) { return ""; }};
  BookPrefixResponder responder{book, [] { return std::chrono::seconds(60); }};
  PortFloodWatch watch{warm(), /*handshakes_visible=*/true, log, &responder};
  DstTable table{64, kDefaultHashKey, 64};
  std::mt19937 rng{5};

  // `seconds` of `per_sec` SYNs from sources under `mask` of 203.0.113.0.
  void flood(double seconds, uint32_t per_sec, uint32_t mask) {
    for (int t = 0; t < static_cast<int>(seconds * 10 + 0.5); t++) {
      for (uint32_t i = 0; i < per_sec / 10; i++) {
        table.onAttempt(synTo((0xcb007100u & ~mask) | (rng() & mask)));
      }
      clock.advance(kTick);
      watch.onSamples(clock.nowNs(), table.harvest());
    }
  }
};

// Records what is on; fails engage/release while told to.
struct FakeCookiePort : CookiePort {
  std::set<std::string> on;
  bool fail_engage = false;
  bool fail_release = false;
  Result<void> engage(uint16_t port, const Address& dst) override {
    if (fail_engage) return makeError(Errc::kUnavailable, "no kfunc bpf_xdp_ct_lookup");
    on.insert(dst.str() + ":" + std::to_string(port));
    return Ok{};
  }
  Result<void> release(uint16_t port, const Address& dst) override {
    if (fail_release) return makeError(Errc::kIo, "map gone");
    on.erase(dst.str() + ":" + std::to_string(port));
    return Ok{};
  }
  std::string mode() const override { return "xdp"; }
  Result<bool> repair() override { return false; }
};

struct CookieWatchFixture : WatchFixture {
  FakeCookiePort cookies;
  CookieResponder cookie_responder{cookies, log};
  PortFloodWatch both{warm(), /*handshakes_visible=*/true, log,
                      std::vector<PortFloodResponder*>{&responder, &cookie_responder}};

  void floodBoth(double seconds, uint32_t per_sec, uint32_t mask) {
    for (int t = 0; t < static_cast<int>(seconds * 10 + 0.5); t++) {
      for (uint32_t i = 0; i < per_sec / 10; i++) {
        table.onAttempt(synTo((0xcb007100u & ~mask) | (rng() & mask)));
      }
      clock.advance(kTick);
      both.onSamples(clock.nowNs(), table.harvest());
    }
  }
};

TEST(PortFloodWatch, ASpreadFloodGetsSynCookiesForItsTargetUntilItEnds) {
  CookieWatchFixture f;
  f.floodBoth(1, 10000, 0xffffff);  // 16M sources: no few prefixes to block
  std::string log = f.logText();
  EXPECT_NE(log.find("\"response\":\"syncookies\""), std::string::npos) << log;
  EXPECT_EQ(f.cookies.on, std::set<std::string>{"192.0.2.1:8080"});
  EXPECT_TRUE(f.sensor.prefix_blocks.empty());
  EXPECT_EQ(f.both.counters().responses, 1u);
  EXPECT_EQ(f.both.statusJson()["active"][0]["response"], "syncookies");

  f.floodBoth(6, 0, 0);
  log = f.logText();
  EXPECT_NE(log.find("\"event\":\"port_flood_ended\""), std::string::npos) << log;
  EXPECT_NE(log.find("\"response_undone\":true"), std::string::npos) << log;
  EXPECT_TRUE(f.cookies.on.empty()) << "cookies outlived the flood";
  EXPECT_EQ(f.both.counters().response_errors, 0u);
}

TEST(PortFloodWatch, AConcentratedFloodGetsPrefixBlocksAndSynCookies) {
  CookieWatchFixture f;
  f.floodBoth(1, 10000, 0xff);
  EXPECT_NE(f.logText().find("\"response\":\"prefix_block+syncookies\""), std::string::npos)
      << f.logText();
  EXPECT_EQ(f.sensor.prefix_blocks.size(), 1u);
  EXPECT_EQ(f.cookies.on.size(), 1u);
  f.floodBoth(6, 0, 0);
  EXPECT_TRUE(f.sensor.prefix_blocks.empty());
  EXPECT_TRUE(f.cookies.on.empty());
}

TEST(PortFloodWatch, CookiesThatFailToEngageAreLoggedAndCountedAndThePrefixBlockStands) {
  CookieWatchFixture f;
  f.cookies.fail_engage = true;
  f.floodBoth(1, 10000, 0xff);
  const std::string log = f.logText();
  EXPECT_NE(log.find("\"response\":\"prefix_block\""), std::string::npos) << log;
  EXPECT_NE(log.find("\"response_error\":\"syncookies (xdp) for 192.0.2.1:8080: no kfunc"),
            std::string::npos)
      << log;
  EXPECT_EQ(f.both.counters().response_errors, 1u);
  EXPECT_EQ(f.both.counters().responses, 1u);
  EXPECT_EQ(f.sensor.prefix_blocks.size(), 1u);
  EXPECT_NE(portFloodMetrics(f.both.counters(), f.both.activeCount())
                .find("syn_guard_port_flood_response_errors_total 1"),
            std::string::npos);
}

TEST(PortFloodWatch, CookiesThatFailToComeOffAreLoggedAndCounted) {
  CookieWatchFixture f;
  f.floodBoth(1, 10000, 0xffffff);
  f.cookies.fail_release = true;
  f.floodBoth(6, 0, 0);
  const std::string log = f.logText();
  EXPECT_NE(log.find("\"response_undone\":false"), std::string::npos) << log;
  EXPECT_NE(log.find("syncookies off for 192.0.2.1:8080: map gone"), std::string::npos) << log;
  EXPECT_EQ(f.both.counters().response_errors, 1u);
}

TEST(PortFloodWatch, AConcentratedFloodIsLoggedBlockedByPrefixAndUndoneAtItsEnd) {
  WatchFixture f;
  f.flood(1, 10000, 0xff);
  std::string log = f.logText();
  EXPECT_NE(log.find("\"event\":\"port_flood_detected\""), std::string::npos) << log;
  EXPECT_NE(log.find("\"response\":\"prefix_block\""), std::string::npos) << log;
  EXPECT_NE(log.find("\"dst\":\"192.0.2.1\""), std::string::npos) << log;
  EXPECT_NE(log.find("\"top_prefixes\":[{\"prefix\":\"203.0.113.0/24\""), std::string::npos);
  ASSERT_EQ(f.sensor.prefix_blocks.size(), 1u);
  EXPECT_EQ(f.sensor.prefix_blocks[0].prefix.str(), "203.0.113.0/24");
  EXPECT_EQ(f.watch.counters().detected, 1u);
  EXPECT_EQ(f.watch.counters().responses, 1u);
  const nlohmann::json st = f.watch.statusJson();
  ASSERT_EQ(st["active"].size(), 1u) << st.dump();
  EXPECT_EQ(st["active"][0]["response"], "prefix_block");
  EXPECT_NE(portFloodMetrics(f.watch.counters(), f.watch.activeCount())
                .find("syn_guard_port_floods_active 1"),
            std::string::npos);

  f.flood(6, 0, 0);  // quiet: the window empties, then end_after
  log = f.logText();
  EXPECT_NE(log.find("\"event\":\"port_flood_ended\""), std::string::npos) << log;
  EXPECT_NE(log.find("\"response_undone\":true"), std::string::npos) << log;
  EXPECT_TRUE(f.sensor.prefix_blocks.empty()) << "the response outlived the flood";
  EXPECT_EQ(f.watch.counters().ended, 1u);
  EXPECT_EQ(f.watch.activeCount(), 0u);
}

TEST(PortFloodWatch, APrefixBlockedBeforeTheFloodIsLeftInPlace) {
  WatchFixture f;
  ASSERT_OK(f.book.blockPrefix(*parsePrefix("203.0.113.0/24"), std::nullopt));
  f.flood(1, 10000, 0xff);
  f.flood(6, 0, 0);
  EXPECT_EQ(f.watch.counters().ended, 1u);
  ASSERT_EQ(f.sensor.prefix_blocks.size(), 1u) << "the operator's block was lifted";
}

// The responder alone: floods on two ports of this host choosing the same
// prefix (review finding: the first to end lifted the block the other still
// needed), and the operator's blocks, which no flood's end may lift.
struct ResponderFixture : Fixture {
  BlockBook book{sensor, nullptr, log, clock, config, [](uint32_t) { return ""; }};
  BookPrefixResponder responder{book, [] { return std::chrono::seconds(60); }};
  Prefix p = *parsePrefix("203.0.113.0/24");
  Prefix q = *parsePrefix("198.51.100.0/24");

  PortFlood on(uint16_t port) {
    PortFlood f;
    f.dst = v4(192, 0, 2, 1);
    f.dst_port = port;
    f.detected_ns = clock.nowNs();
    return f;
  }
  void hold(uint16_t port) { EXPECT_OK(responder.hold(on(port), clock.nowNs())); }
  std::vector<Prefix> engage(uint16_t port, std::vector<Prefix> prefixes) {
    std::vector<Prefix> engaged;
    auto r = responder.engage(on(port), ResponsePlan{std::move(prefixes), "test"}, &engaged);
    EXPECT_OK(r);
    return engaged;
  }
  void release(uint16_t port) { EXPECT_OK(responder.release(on(port))); }
  bool blocked(const Prefix& x) const { return book.hasPrefixBlock(x); }
};

TEST(BookPrefixResponder, OverlappingFloodsHoldASharedPrefixUntilTheLastEnds) {
  ResponderFixture f;
  EXPECT_EQ(f.engage(8080, {f.p}).size(), 1u);
  f.clock.advance(kTick);
  EXPECT_EQ(f.engage(9090, {f.p, f.q}).size(), 2u);  // renews p for itself
  f.release(8080);
  EXPECT_TRUE(f.blocked(f.p)) << "the first flood's end lifted the second's block";
  EXPECT_TRUE(f.blocked(f.q));
  f.release(9090);
  EXPECT_FALSE(f.blocked(f.p));
  EXPECT_FALSE(f.blocked(f.q));
  // In the other order too.
  f.engage(8080, {f.p});
  f.engage(9090, {f.p});
  f.release(9090);
  EXPECT_TRUE(f.blocked(f.p));
  f.release(8080);
  EXPECT_FALSE(f.blocked(f.p));
}

TEST(BookPrefixResponder, TheOperatorsPrefixBlockIsNeverLiftedByAFloodsEnd) {
  ResponderFixture f;
  // Blocked by hand before: the flood leaves it alone.
  ASSERT_OK(f.book.blockPrefix(f.p, std::nullopt));
  EXPECT_TRUE(f.engage(8080, {f.p}).empty());
  f.release(8080);
  EXPECT_TRUE(f.blocked(f.p));
  // Blocked by a flood, then by hand while the floods last: the operator's now.
  f.engage(8080, {f.q});
  f.engage(9090, {f.q});
  ASSERT_OK(f.book.blockPrefix(f.q, std::chrono::hours(1)));
  f.release(8080);
  f.release(9090);
  EXPECT_TRUE(f.blocked(f.q)) << "a flood's end lifted the operator's block";
  // A flood after that leaves it alone too.
  EXPECT_TRUE(f.engage(7070, {f.q}).empty());
  f.release(7070);
  EXPECT_TRUE(f.blocked(f.q));
}

TEST(BookPrefixResponder, AFloodsBlockIsRenewedWhileItLastsAndLiftedAtTheLastEnd) {
  ResponderFixture f;
  f.engage(8080, {f.p});
  // Held on every harvest: renewed once half of its 60 s has run, so it
  // never runs out while the flood goes on (it used to, at 60 s).
  for (int s = 0; s < 140; s++) {
    f.clock.advance(1'000'000'000);
    f.hold(8080);
    f.book.sweep();
    ASSERT_TRUE(f.blocked(f.p)) << "the block ran out " << s + 1 << " s into the flood";
  }
  EXPECT_EQ(f.book.counters().prefix_blocks, 5u) << "made once, renewed at 30, 60, 90, 120 s";
  // A second flood holds it too; the first's end leaves it, the last's lifts it.
  EXPECT_EQ(f.engage(9090, {f.p}).size(), 1u);
  f.release(8080);
  f.clock.advance(61'000'000'000);
  f.hold(9090);
  f.book.sweep();
  EXPECT_TRUE(f.blocked(f.p));
  f.release(9090);
  EXPECT_FALSE(f.blocked(f.p));
}

TEST(BookPrefixResponder, ABlockThatRanOutIsMadeAgainAndTheOperatorsIsNotRenewed) {
  ResponderFixture f;
  f.engage(8080, {f.p, f.q});
  f.clock.advance(61'000'000'000);  // no harvest for a minute: both ran out
  f.book.sweep();
  ASSERT_FALSE(f.blocked(f.p));
  ASSERT_OK(f.book.blockPrefix(f.q, std::chrono::seconds(5)));  // the operator's, 5 s
  f.hold(8080);
  EXPECT_TRUE(f.blocked(f.p)) << "a flood's block that ran out is made again";
  f.clock.advance(6'000'000'000);
  f.hold(8080);
  f.book.sweep();
  EXPECT_FALSE(f.blocked(f.q)) << "the operator's 5 s block was renewed by the flood";
  f.release(8080);
  EXPECT_FALSE(f.blocked(f.p));
}

// Review finding H5: a flood that lasts longer than the block duration got
// its prefixes back at 60 s (nothing renewed the block).
TEST(PortFloodWatch, APrefixBlockLastsAsLongAsTheFlood) {
  WatchFixture f;
  f.flood(1, 10000, 0xff);
  ASSERT_EQ(f.sensor.prefix_blocks.size(), 1u);
  f.flood(65, 10000, 0xff);  // the same flood, 65 s more
  f.book.sweep();
  EXPECT_EQ(f.watch.activeCount(), 1u) << "the flood is still on";
  EXPECT_TRUE(f.book.hasPrefixBlock(*parsePrefix("203.0.113.0/24")))
      << "the flood's /24 is no longer blocked while the flood continues";
  EXPECT_EQ(f.watch.counters().response_errors, 0u);
  f.flood(6, 0, 0);
  EXPECT_EQ(f.watch.counters().ended, 1u);
  EXPECT_TRUE(f.sensor.prefix_blocks.empty()) << "the renewed block outlived the flood";
}

TEST(PortFloodWatch, TheAllowlistComesFirst) {
  WatchFixture f;
  f.watch.setAllowlist({*parsePrefix("203.0.113.0/24")});
  f.flood(1, 10000, 0xff);
  EXPECT_EQ(f.watch.counters().detected, 1u);
  EXPECT_TRUE(f.sensor.prefix_blocks.empty());
  EXPECT_NE(f.logText().find("\"response\":\"none\""), std::string::npos);
}

// The operator (ctl unblock) or the console lifts a flood's prefix block (a
// false positive: a CDN's or a NAT's prefix): the next harvests find no block,
// as for one that ran out, but must not make it again (review s15 M1). It
// stays open for the rest of that flood; the flood's other prefix is still
// renewed; a later flood may block it again.
TEST(BookPrefixResponder, TheOperatorsUnblockIsNotUndoneByTheNextHarvest) {
  ResponderFixture f;
  f.engage(8080, {f.p, f.q});
  ASSERT_TRUE(f.blocked(f.p));
  ASSERT_OK(f.book.unblockPrefix(f.p));  // ctl unblock / the console's unblock
  ASSERT_FALSE(f.blocked(f.p));
  f.clock.advance(1'000'000'000);
  f.hold(8080);  // the next harvest, the flood still on
  EXPECT_FALSE(f.blocked(f.p)) << "the operator's unblock was undone by the flood's renewal";
  for (int i = 0; i < 70; i++) {  // past the 60 s block: q is renewed, p stays open
    f.clock.advance(1'000'000'000);
    f.hold(8080);
    f.book.sweep();
  }
  EXPECT_FALSE(f.blocked(f.p));
  EXPECT_TRUE(f.blocked(f.q)) << "the flood's other prefix is still held";
  f.release(8080);
  EXPECT_FALSE(f.blocked(f.q));
  f.engage(9090, {f.p});
  EXPECT_TRUE(f.blocked(f.p)) << "a later flood blocks it again";
}

}  // namespace
}  // namespace sg::agent
