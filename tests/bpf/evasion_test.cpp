// The shapes of tests/bpf/evasion_cases.cpp through the loaded program: a
// tiny or overlapping TCP fragment and an IPv6 header chain longer than the
// parser walks are dropped (the stack would reassemble or deliver a SYN the
// counter never saw); a first fragment or a long-but-walked chain that shows
// a SYN is counted like any SYN.
#include "bpf/evasion_cases.h"
#include "bpf/kernel_fixture.h"
#include "sg_parse.h"

namespace sg::test {
namespace {

using EvasionTest = KernelTest;

// threshold + 1 sends of every case: an attempt crosses on the last one.
TEST_F(EvasionTest, EachShapeIsDroppedCountedOrPassedAsTheTableSays) {
  // Each case's frame is sent as is, so its repeats are identical SYNs: with
  // a threshold under 4 the repeat allowance (threshold / 4) is 0 and every
  // copy counts.
  sg_config c = cfg_;
  c.threshold = 3;
  setConfig(c);
  uint64_t attempts = 0, dropped_shapes = 0, crossings = 0;
  for (const ShapeCase& c : evasionCases()) {
    SCOPED_TRACE(c.name);
    std::vector<uint32_t> got, want;
    for (uint32_t i = 1; i <= cfg_.threshold + 1; i++) {
      got.push_back(sendBytes(c.frame));
      want.push_back(c.expect == Expect::kDropped ||
                             (c.expect == Expect::kAttempt && i > cfg_.threshold)
                         ? XDP_DROP
                         : XDP_PASS);
    }
    EXPECT_EQ(got, want) << "verdicts of sends 1..threshold+1 (1 = drop, 2 = pass)";
    if (c.expect == Expect::kAttempt) {
      attempts += cfg_.threshold + 1;
      crossings++;
      EXPECT_TRUE(isBlocked(c.src)) << "the attempt that crossed did not block";
    } else {
      EXPECT_FALSE(isBlocked(c.src));
    }
    if (c.expect == Expect::kDropped) dropped_shapes += cfg_.threshold + 1;
    EXPECT_EQ(counter(SG_CNT_SYN), attempts);
    EXPECT_EQ(counter(SG_CNT_BLOCKS_ADDED), crossings);
    EXPECT_EQ(counter(SG_CNT_TINY_FRAGMENTS) + counter(SG_CNT_LONG_CHAINS), dropped_shapes);
  }
  EXPECT_EQ(counter(SG_CNT_MALFORMED), 0u);
}

TEST_F(EvasionTest, DroppedShapesAreCountedByKind) {
  for (const ShapeCase& c : evasionCases()) {
    if (c.expect == Expect::kDropped) {
      ASSERT_EQ(sendBytes(c.frame), XDP_DROP) << c.name;
    }
  }
  uint64_t tiny = 0, chains = 0;
  for (const ShapeCase& c : evasionCases()) {
    tiny += c.kind == SG_PKT_TINY_FRAGMENT ? 1 : 0;
    chains += c.kind == SG_PKT_LONG_CHAIN ? 1 : 0;
  }
  EXPECT_EQ(counter(SG_CNT_TINY_FRAGMENTS), tiny);
  EXPECT_EQ(counter(SG_CNT_LONG_CHAINS), chains);
  EXPECT_EQ(counter(SG_CNT_DROPPED), 0u) << "dropped_total counts blocked sources only";
}

TEST_F(EvasionTest, DetectOnlyModeCountsTheShapesButDropsNothing) {
  sg_config c = cfg_;
  c.enforce = SG_ENFORCE_NONE;
  setConfig(c);
  uint64_t shapes = 0;
  for (const ShapeCase& s : evasionCases()) {
    if (s.expect != Expect::kDropped) continue;
    EXPECT_EQ(sendBytes(s.frame), XDP_PASS) << s.name;
    shapes++;
  }
  EXPECT_EQ(counter(SG_CNT_TINY_FRAGMENTS) + counter(SG_CNT_LONG_CHAINS), shapes);
}

TEST_F(EvasionTest, ABlockedSourcesShapesAreDroppedAsBlocked) {
  // A blocked source loses these packets as it loses any other: counted as
  // a block's drop, not as a shape.
  const ShapeCase tiny = evasionCases().front();
  ASSERT_EQ(tiny.expect, Expect::kDropped);
  synBurst(tiny.src, cfg_.threshold + 1);
  ASSERT_TRUE(isBlocked(tiny.src));
  EXPECT_EQ(sendBytes(tiny.frame), XDP_DROP);
  EXPECT_EQ(counter(SG_CNT_TINY_FRAGMENTS), 0u);
  EXPECT_EQ(counter(SG_CNT_DROPPED), 2u);  // the crossing SYN and the fragment
}

}  // namespace
}  // namespace sg::test
