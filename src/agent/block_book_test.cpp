#include "agent/block_book.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "agent/block_book_fixture.h"
#include "test_helpers.h"

namespace sg::agent {
namespace {

TEST(BlockBook, KernelEventIsLoggedAndExpires) {
  Fixture f;
  BlockBook book(f.sensor, nullptr, f.log, f.clock, f.config, [](uint32_t) { return "eth0"; });
  sg_addr src = v4(198, 51, 100, 7);
  sg_event ev = blockEvent(src, f.clock.nowNs(), 60'000'000'000);
  f.sensor.blocks.push_back(
      {src, {ev.ts_ns, ev.ts_ns + ev.block_ns, 0, 201, 8080, 0, SG_BLK_XDP_DROP}});
  book.onKernelEvent(ev);
  std::string text = f.logText();
  EXPECT_NE(text.find("\"event\":\"flood_detected\""), std::string::npos) << text;
  EXPECT_NE(text.find("\"event\":\"block_added\""), std::string::npos) << text;
  EXPECT_NE(text.find("\"src\":\"198.51.100.7\""), std::string::npos);
  EXPECT_NE(text.find("\"dst_port\":8080"), std::string::npos);
  EXPECT_NE(text.find("\"interface\":\"eth0\""), std::string::npos);
  EXPECT_EQ(book.knownBlocks(), 1u);
  EXPECT_EQ(book.nextExpiryNs(), ev.ts_ns + ev.block_ns);

  f.clock.advance(59'000'000'000);
  book.sweep();
  EXPECT_EQ(book.knownBlocks(), 1u);
  f.clock.advance(1'000'000'000);
  book.sweep();
  EXPECT_EQ(book.knownBlocks(), 0u);
  EXPECT_EQ(book.counters().blocks_expired, 1u);
  EXPECT_NE(f.logText().find("\"event\":\"block_expired\""), std::string::npos);
}

// The kernel counted 201 attempts in the 40 ms since the source's first one
// (its event's first_ns): the log says 5,025/s observed, not 201 / 5 s.
TEST(BlockBook, KernelEventLogsTheRateObservedOverItsSpan) {
  Fixture f;
  BlockBook book(f.sensor, nullptr, f.log, f.clock, f.config, [](uint32_t) { return "eth0"; });
  sg_addr src = v4(198, 51, 100, 8);
  sg_event ev = blockEvent(src, f.clock.nowNs(), 60'000'000'000);
  ev.first_ns = ev.ts_ns - 40'000'000;
  f.sensor.blocks.push_back(
      {src, {ev.ts_ns, ev.ts_ns + ev.block_ns, 0, 201, 8080, 0, SG_BLK_XDP_DROP}});
  book.onKernelEvent(ev);
  std::string text = f.logText();
  EXPECT_NE(text.find("\"rate\":5025,"), std::string::npos) << text;
  EXPECT_NE(text.find("\"span_ms\":40,"), std::string::npos) << text;

  // Within one tick of the program's clock: taken over a tick (4 ms).
  sg_addr burst = v4(198, 51, 100, 9);
  sg_event fast = blockEvent(burst, f.clock.nowNs(), 60'000'000'000);
  fast.first_ns = fast.ts_ns;
  f.sensor.blocks.push_back(
      {burst, {fast.ts_ns, fast.ts_ns + fast.block_ns, 0, 201, 8080, 0, SG_BLK_XDP_DROP}});
  book.onKernelEvent(fast);
  EXPECT_NE(f.logText().find("\"rate\":50250,"), std::string::npos) << f.logText();
}

// A count within one tick is taken over the sensor's own tick (review L4):
// 10 ms on an HZ=100 kernel (a 4 ms floor overstated it 2.5x), 1 ms at
// HZ=1000 (4 ms understated it 4x).
TEST(BlockBook, RateWithinOneTickIsTakenOverTheSensorsTick) {
  for (const auto& [tick_ns, rate] : {std::pair<uint64_t, const char*>{10'000'000, "20100"},
                                      {1'000'000, "201000"},
                                      {3'333'333, "60300"}}) {
    Fixture f;
    f.sensor.tick_ns = tick_ns;
    BlockBook book(f.sensor, nullptr, f.log, f.clock, f.config, [](uint32_t) { return "eth0"; });
    sg_addr burst = v4(198, 51, 100, 10);
    sg_event fast = blockEvent(burst, f.clock.nowNs(), 60'000'000'000);
    fast.first_ns = fast.ts_ns;
    f.sensor.blocks.push_back(
        {burst, {fast.ts_ns, fast.ts_ns + fast.block_ns, 0, 201, 8080, 0, SG_BLK_XDP_DROP}});
    book.onKernelEvent(fast);
    EXPECT_NE(f.logText().find(std::string("\"rate\":") + rate + ","), std::string::npos)
        << "tick " << tick_ns << ": " << f.logText();
  }
}

TEST(BlockBook, NftablesModeHandsOffAndKeepsXdpOnEnforcerFailure) {
  Fixture f;
  f.config.enforcer = EnforcerKind::kNftables;
  FakeEnforcer nft;
  BlockBook book(f.sensor, &nft, f.log, f.clock, f.config, [](uint32_t) { return "eth0"; });
  sg_addr a = v4(203, 0, 113, 1);
  f.sensor.blocks.push_back(
      {a, {f.clock.nowNs(), f.clock.nowNs() + 5'000'000'000, 0, 0, 0, 0, SG_BLK_XDP_DROP}});
  book.onKernelEvent(blockEvent(a, f.clock.nowNs(), 5'000'000'000));
  ASSERT_EQ(nft.calls.size(), 1u);
  EXPECT_EQ(nft.calls[0], "block 203.0.113.1 5000");
  EXPECT_EQ(f.sensor.handed_off, 1);
  EXPECT_TRUE(f.sensor.blocks[0].block.flags & SG_BLK_HANDED_OFF);

  nft.fail = true;
  sg_addr b = v4(203, 0, 113, 2);
  f.sensor.blocks.push_back(
      {b, {f.clock.nowNs(), f.clock.nowNs() + 5'000'000'000, 0, 0, 0, 0, SG_BLK_XDP_DROP}});
  book.onKernelEvent(blockEvent(b, f.clock.nowNs(), 5'000'000'000));
  EXPECT_EQ(f.sensor.handed_off, 1) << "a failed hand-off must leave XDP dropping";
  EXPECT_EQ(book.counters().enforcer_errors, 1u);
}

size_t occurrences(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST(BlockBook, EnforcerAndHandOffFailuresAreEachCountedAndLoggedOncePerRun) {
  Fixture f;
  f.config.enforcer = EnforcerKind::kNftables;
  FakeEnforcer nft;
  BlockBook book(f.sensor, &nft, f.log, f.clock, f.config, [](uint32_t) { return "eth0"; });
  auto detect = [&](uint8_t last) {
    sg_addr a = v4(203, 0, 113, last);
    f.sensor.blocks.push_back(
        {a, {f.clock.nowNs(), f.clock.nowNs() + 5'000'000'000, 0, 0, 0, 0, SG_BLK_XDP_DROP}});
    book.onKernelEvent(blockEvent(a, f.clock.nowNs(), 5'000'000'000));
  };
  nft.fail = true;
  for (uint8_t i = 1; i <= 3; ++i) detect(i);
  EXPECT_EQ(book.counters().enforcer_errors, 3u);
  EXPECT_EQ(occurrences(f.logText(), "enforcer down"), 1u) << f.logText();
  nft.fail = false;
  detect(4);  // the run ends: one line says how many failed in it
  EXPECT_EQ(occurrences(f.logText(), "\"failed\":3"), 1u) << f.logText();
  nft.fail = true;
  detect(5);  // a new run is logged again
  EXPECT_EQ(occurrences(f.logText(), "enforcer down"), 2u) << f.logText();

  // The hand-off (marking the kernel block) failing: XDP keeps dropping;
  // counted as an enforcer error, logged once.
  nft.fail = false;
  f.sensor.fail_handoff = true;
  for (uint8_t i = 6; i <= 8; ++i) detect(i);
  EXPECT_EQ(book.counters().enforcer_errors, 7u);
  EXPECT_EQ(occurrences(f.logText(), "map update failed"), 1u) << f.logText();
}

TEST(BlockBook, EnforcerDropsStayMonotonicWhenTheCounterCannotBeRead) {
  Fixture f;
  f.config.enforcer = EnforcerKind::kNftables;
  FakeEnforcer nft;
  BlockBook book(f.sensor, &nft, f.log, f.clock, f.config, [](uint32_t) { return ""; });
  nft.dropped = 40;
  EXPECT_EQ(book.enforcerDrops(), 40u);
  nft.fail_read = true;
  EXPECT_EQ(book.enforcerDrops(), 40u);  // the last good reading: a counter never goes down
  EXPECT_EQ(book.enforcerDrops(), 40u);
  EXPECT_EQ(book.counters().enforcer_read_errors, 2u);
  EXPECT_EQ(occurrences(f.logText(), "counter unreadable"), 1u) << f.logText();
  nft.fail_read = false;
  nft.dropped = 55;
  EXPECT_EQ(book.enforcerDrops(), 55u);
  BlockBook xdp_only(f.sensor, nullptr, f.log, f.clock, f.config, [](uint32_t) { return ""; });
  EXPECT_EQ(xdp_only.enforcerDrops(), 0u);
}

TEST(BlockBook, ReconcileAdoptsBlocksWhoseEventWasSuppressed) {
  Fixture f;
  BlockBook book(f.sensor, nullptr, f.log, f.clock, f.config, [](uint32_t) { return "eth0"; });
  sg_addr a = v4(192, 0, 2, 9);
  f.sensor.blocks.push_back(
      {a, {f.clock.nowNs(), f.clock.nowNs() + 1'000'000'000, 0, 300, 22, 0, SG_BLK_XDP_DROP}});
  book.sweep();
  EXPECT_EQ(book.counters().late_blocks, 1u);
  EXPECT_EQ(book.knownBlocks(), 1u);
  EXPECT_NE(f.logText().find("\"late\":true"), std::string::npos);
  // The kernel deleted it lazily: reconcile reports the expiry.
  f.sensor.blocks.clear();
  book.sweep();
  EXPECT_EQ(book.knownBlocks(), 0u);
  EXPECT_EQ(book.counters().blocks_expired, 1u);
}

// A flooder whose block expires re-crosses at once, before the agent's sweep:
// the kernel deleted the old block on a packet and inserted a new one.
TEST(BlockBook, ReCrossBeforeTheSweepIsAHandedOffNewBlock) {
  Fixture f;
  f.config.enforcer = EnforcerKind::kNftables;
  FakeEnforcer nft;
  BlockBook book(f.sensor, &nft, f.log, f.clock, f.config, [](uint32_t) { return "eth0"; });
  sg_addr s = v4(198, 51, 100, 9);
  const uint64_t t0 = f.clock.nowNs();
  f.sensor.blocks.push_back({s, {t0, t0 + 10'000'000'000, 0, 201, 80, 0, SG_BLK_XDP_DROP}});
  book.onKernelEvent(blockEvent(s, t0, 10'000'000'000));
  ASSERT_EQ(nft.calls.size(), 1u);

  const uint64_t t1 = t0 + 10'000'500'000;  // 0.5 ms after the expiry
  f.clock.set(t1);
  f.sensor.blocks.clear();
  f.sensor.blocks.push_back({s, {t1, t1 + 20'000'000'000, 0, 201, 80, 1, SG_BLK_XDP_DROP}});
  sg_event again = blockEvent(s, t1, 20'000'000'000);
  again.level = 1;
  book.onKernelEvent(again);

  EXPECT_EQ(nft.calls.size(), 2u) << "the new block must reach the enforcer";
  EXPECT_EQ(book.counters().blocks_expired, 1u);
  EXPECT_EQ(book.knownBlocks(), 1u);
  EXPECT_EQ(book.nextExpiryNs(), t1 + 20'000'000'000)
      << "a stale expiry in the past makes the agent sweep every 2 ms";
  std::string text = f.logText();
  EXPECT_NE(text.find("\"event\":\"block_expired\""), std::string::npos) << text;
  EXPECT_NE(text.find("\"level\":1"), std::string::npos) << text;
}

// Same, but the re-cross's event was suppressed: reconcile finds a different
// block under a known key.
TEST(BlockBook, ReconcileTellsANewBlockUnderAKnownKey) {
  Fixture f;
  BlockBook book(f.sensor, nullptr, f.log, f.clock, f.config, [](uint32_t) { return "eth0"; });
  sg_addr s = v4(198, 51, 100, 10);
  const uint64_t t0 = f.clock.nowNs();
  f.sensor.blocks.push_back({s, {t0, t0 + 10'000'000'000, 0, 201, 80, 0, SG_BLK_XDP_DROP}});
  book.onKernelEvent(blockEvent(s, t0, 10'000'000'000));
  const uint64_t t1 = t0 + 10'000'500'000;
  f.clock.set(t1 + 1'000'000);
  f.sensor.blocks.clear();
  f.sensor.blocks.push_back({s, {t1, t1 + 20'000'000'000, 7, 201, 80, 1, SG_BLK_XDP_DROP}});
  book.sweep();
  EXPECT_EQ(book.counters().blocks_expired, 1u);
  EXPECT_EQ(book.counters().late_blocks, 1u);
  EXPECT_EQ(book.nextExpiryNs(), t1 + 20'000'000'000);
}

// The demo's first expiry read "after dropping 0 packets": the kernel deletes
// an expired block on the flooder's next packet, taking its drop count with
// it, and the agent had read the count only in sweeps, which every other
// wake-up (a status request every 250 ms) postponed. The agent's loop is
// simulated here: a wake-up every 250 ms, and the sweep when it is due.
TEST(BlockBook, DropsOfABlockTheKernelDeletedOnAPacketAreKept) {
  Fixture f;
  BlockBook book(f.sensor, nullptr, f.log, f.clock, f.config, [](uint32_t) { return "eth0"; });
  sg_addr s = v4(198, 51, 100, 11);
  const uint64_t t0 = f.clock.nowNs();
  const uint64_t expiry = t0 + 10'000'000'000;
  f.sensor.blocks.push_back({s, {t0, expiry, 0, 201, 80, 0, SG_BLK_XDP_DROP}});
  book.onKernelEvent(blockEvent(s, t0, 10'000'000'000));
  const uint64_t per_ms = 100;  // 100k packets a second
  uint64_t t = t0;
  while (t < expiry + 2'000'000'000) {
    uint64_t due = book.nextSweepNs();
    uint64_t next = std::min(t + 250'000'000, due);
    f.clock.set(next);
    t = next;
    if (t < expiry) {
      f.sensor.blocks[0].block.drops = (t - t0) / 1'000'000 * per_ms;
    } else {
      f.sensor.blocks.clear();  // the flooder's next packet: deleted on the spot
    }
    if (t >= due) book.sweep();
  }
  std::string text = f.logText();
  auto at = text.find("\"event\":\"block_expired\"");
  ASSERT_NE(at, std::string::npos) << text;
  auto line = nlohmann::json::parse(
      text.substr(text.rfind('\n', at) + 1, text.find('\n', at) - text.rfind('\n', at) - 1));
  const uint64_t total = 10'000 * per_ms;
  EXPECT_GE(line["dropped"].get<uint64_t>(), total * 99 / 100) << line.dump();
}

TEST(BlockBook, PermanentBlockNeverExpiresIsSavedAndUnblockForgetsIt) {
  Fixture f;
  f.config.enforcer = EnforcerKind::kNftables;
  FakeEnforcer nft;
  MemoryBlockStore store;
  BlockBook book(f.sensor, &nft, f.log, f.clock, f.config, [](uint32_t) { return ""; });
  book.setStore(&store);
  auto addr = *parseAddress("192.0.2.70");
  auto r = book.block(addr, std::chrono::seconds(1), true);
  ASSERT_OK(r);
  EXPECT_EQ((*r)["permanent"], true);
  EXPECT_TRUE(nft.calls.empty()) << "XDP holds a permanent block: nftables elements time out";
  ASSERT_EQ(f.sensor.blocks.size(), 1u);
  EXPECT_EQ(f.sensor.blocks[0].block.expires_ns, BlockBook::kPermanentNs);
  EXPECT_EQ(store.saved.sources, std::vector<std::string>{"192.0.2.70"});
  book.sweep();
  EXPECT_EQ(book.nextSweepNs(), f.clock.nowNs() + BlockBook::kReconcileNs)
      << "a permanent block schedules no sweep of its own";

  f.clock.advance(1'000'000'000'000);  // 1000 s on
  book.sweep();
  EXPECT_EQ(book.knownBlocks(), 1u);
  ASSERT_EQ(f.sensor.blocks.size(), 1u);

  ASSERT_OK(book.unblock(addr));
  EXPECT_TRUE(f.sensor.blocks.empty());
  EXPECT_TRUE(store.saved.empty());
}

TEST(BlockBook, PermanentBlockThatCannotBeSavedSaysSo) {
  Fixture f;
  MemoryBlockStore store;
  store.fail = true;
  BlockBook book(f.sensor, nullptr, f.log, f.clock, f.config, [](uint32_t) { return ""; });
  book.setStore(&store);
  auto r = book.block(*parseAddress("192.0.2.71"), std::chrono::seconds(1), true);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("not saved"), std::string::npos) << r.error().message();
}

// At start: the pinned table's live blocks are adopted (and handed to
// nftables again), expired ones left to the first sweep, and the state
// file's permanent blocks re-applied where the table lacks them.
TEST(BlockBook, RestoreAdoptsThePinnedTableAndReappliesSavedPermanentBlocks) {
  Fixture f;
  f.config.enforcer = EnforcerKind::kNftables;
  FakeEnforcer nft;
  MemoryBlockStore store;
  store.saved.sources = {"192.0.2.80", "2001:db8:7:8::/64"};
  const uint64_t now = f.clock.nowNs();
  f.sensor.blocks.push_back(
      {v4(192, 0, 2, 81), {now - 1, now + 30'000'000'000, 9, 201, 80, 0, SG_BLK_XDP_DROP}});
  f.sensor.blocks.push_back(
      {v4(192, 0, 2, 82), {now - 9, now - 1, 5, 201, 80, 0, SG_BLK_XDP_DROP}});  // expired
  f.sensor.blocks.push_back(
      {v4(192, 0, 2, 80),
       {now - 5, BlockBook::kPermanentNs, 0, 0, 0, 0, SG_BLK_XDP_DROP | SG_BLK_MANUAL}});
  BlockBook book(f.sensor, &nft, f.log, f.clock, f.config, [](uint32_t) { return ""; });
  book.setStore(&store);
  book.restore();
  book.sweep();
  EXPECT_EQ(book.knownBlocks(), 3u);  // .81 (timed), .80 (permanent), the /64
  ASSERT_EQ(nft.calls.size(), 1u);
  EXPECT_EQ(nft.calls[0], "block 192.0.2.81 30000");
  EXPECT_EQ(f.sensor.blocks.size(), 3u) << "the expired .82 is swept";
  bool v6 = false;
  for (const auto& e : f.sensor.blocks) {
    if (Address{e.key}.str() == "2001:db8:7:8::") {
      v6 = true;
      EXPECT_EQ(e.block.expires_ns, BlockBook::kPermanentNs);
    }
  }
  EXPECT_TRUE(v6) << "the saved /64 is blocked again";
  EXPECT_EQ(book.counters().blocks_expired, 1u);
  std::string text = f.logText();
  EXPECT_NE(text.find("\"from\":\"state file\""), std::string::npos) << text;
  EXPECT_NE(text.find("\"from\":\"pinned table\""), std::string::npos) << text;
}

TEST(BlockBook, ASavedPrefixOfAnotherCountingLengthIsNotWidened) {
  Fixture f;  // counts IPv6 per /64
  MemoryBlockStore store;
  store.saved.sources = {"2001:db8:7::/48", "2001:db8:7:8::/64"};
  BlockBook book(f.sensor, nullptr, f.log, f.clock, f.config, [](uint32_t) { return ""; });
  book.setStore(&store);
  book.restore();
  ASSERT_EQ(f.sensor.blocks.size(), 1u) << "only the /64 saved under /64 comes back";
  EXPECT_EQ(Address{f.sensor.blocks[0].key}.str(), "2001:db8:7:8::");
  const std::string text = f.logText();
  EXPECT_NE(text.find("was saved with the counting prefix /48"), std::string::npos) << text;
}

TEST(BlockBook, ManualBlockUnblockAndErrors) {
  Fixture f;
  f.config.allow.push_back(*parsePrefix("10.0.0.0/8"));
  BlockBook book(f.sensor, nullptr, f.log, f.clock, f.config, [](uint32_t) { return ""; });
  auto addr = parseAddress("192.0.2.50");
  ASSERT_OK(addr);
  auto r = book.block(*addr, std::chrono::minutes(10));
  ASSERT_OK(r);
  EXPECT_EQ((*r)["origin"], "manual");
  EXPECT_EQ((*r)["block_ms"], 600000);
  ASSERT_EQ(f.sensor.blocks.size(), 1u);
  EXPECT_TRUE(f.sensor.blocks[0].block.flags & SG_BLK_XDP_DROP);
  EXPECT_ERROR(book.block(*parseAddress("10.1.2.3"), std::chrono::minutes(1)),
               Errc::kInvalidArgument);
  EXPECT_OK(book.unblock(*addr));
  EXPECT_TRUE(f.sensor.blocks.empty());
  EXPECT_ERROR(book.unblock(*addr), Errc::kNotFound);
}

TEST(BlockBook, ManualIpv6BlockCoversTheCountedPrefix) {
  Fixture f;
  BlockBook book(f.sensor, nullptr, f.log, f.clock, f.config, [](uint32_t) { return ""; });
  ASSERT_OK(book.block(*parseAddress("2001:db8:1:2::99"), std::chrono::seconds(30)));
  ASSERT_EQ(f.sensor.blocks.size(), 1u);
  EXPECT_EQ(Address{f.sensor.blocks[0].key}.str(), "2001:db8:1:2::");
  auto blocks = book.blocksJson();
  ASSERT_OK(blocks);
  EXPECT_EQ((*blocks)[0]["src"], "2001:db8:1:2::/64");
}

TEST(BlockBook, DetectOnlyRefusesManualBlocks) {
  Fixture f;
  f.config.enforcer = EnforcerKind::kNone;
  BlockBook book(f.sensor, nullptr, f.log, f.clock, f.config, [](uint32_t) { return ""; });
  EXPECT_ERROR(book.block(*parseAddress("192.0.2.1"), std::chrono::seconds(1)),
               Errc::kInvalidArgument);
}

}  // namespace
}  // namespace sg::agent
