// Retransmitted SYNs (same ports, same sequence number) are counted once, up
// to the repeat allowance per window bucket (threshold / 4); past it a repeat
// counts as any attempt, so at most threshold + allowance SYNs pass.
#include <gtest/gtest.h>

#include "core/tracker.h"
#include "core/tracker_test_util.h"

namespace sg {
namespace {

using test::kSec;
using test::kT0;
using test::syn;
using test::v4;

constexpr uint32_t kThreshold = 200;
constexpr uint32_t kAllowance = kThreshold / 4;
const uint64_t kMs = kSec / 1000;

TEST(TrackerRetransmit, RetransmissionsWithinTheAllowanceDoNotBlock) {
  Tracker t(test::testOptions(kThreshold));
  const sg_addr client = v4(0xC6336407);
  uint64_t now = kT0;
  // threshold distinct attempts; the first `allowance` of them each sent again.
  for (uint32_t i = 0; i < kThreshold; i++, now += kMs) {
    const sg_pkt p = syn(client);
    ASSERT_EQ(t.onPacket(p, now, nullptr), Verdict::kPass) << "attempt " << i;
    if (i < kAllowance) {
      ASSERT_EQ(t.onPacket(p, now + 1, nullptr), Verdict::kPass) << "resend " << i;
    }
  }
  EXPECT_EQ(t.blockCount(), 0u);
  EXPECT_EQ(t.counters().c[SG_CNT_RETRANS_EXCUSED], kAllowance);
  EXPECT_EQ(t.counters().c[SG_CNT_SYN], kThreshold + kAllowance);
  // The next new attempt is the one over the threshold.
  EXPECT_EQ(t.onPacket(syn(client), now, nullptr), Verdict::kDrop);
}

TEST(TrackerRetransmit, OneSynRepeatedPastTheAllowanceBlocks) {
  Tracker t(test::testOptions(kThreshold));
  const sg_addr attacker = v4(0x0A000001);
  const sg_pkt p = syn(attacker);
  uint64_t now = kT0;
  uint32_t first_drop = 0;
  for (uint32_t i = 1; i <= 2 * kThreshold && first_drop == 0; i++, now += kMs) {
    if (t.onPacket(p, now, nullptr) == Verdict::kDrop) first_drop = i;
  }
  // 1 counted, `allowance` excused, then counted again up to the threshold.
  EXPECT_EQ(first_drop, kThreshold + kAllowance + 1);
  EXPECT_EQ(t.counters().c[SG_CNT_RETRANS_EXCUSED], kAllowance);
}

TEST(TrackerRetransmit, DistinctSequenceNumbersFromOnePortCount) {
  Tracker t(test::testOptions(kThreshold));
  const sg_addr src = v4(0x0A000002);
  uint64_t now = kT0;
  for (uint32_t i = 0; i < kThreshold; i++, now += kMs) {
    ASSERT_EQ(t.onPacket(syn(src), now, nullptr), Verdict::kPass);  // same port, new seq
  }
  EXPECT_EQ(t.onPacket(syn(src), now, nullptr), Verdict::kDrop);
  EXPECT_EQ(t.counters().c[SG_CNT_RETRANS_EXCUSED], 0u);
}

TEST(TrackerRetransmit, AnotherPortWithTheSameSequenceCounts) {
  Tracker t(test::testOptions(kThreshold));
  sg_pkt p = syn(v4(0x0A000003));
  uint64_t now = kT0;
  for (uint32_t i = 0; i <= kThreshold; i++, now += kMs) {
    p.src_port = static_cast<uint16_t>(30000 + i);
    const Verdict v = t.onPacket(p, now, nullptr);
    EXPECT_EQ(v, i < kThreshold ? Verdict::kPass : Verdict::kDrop) << i;
  }
}

TEST(TrackerRetransmit, OnlyTheLastThreeSynsAreRemembered) {
  Tracker t(test::testOptions(kThreshold));
  const sg_addr src = v4(0x0A000004);
  const sg_pkt old = syn(src);
  uint64_t now = kT0;
  ASSERT_EQ(t.onPacket(old, now, nullptr), Verdict::kPass);
  for (int i = 0; i < SG_RECENT_SYNS; i++)
    ASSERT_EQ(t.onPacket(syn(src), now, nullptr), Verdict::kPass);
  ASSERT_EQ(t.onPacket(old, now, nullptr), Verdict::kPass);
  EXPECT_EQ(t.counters().c[SG_CNT_RETRANS_EXCUSED], 0u) << "4 SYNs back: counted";
  ASSERT_EQ(t.onPacket(old, now, nullptr), Verdict::kPass);
  EXPECT_EQ(t.counters().c[SG_CNT_RETRANS_EXCUSED], 1u) << "just sent: excused";
}

TEST(TrackerRetransmit, TheAllowanceRenewsWithTheWindowBucket) {
  Tracker t(test::testOptions(kThreshold));
  const sg_addr src = v4(0x0A000005);
  const sg_pkt p = syn(src);
  uint64_t now = kT0;
  for (uint32_t i = 0; i <= kAllowance + 10; i++)
    ASSERT_EQ(t.onPacket(p, now, nullptr), Verdict::kPass);
  EXPECT_EQ(t.counters().c[SG_CNT_RETRANS_EXCUSED], kAllowance);
  // Two windows later (testConfig: 5 s) a counted attempt starts a new bucket.
  now += 11 * kSec;
  ASSERT_EQ(t.onPacket(syn(src), now, nullptr), Verdict::kPass);
  ASSERT_EQ(t.onPacket(p, now, nullptr), Verdict::kPass);
  EXPECT_EQ(t.counters().c[SG_CNT_RETRANS_EXCUSED], kAllowance + 1);
}

}  // namespace
}  // namespace sg
