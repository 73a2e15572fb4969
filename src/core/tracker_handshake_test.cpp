// Handshake-aware per-source counting (bpf/sg_handshake.h) through the
// Tracker: half-open attempts against the flood threshold, all attempts
// against the connection threshold, completions credited per masked source.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <utility>
#include <vector>

#include "core/tracker.h"
#include "core/tracker_test_util.h"
#include "sg_handshake.h"

namespace sg {
namespace {

using test::kSec;
using test::kT0;
using test::syn;
using test::v4;
using test::v6;

constexpr uint64_t kMs = 1'000'000;

// Threshold 200 per 5 s (the agent's), connection threshold 2,000.
TrackerOptions options(uint32_t conn_threshold = 2000) {
  TrackerOptions o = test::testOptions(200);
  o.cfg.conn_threshold = conn_threshold;
  o.cfg.enabled = 1;
  return o;
}

struct Outcome {
  int dropped = 0;
  std::vector<sg_event> events;
};

// `n` attempts from `src` spread over `span_ns` from `start`; each one
// completed `rtt_ns` later when `complete` (as the tracepoint would credit
// it), all in time order.
Outcome attempts(Tracker& t, const sg_addr& src, int n, uint64_t start, uint64_t span_ns,
                 bool complete, uint64_t rtt_ns = 20 * kMs) {
  std::vector<std::pair<uint64_t, bool>> timeline;  // (time, is_completion)
  for (int i = 0; i < n; i++) {
    const uint64_t at = start + span_ns * static_cast<uint64_t>(i) / static_cast<uint64_t>(n);
    timeline.emplace_back(at, false);
    if (complete) timeline.emplace_back(at + rtt_ns, true);
  }
  std::stable_sort(timeline.begin(), timeline.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  Outcome r;
  for (const auto& [at, completion] : timeline) {
    if (completion) {
      t.onCompletion(src, at);
    } else if (t.onPacket(syn(src), at, &r.events) == Verdict::kDrop) {
      r.dropped++;
    }
  }
  return r;
}

TEST(HandshakeCounting, ANatGatewayWhoseClientsCompleteIsNotBlockedAtTheFloodThreshold) {
  Tracker t(options());
  // 1,000 attempts in 5 s (5x the flood threshold), every one completed.
  Outcome r = attempts(t, v4(0xC6336401), 1000, kT0, 5 * kSec, true);
  EXPECT_EQ(r.dropped, 0);
  EXPECT_TRUE(r.events.empty());
  EXPECT_EQ(t.counters().c[SG_CNT_SRC_COMPLETIONS], 1000u);
  EXPECT_GT(t.counters().c[SG_CNT_HALF_OPEN_CREDITED], 700u);
  EXPECT_EQ(t.blockCount(), 0u);
}

TEST(HandshakeCounting, AHalfOpenFlooderBesideItIsBlockedOnItsCrossingAttempt) {
  Tracker t(options());
  const sg_addr nat = v4(0xC6336401), flooder = v4(0xC6336402);
  Outcome n = attempts(t, nat, 600, kT0, 3 * kSec, true);
  Outcome f = attempts(t, flooder, 250, kT0, 3 * kSec, false);
  EXPECT_EQ(n.dropped, 0);
  EXPECT_EQ(f.dropped, 50);  // the 201st on
  ASSERT_EQ(f.events.size(), 1u);
  EXPECT_EQ(f.events[0].type, SG_EV_BLOCK_ADDED);
  EXPECT_EQ(f.events[0].reason, SG_REASON_HALF_OPEN);
  EXPECT_EQ(f.events[0].count, 201u);
  EXPECT_EQ(t.counters().c[SG_CNT_FLAGGED_HALF_OPEN], 1u);
  EXPECT_EQ(t.counters().c[SG_CNT_FLAGGED_CONNECTIONS], 0u);
  ASSERT_NE(t.block(flooder), nullptr);
  EXPECT_EQ(t.block(flooder)->flags, SG_BLK_XDP_DROP | SG_BLK_HALF_OPEN);
}

TEST(HandshakeCounting, HalfOpenAttemptsBesideCompletedOnesAreCountedAgainstTheThreshold) {
  Tracker t(options());
  const sg_addr src = v4(0xC6336403);
  // 500 completed connections and, among them, half-open SYNs: the 201st
  // half-open one is over.
  Outcome r;
  int half_open_sent = 0;
  for (int i = 0; i < 500; i++) {
    const uint64_t at = kT0 + static_cast<uint64_t>(i) * 8 * kMs;
    t.onPacket(syn(src), at, &r.events);
    t.onCompletion(src, at + kMs);
    if (t.onPacket(syn(src), at + 2 * kMs, &r.events) == Verdict::kDrop) break;
    half_open_sent++;
  }
  EXPECT_EQ(half_open_sent, 200);
  ASSERT_EQ(r.events.size(), 1u);
  EXPECT_EQ(r.events[0].reason, SG_REASON_HALF_OPEN);
  EXPECT_EQ(r.events[0].count, 201u);
}

TEST(HandshakeCounting, AFullHandshakeConnectionFloodIsBlockedAtTheConnectionThreshold) {
  Tracker t(options());
  Outcome r = attempts(t, v4(0xC6336404), 2500, kT0, 4 * kSec, true);
  EXPECT_EQ(r.dropped, 500);  // the 2,001st on
  ASSERT_EQ(r.events.size(), 1u);
  EXPECT_EQ(r.events[0].reason, SG_REASON_CONNECTIONS);
  EXPECT_EQ(r.events[0].count, 2001u);
  EXPECT_EQ(t.counters().c[SG_CNT_FLAGGED_CONNECTIONS], 1u);
  ASSERT_NE(t.block(v4(0xC6336404)), nullptr);
  EXPECT_EQ(t.block(v4(0xC6336404))->flags, SG_BLK_XDP_DROP | SG_BLK_CONNECTIONS);
}

TEST(HandshakeCounting, OffItCountsEveryAttemptAgainstTheThreshold) {
  Tracker t(options(/*conn_threshold=*/0));
  Outcome r = attempts(t, v4(0xC6336405), 300, kT0, 3 * kSec, true);
  EXPECT_EQ(r.dropped, 100);
  ASSERT_EQ(r.events.size(), 1u);
  EXPECT_EQ(r.events[0].reason, SG_REASON_ATTEMPTS);
  EXPECT_EQ(t.counters().c[SG_CNT_SRC_COMPLETIONS], 0u) << "no credit while it is off";
}

TEST(HandshakeCounting, CompletionsOfAnOlderWindowBuyNoHalfOpenAttemptsNow) {
  Tracker t(options());
  const sg_addr src = v4(0xC6336406);
  // 1,000 completions banked, then two windows of quiet, then half-open SYNs.
  attempts(t, src, 1000, kT0, 4 * kSec, true);
  Outcome r = attempts(t, src, 250, kT0 + 14 * kSec, 2 * kSec, false);
  EXPECT_EQ(r.dropped, 50);
  ASSERT_EQ(r.events.size(), 1u);
  EXPECT_EQ(r.events[0].reason, SG_REASON_HALF_OPEN);
}

TEST(HandshakeCounting, ACompletionArrivingInTheNextBucketStillCancelsItsAttempt) {
  // 1,000 attempts/s across the end of the attempts' first bucket (at 5 s),
  // each completed 50 ms later, so the completions of the last 50 ms land
  // in the next bucket: ~50 in flight, never 200.
  Tracker t(options());
  const sg_addr src = v4(0xC6336407);
  attempts(t, src, 1, kT0, kSec, true, 50 * kMs);  // opens the bucket at kT0
  Outcome r = attempts(t, src, 600, kT0 + 4700 * kMs, 600 * kMs, true, 50 * kMs);
  EXPECT_EQ(r.dropped, 0);
  EXPECT_TRUE(r.events.empty());
}

TEST(HandshakeCounting, ABurstFasterThanItsRoundTripIsHalfOpenUntilItsAcksArrive) {
  // The limit of counting completions: 300 SYNs in 10 ms with a 100 ms
  // round trip are all in flight at once, so the 201st is over.
  Tracker t(options());
  Outcome r = attempts(t, v4(0xC6336409), 300, kT0, 10 * kMs, true, 100 * kMs);
  // ~100: a new SYN whose 16-bit fingerprint equals a recent one's is
  // excused as a retransmission (3 in 65,535 each, sg_track.h).
  EXPECT_NEAR(r.dropped, 100, 2);
  ASSERT_EQ(r.events.size(), 1u);
  EXPECT_EQ(r.events[0].reason, SG_REASON_HALF_OPEN);
}

TEST(HandshakeCounting, IPv6CompletionsAreCreditedToTheCountingPrefix) {
  Tracker t(options());
  // Attempts from many hosts of one /64, completions from others of it.
  Outcome r;
  for (int i = 0; i < 800; i++) {
    const uint64_t at = kT0 + static_cast<uint64_t>(i) * 5 * kMs;
    if (t.onPacket(syn(v6(7, static_cast<uint16_t>(i))), at, &r.events) == Verdict::kDrop) {
      r.dropped++;
    }
    t.onCompletion(v6(7, static_cast<uint16_t>(i + 1)), at + kMs);
  }
  EXPECT_EQ(r.dropped, 0);
  // Another /64 gets no credit from them.
  Outcome other;
  for (int i = 0; i < 250; i++) {
    if (t.onPacket(syn(v6(8, 1)), kT0 + static_cast<uint64_t>(i) * 5 * kMs, &other.events) ==
        Verdict::kDrop) {
      other.dropped++;
    }
  }
  EXPECT_EQ(other.dropped, 50);
}

TEST(HandshakeCounting, TheCompletionKeyMasksIpv6ButNeverAnIpv4MappedAddress) {
  sg_addr a = v4(0xC0000201);
  sg_completion_key(&a, 64);
  EXPECT_EQ(a.b[15], 0x01);  // ::ffff:192.0.2.1 untouched
  sg_addr b = v6(5, 0x1234);
  sg_completion_key(&b, 64);
  const sg_addr want = v6(5, 0);
  EXPECT_EQ(std::memcmp(b.b, want.b, 16), 0);
}

TEST(HandshakeCounting, AnIdleWindowReadsAsTheRecordingWindowWouldHaveMovedIt) {
  // sg_window_scaled_idle against sg_window_record + sg_window_scaled on a
  // copy, at times across three buckets.
  const uint64_t w = 5 * kSec;
  sg_window win{};
  for (int i = 0; i < 30; i++)
    sg_window_record(&win, kT0 + static_cast<uint64_t>(i) * 300 * kMs, w);
  for (uint64_t dt = 0; dt < 3 * w; dt += 170 * kMs) {
    const uint64_t now = kT0 + 9 * kSec + dt;
    sg_window moved = win;
    const uint32_t pos = sg_window_record(&moved, now, w) - 1;  // undo the added attempt
    EXPECT_EQ(sg_window_scaled_idle(&win, now, w), sg_window_scaled_at(&moved, pos, now, w))
        << "at +" << dt / kMs << " ms";
  }
}

TEST(HandshakeCounting, TheCompletionTableIsBoundedAndForgetsTheLeastRecentlyCredited) {
  TrackerOptions o = options();
  o.max_sources = 1024;  // 256 completion windows
  Tracker t(o);
  const sg_addr nat = v4(0xC6336408);
  for (int i = 0; i < 300; i++) t.onCompletion(nat, kT0);
  // 256 other sources complete after it: the gateway's credit is evicted,
  // and it is judged by all its attempts (never a missed flooder).
  for (uint32_t i = 0; i < 256; i++) t.onCompletion(v4(0x0A000000 + i), kT0 + kMs);
  Outcome r = attempts(t, nat, 250, kT0 + 2 * kMs, kSec, false);
  EXPECT_EQ(r.dropped, 50);
}

}  // namespace
}  // namespace sg
