// Tracker: detection, blocking, expiry, escalation, allowlist, IPv6 prefixes,
// events — all at explicit timestamps (no clock, no sleeps).
#include "core/tracker.h"

#include <gtest/gtest.h>

#include "core/tracker_test_util.h"

namespace sg {
namespace {

using test::kSec;
using test::kT0;
using test::syn;
using test::v4;
using test::v6;

const uint64_t kMs = kSec / 1000;

// Sends `n` SYNs 1 ms apart from `t`; returns the index (1-based) of the first
// dropped one, 0 if none; advances t.
int sendSyns(Tracker& t, const sg_addr& a, int n, uint64_t& now, std::vector<sg_event>* ev) {
  int first_drop = 0;
  for (int i = 1; i <= n; i++, now += kMs) {
    if (t.onPacket(syn(a), now, ev) == Verdict::kDrop && first_drop == 0) first_drop = i;
  }
  return first_drop;
}

TEST(Tracker, CrossesOnAttemptThresholdPlusOneAndDropsIt) {
  Tracker t(test::testOptions(10));
  std::vector<sg_event> ev;
  uint64_t now = kT0;
  EXPECT_EQ(sendSyns(t, v4(0xC6336407), 10, now, &ev), 0);
  EXPECT_TRUE(ev.empty());
  EXPECT_EQ(t.onPacket(syn(v4(0xC6336407), 8080), now, &ev), Verdict::kDrop);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].type, static_cast<uint32_t>(SG_EV_BLOCK_ADDED));
  EXPECT_EQ(ev[0].count, 11u);
  EXPECT_EQ(ev[0].dst_port, 80);  // majority vote, not the last port
  EXPECT_EQ(ev[0].block_ns, 60 * kSec);
  EXPECT_EQ(ev[0].level, 0);
  EXPECT_EQ(ev[0].ts_ns, now);
  EXPECT_EQ(t.counters().c[SG_CNT_SYN], 11u);
  EXPECT_EQ(t.counters().c[SG_CNT_BLOCKS_ADDED], 1u);
  EXPECT_EQ(t.counters().c[SG_CNT_FLAGGED], 1u);
  EXPECT_EQ(t.blockCount(), 1u);
}

TEST(Tracker, BlockedSourceHasEveryPacketDroppedInScopeAll) {
  TrackerOptions o = test::testOptions(5);
  o.cfg.block_scope = SG_SCOPE_ALL;
  Tracker t(o);
  uint64_t now = kT0;
  const sg_addr bad = v4(0x0A000001), good = v4(0x0A000002);
  EXPECT_EQ(sendSyns(t, bad, 6, now, nullptr), 6);
  const sg_pkt pkts[] = {syn(bad),
                         test::tcp(bad, SG_TCP_ACK),
                         test::tcp(bad, SG_TCP_RST),
                         test::other(bad, SG_PKT_OTHER),
                         test::other(bad, SG_PKT_FRAGMENT),
                         test::other(bad, SG_PKT_MALFORMED)};
  for (const sg_pkt& p : pkts) EXPECT_EQ(t.onPacket(p, now, nullptr), Verdict::kDrop);
  EXPECT_EQ(t.counters().c[SG_CNT_DROPPED], 7u);  // + the crossing attempt
  EXPECT_EQ(t.onPacket(syn(good), now, nullptr), Verdict::kPass);
  const uint64_t crossed = now - kMs;  // sendSyns stepped past the 6th
  EXPECT_EQ(t.onPacket(syn(bad), crossed + 60 * kSec - 1, nullptr), Verdict::kDrop);
  EXPECT_EQ(t.onPacket(syn(bad), crossed + 60 * kSec, nullptr), Verdict::kPass);
}

TEST(Tracker, BlockedSourceHasOnlyItsAttemptsDroppedInScopeAttempts) {
  Tracker t(test::testOptions(5));  // the default scope
  uint64_t now = kT0;
  const sg_addr bad = v4(0x0A000001);
  EXPECT_EQ(sendSyns(t, bad, 6, now, nullptr), 6);
  EXPECT_EQ(t.onPacket(syn(bad), now, nullptr), Verdict::kDrop);
  const sg_pkt others[] = {test::tcp(bad, SG_TCP_ACK), test::tcp(bad, SG_TCP_RST),
                           test::tcp(bad, SG_TCP_SYN | SG_TCP_ACK), test::other(bad, SG_PKT_OTHER),
                           test::other(bad, SG_PKT_FRAGMENT)};
  for (const sg_pkt& p : others) EXPECT_EQ(t.onPacket(p, now, nullptr), Verdict::kPass);
  EXPECT_EQ(t.counters().c[SG_CNT_DROPPED], 2u);  // the crossing attempt and the SYN
}

TEST(Tracker, BlockExpiresAndRedetectionNeedsAWholeThreshold) {
  Tracker t(test::testOptions(10));
  std::vector<sg_event> ev;
  uint64_t now = kT0;
  const sg_addr a = v4(0xCB007101);
  EXPECT_EQ(sendSyns(t, a, 11, now, &ev), 11);
  const uint64_t expires = ev[0].ts_ns + ev[0].block_ns;
  now = expires;  // the block ends when now >= expires_ns
  EXPECT_EQ(sendSyns(t, a, 10, now, &ev), 0);
  EXPECT_EQ(t.counters().c[SG_CNT_BLOCKS_EXPIRED], 1u);
  EXPECT_EQ(t.blockCount(), 0u);
  EXPECT_EQ(t.onPacket(syn(a), now, &ev), Verdict::kDrop);
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[1].count, 11u);
}

TEST(Tracker, RepeatOffendersDoubleUpToTheCapAndAreForgotten) {
  TrackerOptions o = test::testOptions(3);
  o.cfg.block_ns = 10 * kSec;
  o.cfg.max_level = 2;
  o.cfg.repeat_memory_ns = 100 * kSec;
  Tracker t(o);
  std::vector<sg_event> ev;
  uint64_t now = kT0;
  const sg_addr a = v4(0x0A000009);
  const uint64_t expect_s[] = {10, 20, 40, 40};
  for (size_t i = 0; i < 4; i++) {
    ASSERT_EQ(sendSyns(t, a, 4, now, &ev), 4) << "offence " << i;
    ASSERT_EQ(ev.size(), i + 1);
    EXPECT_EQ(ev[i].block_ns, expect_s[i] * kSec) << "offence " << i;
    EXPECT_EQ(ev[i].level, i < 2 ? i : 2);
    now = ev[i].ts_ns + ev[i].block_ns + 50 * kSec;  // 50 s after the end: remembered
  }
  // Quiet for longer than repeat_memory after the last block's end: level 0.
  now = ev[3].ts_ns + ev[3].block_ns + 100 * kSec + 1;
  ASSERT_EQ(sendSyns(t, a, 4, now, &ev), 4);
  EXPECT_EQ(ev[4].block_ns, 10 * kSec);
  EXPECT_EQ(ev[4].level, 0);
}

TEST(Tracker, AllowlistedSourceIsNeverBlocked) {
  TrackerOptions o = test::testOptions(10);
  Prefix p;
  p.addr.raw = v4(0xC0000200);  // 192.0.2.0/24 = ::ffff:192.0.2.0/120
  p.bits = 120;
  o.allow.push_back(p);
  Tracker t(o);
  std::vector<sg_event> ev;
  uint64_t now = kT0;
  EXPECT_EQ(sendSyns(t, v4(0xC0000207), 1000, now, &ev), 0);
  EXPECT_TRUE(ev.empty());
  EXPECT_EQ(t.blockCount(), 0u);
  // Its window restarts at each crossing: one trie lookup per threshold.
  EXPECT_EQ(t.counters().c[SG_CNT_ALLOWLISTED], 1000u / 11);
  EXPECT_EQ(t.counters().c[SG_CNT_FLAGGED], 1000u / 11);
  // The next address outside the prefix is blocked as usual.
  EXPECT_EQ(sendSyns(t, v4(0xC0000307), 11, now, &ev), 11);
}

TEST(Tracker, Ipv6SourcesShareTheCountOfTheirPrefix) {
  Tracker t(test::testOptions(10));
  std::vector<sg_event> ev;
  uint64_t now = kT0;
  EXPECT_EQ(sendSyns(t, v6(1, 1), 6, now, &ev), 0);
  EXPECT_EQ(sendSyns(t, v6(1, 2), 5, now, &ev), 5);  // 11th attempt of the /64
  ASSERT_EQ(ev.size(), 1u);
  const sg_addr net = v6(1, 0);
  EXPECT_EQ(std::memcmp(ev[0].src.b, net.b, 16), 0);  // the masked key
  // Another address of the blocked /64 is dropped; another /64 is not.
  EXPECT_EQ(t.onPacket(syn(v6(1, 77)), now, nullptr), Verdict::kDrop);
  EXPECT_EQ(t.onPacket(syn(v6(2, 1)), now, nullptr), Verdict::kPass);
}

TEST(Tracker, Ipv6Slash128CountsEachAddressApart) {
  TrackerOptions o = test::testOptions(10);
  o.cfg.v6_prefix_len = 128;
  Tracker t(o);
  uint64_t now = kT0;
  EXPECT_EQ(sendSyns(t, v6(1, 1), 6, now, nullptr), 0);
  EXPECT_EQ(sendSyns(t, v6(1, 2), 6, now, nullptr), 0);
  EXPECT_EQ(t.sourceCount(), 2u);
}

TEST(Tracker, NonAttemptsNeverCount) {
  Tracker t(test::testOptions(2));
  const sg_addr a = v4(0x0A0000AA);
  const sg_pkt pkts[] = {test::tcp(a, SG_TCP_ACK),
                         test::tcp(a, SG_TCP_RST),
                         test::tcp(a, SG_TCP_SYN | SG_TCP_ACK),
                         test::tcp(a, SG_TCP_SYN | SG_TCP_RST),
                         test::tcp(a, SG_TCP_FIN),
                         test::other(a, SG_PKT_OTHER),
                         test::other(a, SG_PKT_FRAGMENT)};
  for (int i = 0; i < 100; i++)
    for (const sg_pkt& p : pkts)
      EXPECT_EQ(t.onPacket(p, kT0 + static_cast<uint64_t>(i), nullptr), Verdict::kPass);
  EXPECT_EQ(t.counters().c[SG_CNT_SYN], 0u);
  EXPECT_EQ(t.sourceCount(), 0u);
  EXPECT_EQ(t.counters().c[SG_CNT_FRAGMENTS], 100u);
  EXPECT_EQ(t.counters().c[SG_CNT_PACKETS], 700u);
  // SYN with ECE/CWR/PSH is still an attempt (only ACK and RST disqualify).
  uint64_t now = kT0;
  for (int i = 0; i < 3; i++) t.onPacket(test::tcp(a, SG_TCP_SYN | 0xC0 | 0x08), now, nullptr);
  EXPECT_EQ(t.counters().c[SG_CNT_SYN], 3u);
  EXPECT_EQ(t.counters().c[SG_CNT_BLOCKS_ADDED], 1u);
}

TEST(Tracker, EventBudgetPerEpoch) {
  TrackerOptions o = test::testOptions(1);
  o.cfg.events_per_sec = 3;
  Tracker t(o);
  std::vector<sg_event> ev;
  const uint64_t epoch_start = 200ull << SG_EPOCH_SHIFT;
  for (uint32_t i = 0; i < 10; i++) {
    uint64_t now = epoch_start + i * kMs;
    EXPECT_EQ(sendSyns(t, v4(0x0A010000 + i), 2, now, &ev), 2);
  }
  EXPECT_EQ(ev.size(), 3u);
  EXPECT_EQ(t.blockCount(), 10u);  // blocks do not depend on the budget
  EXPECT_EQ(t.counters().c[SG_CNT_EVENTS_SENT], 3u);
  EXPECT_EQ(t.counters().c[SG_CNT_EVENTS_SUPPRESSED], 7u);
  uint64_t next = (201ull << SG_EPOCH_SHIFT);
  EXPECT_EQ(sendSyns(t, v4(0x0A020000), 2, next, &ev), 2);
  EXPECT_EQ(ev.size(), 4u);
}

TEST(Tracker, FullBlockMapKeepsDroppingWithoutFailingOpen) {
  TrackerOptions o = test::testOptions(3);
  o.max_blocks = 1;
  Tracker t(o);
  std::vector<sg_event> ev;
  uint64_t now = kT0;
  EXPECT_EQ(sendSyns(t, v4(0x0A000001), 4, now, &ev), 4);
  EXPECT_EQ(sendSyns(t, v4(0x0A000002), 3, now, &ev), 0);
  for (int i = 0; i < 5; i++) EXPECT_EQ(t.onPacket(syn(v4(0x0A000002)), now, &ev), Verdict::kDrop);
  EXPECT_EQ(t.counters().c[SG_CNT_BLOCK_MAP_FULL], 5u);
  EXPECT_EQ(t.counters().c[SG_CNT_FLAGGED], 6u);
  EXPECT_EQ(t.blockCount(), 1u);
  EXPECT_EQ(ev.size(), 1u);  // the kernel sends no event for a block it could not store
  // Non-attempts of the unstored source pass: only its attempts are rate limited.
  EXPECT_EQ(t.onPacket(test::tcp(v4(0x0A000002), SG_TCP_ACK), now, &ev), Verdict::kPass);
}

TEST(Tracker, DetectOnlyFlagsPassesAndDoesNotRecount) {
  TrackerOptions o = test::testOptions(3);
  o.cfg.enforce = SG_ENFORCE_NONE;
  Tracker t(o);
  std::vector<sg_event> ev;
  uint64_t now = kT0;
  EXPECT_EQ(sendSyns(t, v4(0x0A000003), 50, now, &ev), 0);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].type, static_cast<uint32_t>(SG_EV_FLAGGED));
  // The kernel passes the block's duration in FLAGGED events too, although
  // sg_shared.h says block_ns is 0 for FLAGGED: mirrored, reported.
  EXPECT_EQ(ev[0].block_ns, 60 * kSec);
  EXPECT_EQ(t.counters().c[SG_CNT_SYN], 50u);
  EXPECT_EQ(t.counters().c[SG_CNT_DROPPED], 0u);
}

// The three findings below mirror the kernel program as it is (reported to
// the owner of bpf/); if the kernel changes, these change with it.

// The allowlist is looked up with the *masked* key: an IPv6 host entry longer
// than v6_prefix_len never matches, so its whole /64 (itself included) is blocked.
TEST(TrackerKernelFindings, Ipv6HostAllowEntryLongerThanThePrefixNeverMatches) {
  TrackerOptions o = test::testOptions(3);
  Prefix host;
  host.addr.raw = v6(1, 5);
  host.bits = 128;
  o.allow.push_back(host);
  Tracker t(o);
  uint64_t now = kT0;
  EXPECT_EQ(sendSyns(t, v6(1, 5), 4, now, nullptr), 4);
  EXPECT_EQ(t.counters().c[SG_CNT_ALLOWLISTED], 0u);
}

// dropped_total counts every drop: the crossing attempt too (and the block's
// own drop count starts at 1).
TEST(TrackerKernelFindings, CrossingDropIsCounted) {
  Tracker t(test::testOptions(3));
  uint64_t now = kT0;
  EXPECT_EQ(sendSyns(t, v4(0x0A000001), 4, now, nullptr), 4);
  EXPECT_EQ(t.counters().c[SG_CNT_DROPPED], 1u);
  EXPECT_EQ(t.counters().c[SG_CNT_BLOCKS_ADDED], 1u);
}

// A blocked source never touches its slot (the block path returns before the
// slot probe), so two new sources of its set evict it; its offence history
// lives in sg_offenders, apart from the slot, and the next offence escalates.
TEST(TrackerKernelFindings, RepeatOffenceHistorySurvivesSetCollisionsDuringTheBlock) {
  TrackerOptions o = test::testOptions(3);
  o.max_sources = 16;
  Tracker t(o);
  std::vector<sg_event> ev;
  uint64_t now = kT0;
  const sg_addr a = v4(0x0A000001);
  ASSERT_EQ(sendSyns(t, a, 4, now, &ev), 4);
  for (const sg_addr& other : test::sameSet(a, 16, 2)) t.onPacket(syn(other), now + 1, nullptr);
  now = ev[0].ts_ns + ev[0].block_ns;
  ASSERT_EQ(sendSyns(t, a, 4, now, &ev), 4);
  EXPECT_EQ(ev[1].level, 1);  // it was 0 while the history lived in the slot
}

TEST(TrackerKernelFindings, RepeatOffenceHistorySurvivesSourcesOfOtherSets) {
  TrackerOptions o = test::testOptions(3);
  o.max_sources = 16;
  Tracker t(o);
  std::vector<sg_event> ev;
  uint64_t now = kT0;
  const sg_addr a = v4(0x0A000001);
  ASSERT_EQ(sendSyns(t, a, 4, now, &ev), 4);
  const uint32_t mask = 16 / SG_SLOT_WAYS - 1;
  const uint32_t set_a = sg_slot_first(sg_addr_hash(&a, &kDefaultHashKey), mask);
  int others = 0;
  for (uint32_t i = 0; others < 40; i++) {
    const sg_addr k = v4(0x0B000000 + i);
    if (sg_slot_first(sg_addr_hash(&k, &kDefaultHashKey), mask) == set_a) continue;
    t.onPacket(syn(k), now + 1, nullptr);
    others++;
  }
  now = ev[0].ts_ns + ev[0].block_ns;
  ASSERT_EQ(sendSyns(t, a, 4, now, &ev), 4);
  EXPECT_EQ(ev[1].level, 1);
}

// The attack the keyed hash closes: sources that share the flooder's set
// (2 ways) evict it after each of its SYNs, so its count never grows. The
// attacker can find them only for a key it knows.
TEST(TrackerKeyedHash, CollisionsCraftedForOneKeyMissUnderAnother) {
  TrackerOptions o = test::testOptions(5);
  o.max_sources = 1024;
  const sg_addr flooder = v4(0x0A141E28);
  const sg_hash_key known{1, 2};
  const std::vector<sg_addr> rivals = test::sameSet(flooder, o.max_sources, 2, known);
  ASSERT_EQ(rivals.size(), 2u);
  auto dropsUnder = [&](const sg_hash_key& key) {
    o.hash_key = key;
    Tracker t(o);
    int dropped = 0;
    uint64_t now = kT0;
    for (int i = 0; i < 20; i++) {
      dropped += t.onPacket(syn(flooder), now++, nullptr) == Verdict::kDrop ? 1 : 0;
      for (const sg_addr& r : rivals) t.onPacket(syn(r), now++, nullptr);
    }
    return dropped;
  };
  EXPECT_EQ(dropsUnder(known), 0) << "the crafted collisions evict the flooder";
  EXPECT_GT(dropsUnder(sg_hash_key{0x9e3779b97f4a7c15ull, 42}), 0) << "not under another key";
}

}  // namespace
}  // namespace sg

// Review s17 L2: tables keyed with the constant in the source let chosen
// addresses be precomputed into one bucket.
TEST(ProcessHashKey, IsDrawnAtRandomNotTheConstantInTheSource) {
  const sg_hash_key& k = sg::processHashKey();
  EXPECT_FALSE(k.k0 == sg::kDefaultHashKey.k0 && k.k1 == sg::kDefaultHashKey.k1);
  EXPECT_FALSE(k.k0 == 0 && k.k1 == 0);
  EXPECT_EQ(&k, &sg::processHashKey());  // one key per process
}
