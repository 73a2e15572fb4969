// ExactTracker: a true sliding window per source, no slot or sketch bound,
// the kernel's block and repeat rules.
#include "core/exact_tracker.h"

#include <gtest/gtest.h>

#include "core/tracker_test_util.h"

namespace sg {
namespace {

using test::kSec;
using test::kT0;
using test::syn;
using test::v4;

ExactOptions exactOptions(uint32_t threshold, uint64_t window_s = 5) {
  ExactOptions o;
  o.cfg = test::testConfig(threshold);
  o.cfg.window_ns = window_s * kSec;
  return o;
}

TEST(ExactTracker, CountsInATrueSlidingWindow) {
  ExactTracker t(exactOptions(10));
  const sg_addr a = v4(0xC6336407);
  std::vector<sg_event> ev;
  // 10 attempts at 0..0.9 s, then one at 5.0 s: the first has left the window
  // (10 in the last 5 s, not over 10).
  for (int i = 0; i < 10; i++) {
    EXPECT_EQ(t.onPacket(syn(a), kT0 + i * kSec / 10, &ev), Verdict::kPass);
  }
  EXPECT_EQ(t.onPacket(syn(a), kT0 + 5 * kSec, &ev), Verdict::kPass);
  EXPECT_TRUE(ev.empty());
  // One more at 5.05 s: the attempts at 0.1..0.9 s are still in, 11 in total.
  EXPECT_EQ(t.onPacket(syn(a), kT0 + 5 * kSec + kSec / 20, &ev), Verdict::kDrop);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].type, SG_EV_BLOCK_ADDED);
  EXPECT_EQ(ev[0].count, 11u);
  EXPECT_EQ(ev[0].ts_ns, kT0 + 5 * kSec + kSec / 20);
}

TEST(ExactTracker, BlocksDropRepeatOffencesDoubleAndThePortIsTheMostTargeted) {
  ExactTracker t(exactOptions(2));
  const sg_addr a = v4(0x0A000001);
  std::vector<sg_event> ev;
  t.onPacket(syn(a, 22), kT0, &ev);
  t.onPacket(syn(a, 443), kT0 + 1, &ev);
  EXPECT_EQ(t.onPacket(syn(a, 443), kT0 + 2, &ev), Verdict::kDrop);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].dst_port, 443);
  EXPECT_EQ(ev[0].level, 0);
  EXPECT_EQ(ev[0].block_ns, 60 * kSec);
  // Its attempts are dropped during the block (block_scope "attempts", the
  // default: its ACKs pass), and none of them counts.
  for (int i = 0; i < 5; i++) {
    EXPECT_EQ(t.onPacket(test::tcp(a, SG_TCP_ACK), kT0 + 10 * kSec + i, &ev), Verdict::kPass);
    EXPECT_EQ(t.onPacket(syn(a), kT0 + 10 * kSec + i, &ev), Verdict::kDrop);
  }
  // After it: a whole new threshold is needed, and the next block doubles.
  const uint64_t after = kT0 + 61 * kSec;
  EXPECT_EQ(t.onPacket(syn(a), after, &ev), Verdict::kPass);
  EXPECT_EQ(t.onPacket(syn(a), after + 1, &ev), Verdict::kPass);
  EXPECT_EQ(t.onPacket(syn(a), after + 2, &ev), Verdict::kDrop);
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[1].level, 1);
  EXPECT_EQ(ev[1].block_ns, 120 * kSec);
  EXPECT_EQ(t.counters().c[SG_CNT_BLOCKS_ADDED], 2u);
  EXPECT_EQ(t.counters().c[SG_CNT_BLOCKS_EXPIRED], 1u);
  EXPECT_EQ(t.counters().c[SG_CNT_DROPPED], 7u);  // 2 crossings + 5 SYNs
}

TEST(ExactTracker, AllowlistedAndDetectOnlySourcesPass) {
  ExactOptions o = exactOptions(1);
  o.allow.push_back(*parsePrefix("10.0.0.0/8"));
  o.cfg.enforce = SG_ENFORCE_NONE;
  ExactTracker t(o);
  std::vector<sg_event> ev;
  for (int i = 0; i < 4; i++) {
    EXPECT_EQ(t.onPacket(syn(v4(0x0A000001)), kT0 + i, &ev), Verdict::kPass);
    EXPECT_EQ(t.onPacket(syn(v4(0xC0000201)), kT0 + i, &ev), Verdict::kPass);
  }
  ASSERT_EQ(ev.size(), 1u);  // 192.0.2.1 flagged once, then uncounted while flagged
  EXPECT_EQ(ev[0].type, SG_EV_FLAGGED);
  EXPECT_EQ(ev[0].src.b[12], 192);
  EXPECT_EQ(t.counters().c[SG_CNT_ALLOWLISTED], 2u);  // 10.0.0.1 crossed twice
  EXPECT_EQ(t.counters().c[SG_CNT_DROPPED], 0u);
}

// Many more sources than the kernel's slots, faster than its admission
// budget: the Tracker (kernel-faithful) loses some repeat sources to the
// sketch gate and to evictions; the exact counter flags every one.
TEST(ExactTracker, HasNoSlotOrSketchBound) {
  constexpr uint32_t kSources = 20000;
  TrackerOptions to = test::testOptions(1);
  to.max_sources = 1024;
  Tracker kernel(to);
  ExactTracker exact(exactOptions(1));
  std::vector<sg_event> kernel_ev, exact_ev;
  for (int round = 0; round < 2; round++) {
    for (uint32_t i = 0; i < kSources; i++) {
      const uint64_t now = kT0 + round * (kSec / 2) + i * 10;
      kernel.onPacket(syn(v4(0x0B000000 + i)), now, &kernel_ev);
      exact.onPacket(syn(v4(0x0B000000 + i)), now, &exact_ev);
    }
  }
  EXPECT_EQ(exact_ev.size(), kSources);
  EXPECT_EQ(exact.sourceCount(), kSources);
  size_t kernel_blocks = 0;
  for (const sg_event& e : kernel_ev) kernel_blocks += e.type == SG_EV_BLOCK_ADDED;
  EXPECT_LT(kernel_blocks, kSources / 2) << "the test needs the kernel's bounds to bite";
}

}  // namespace
}  // namespace sg
