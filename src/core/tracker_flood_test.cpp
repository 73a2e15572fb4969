// Tracker under load: the window's error bound against an exact count, the
// slot array's bound and replacement, and the sketch gating a random-source
// (spoofed) flood.
#include <gtest/gtest.h>

#include <algorithm>
#include <deque>
#include <random>

#include "core/tracker.h"
#include "core/tracker_test_util.h"
#include "sg_track.h"

namespace sg {
namespace {

using test::kSec;
using test::kT0;
using test::syn;
using test::v4;

// The window arithmetic the tracker (and the kernel) use, against an exact
// count of the attempts in (now - window, now], over random arrivals.
TEST(SlidingWindow, ErrorIsBoundedByThePreviousBucketAndExactInTheFirstWindow) {
  std::mt19937_64 rng(12345);
  const uint64_t window = 5 * kSec;
  for (int trial = 0; trial < 200; trial++) {
    sg_window w{};
    std::deque<uint64_t> recent;  // exact reference
    uint64_t now = kT0 + rng() % kSec;
    const uint64_t first = now;
    // Bursty random gaps: mostly short, sometimes longer than two windows.
    std::exponential_distribution<double> gap(1.0 / (static_cast<double>(kSec) / 20));
    for (int i = 0; i < 400; i++) {
      now += static_cast<uint64_t>(gap(rng)) + 1;
      if (rng() % 50 == 0) now += rng() % (3 * window);
      sg_window_record(&w, now, window);
      recent.push_back(now);
      while (!recent.empty() && recent.front() + window <= now) recent.pop_front();
      const int64_t truth = static_cast<int64_t>(recent.size());
      const int64_t est = sg_window_estimate(&w, now, window);
      ASSERT_LE(std::llabs(est - truth), static_cast<int64_t>(w.prev_count))
          << "trial " << trial << " attempt " << i;
      if (now - first < window) {
        ASSERT_EQ(est, truth) << "first window must be exact";
      }
    }
  }
}

TEST(Tracker, ExactStateStaysWithinItsSlotsAndCountsFilledSlots) {
  TrackerOptions o = test::testOptions(20);
  o.max_sources = 100;  // 128 slots, 64 sets of 2
  Tracker t(o);
  ASSERT_EQ(t.sourceCapacity(), 128u);
  std::vector<sg_event> ev;
  uint64_t now = kT0;
  for (uint32_t i = 0; i < 1000; i++, now += 1000) {
    t.onPacket(syn(v4(0x0C000000 + i)), now, &ev);
    ASSERT_LE(t.sourceCount(), 128u);
  }
  EXPECT_EQ(t.counters().c[SG_CNT_SOURCES_NEW], 1000u);
  // 1,000 random keys into 64 sets: every set filled, so every slot.
  EXPECT_EQ(t.sourceCount(), 128u);
  EXPECT_TRUE(ev.empty());
}

TEST(Tracker, ANewSourceReplacesTheWayOfItsSetSeenLeastRecently) {
  TrackerOptions o = test::testOptions(5);
  o.max_sources = 64;
  Tracker t(o);
  std::vector<sg_event> ev;
  const sg_addr a = v4(0x0B000001);
  const std::vector<sg_addr> rivals = test::sameSet(a, 64, 2);
  ASSERT_EQ(rivals.size(), 2u);
  const sg_addr b = rivals[0], c = rivals[1];
  uint64_t now = kT0;
  for (int i = 0; i < 3; i++) t.onPacket(syn(a), now += 1000, &ev);  // a: 3 attempts
  for (int i = 0; i < 3; i++) t.onPacket(syn(b), now += 1000, &ev);  // b: 3 attempts
  t.onPacket(syn(a), now += 1000, &ev);  // a: 4, now the more recent way
  EXPECT_EQ(t.sourceCount(), 2u);
  t.onPacket(syn(c), now += 1000, &ev);  // evicts b, the older way
  EXPECT_EQ(t.sourceCount(), 2u) << "a replaced slot was already filled";
  EXPECT_EQ(t.counters().c[SG_CNT_SOURCES_NEW], 3u);
  // a kept its count: 2 more attempts cross (threshold 5).
  t.onPacket(syn(a), now += 1000, &ev);
  EXPECT_EQ(t.onPacket(syn(a), now += 1000, &ev), Verdict::kDrop);
  // b lost its 3: re-admitted (evicting c, older than a), it needs 6 again.
  for (int i = 0; i < 5; i++) {
    EXPECT_EQ(t.onPacket(syn(b), now += 1000, &ev), Verdict::kPass) << i;
  }
  EXPECT_EQ(t.counters().c[SG_CNT_SOURCES_NEW], 4u);
  EXPECT_EQ(t.onPacket(syn(b), now += 1000, &ev), Verdict::kDrop);
}

// The line-blocked sketch: a key's cells are distinct cells of one line, and
// its estimate never falls below its true count in the epoch (count-min).
TEST(Sketch, CellsAreDistinctInOneLineAndEstimatesNeverUndercount) {
  std::mt19937_64 rng(99);
  for (int i = 0; i < 10000; i++) {
    const uint64_t h = rng();
    uint32_t seen = 0;
    for (uint32_t r = 0; r < SG_SKETCH_DEPTH; r++) seen |= 1u << sg_sketch_cell_of(h, r);
    ASSERT_EQ(__builtin_popcount(seen), SG_SKETCH_DEPTH) << std::hex << h;
  }
  std::vector<sg_sketch_line> lines(SG_SKETCH_LINES);
  std::vector<uint32_t> truth(50000);
  for (int i = 0; i < 200000; i++) {
    // Skewed: a few heavy keys among many light ones, all in epoch 7.
    const uint32_t k = rng() % 4 == 0 ? static_cast<uint32_t>(rng() % 20)
                                      : static_cast<uint32_t>(rng() % truth.size());
    const sg_addr a = v4(0x0E000000 + k);
    const uint32_t est = sg_sketch_add(lines.data(), sg_addr_hash(&a, &kDefaultHashKey), 7);
    truth[k]++;
    ASSERT_GE(est, truth[k]) << "key " << k;
  }
  // Another epoch: every cell reads as empty again.
  const sg_addr a = v4(0x0E000001);
  EXPECT_EQ(sg_sketch_add(lines.data(), sg_addr_hash(&a, &kDefaultHashKey), 8), 1u);
}

struct FloodResult {
  int heavy_attempts_before_block = 0;
  int blocks = 0;
  int wrong_blocks = 0;
  uint32_t max_floor = 0;
  size_t max_sources_seen = 0;
};

// 5,000 random sources per second for 10 s (1–2 SYNs each); from t=3 s a
// heavy source sends 100 SYNs/s in the middle of it.
FloodResult runFlood(Tracker& t, uint64_t seed) {
  std::mt19937_64 rng(seed);
  FloodResult r;
  const sg_addr heavy = v4(0xC6336407);
  std::vector<sg_event> ev;
  bool heavy_blocked = false;
  uint64_t sketched_in_epoch = 0, epoch = 0;
  for (uint64_t step = 0; step < 50'000; step++) {
    const uint64_t now = kT0 + step * (kSec / 5000);
    const sg_addr spoofed = v4(static_cast<uint32_t>(rng()) | 0x01000000);
    for (uint64_t k = 0; k < 1 + (rng() % 8 == 0); k++) t.onPacket(syn(spoofed), now, &ev);
    if (step >= 15'000 && step % 50 == 0 && !heavy_blocked) {
      r.heavy_attempts_before_block++;
      heavy_blocked = t.onPacket(syn(heavy), now, &ev) == Verdict::kDrop;
    }
    r.max_sources_seen = std::max(r.max_sources_seen, t.sourceCount());
    if ((now >> SG_EPOCH_SHIFT) != epoch) {
      epoch = now >> SG_EPOCH_SHIFT;
      sketched_in_epoch = 0;
    }
    sketched_in_epoch += 2;  // upper bound on sketch updates per step
    r.max_floor =
        std::max(r.max_floor, static_cast<uint32_t>(sketched_in_epoch >> SG_SKETCH_FLOOR_SHIFT));
  }
  for (const sg_event& e : ev) {
    if (e.type != SG_EV_BLOCK_ADDED) continue;
    r.blocks++;
    if (std::memcmp(e.src.b, heavy.b, 16) != 0) r.wrong_blocks++;
  }
  if (!heavy_blocked) r.heavy_attempts_before_block = -1;
  return r;
}

TEST(Tracker, SketchGatesASpoofedFloodAndStillCatchesTheHeavySource) {
  TrackerOptions o = test::testOptions(200);
  o.max_sources = 2000;
  o.cfg.admit_per_sec = 500;
  o.cfg.admit_min = 8;
  for (uint64_t seed : {1u, 2u, 3u}) {
    Tracker t(o);
    FloodResult r = runFlood(t, seed);
    EXPECT_LE(r.max_sources_seen, t.sourceCapacity());
    EXPECT_GT(t.counters().c[SG_CNT_SKETCH_GATED], 40'000u);
    EXPECT_EQ(r.wrong_blocks, 0) << "a spoofed source was blocked";
    EXPECT_EQ(r.blocks, 1);
    ASSERT_GT(r.heavy_attempts_before_block, 0) << "heavy source never blocked";
    // Documented lateness: up to admit_min-1 attempts lost in the sketch in
    // each of two epochs, plus the noise floor.
    const int bound =
        static_cast<int>(o.cfg.threshold + 1 + 2 * (o.cfg.admit_min - 1) + 2 * r.max_floor);
    EXPECT_GE(r.heavy_attempts_before_block, static_cast<int>(o.cfg.threshold) + 1);
    EXPECT_LE(r.heavy_attempts_before_block, bound);
  }
}

TEST(Tracker, PressureEventOncePerEpoch) {
  TrackerOptions o = test::testOptions(200);
  o.cfg.admit_per_sec = 10;
  Tracker t(o);
  std::vector<sg_event> ev;
  const uint64_t start = 300ull << SG_EPOCH_SHIFT;
  for (uint32_t i = 0; i < 100; i++) t.onPacket(syn(v4(0x0D000000 + i)), start + i, &ev);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].type, static_cast<uint32_t>(SG_EV_PRESSURE));
  EXPECT_EQ(ev[0].count, 10u);
  EXPECT_EQ(t.sourceCount(), 10u);
  EXPECT_EQ(t.counters().c[SG_CNT_SKETCH_GATED], 90u);
}

// The crossing's event says over what span its count was counted, so the
// agent reports the rate it observed (a 5,000/s burst is not count / window):
// in a source's first window from its first attempt; once an earlier bucket
// counts too, the whole window.
TEST(Tracker, CrossingEventCarriesTheStartOfItsCountsSpan) {
  Tracker t(test::testOptions(50));  // 5 s window
  std::vector<sg_event> ev;
  uint64_t now = kT0;
  const uint64_t first = now;
  for (int i = 0; i < 60 && ev.empty(); i++, now += kSec / 5000)
    t.onPacket(syn(v4(0x0C000001)), now, &ev);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].first_ns, first);
  const double rate = ev[0].count * 1e9 / static_cast<double>(ev[0].ts_ns - ev[0].first_ns);
  EXPECT_NEAR(rate, 5000.0, 150.0);

  // A source that sent 40 in its first window and crosses early in the
  // next: its estimate spans the whole window back from the crossing.
  ev.clear();
  now = kT0 + 100 * kSec;
  for (int i = 0; i < 40; i++, now += kSec / 10) t.onPacket(syn(v4(0x0C000002)), now, &ev);
  now = kT0 + 106 * kSec;
  for (int i = 0; i < 60 && ev.empty(); i++, now += kSec / 1000)
    t.onPacket(syn(v4(0x0C000002)), now, &ev);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].ts_ns - ev[0].first_ns, 5 * kSec);
}

}  // namespace
}  // namespace sg
