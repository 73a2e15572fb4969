#include "core/dst_table.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "core/tracker.h"

namespace sg {
namespace {

sg_pkt synTo(uint32_t src_v4, uint32_t dst_v4, uint16_t port) {
  sg_pkt p{};
  p.kind = SG_PKT_TCP;
  p.tcp_flags = SG_TCP_SYN;
  p.family = 4;
  p.has_src = 1;
  p.dst_port = port;
  p.src.b[10] = p.src.b[11] = p.dst.b[10] = p.dst.b[11] = 0xff;
  for (int i = 0; i < 4; i++) {
    p.src.b[12 + i] = static_cast<uint8_t>(src_v4 >> (24 - 8 * i));
    p.dst.b[12 + i] = static_cast<uint8_t>(dst_v4 >> (24 - 8 * i));
  }
  return p;
}

constexpr uint32_t kVictim = 0xc0000201;  // 192.0.2.1

const DstSample* find(const std::vector<DstSample>& s, uint16_t port) {
  for (const DstSample& d : s) {
    if (d.port == port) return &d;
  }
  return nullptr;
}

TEST(DstTable, CountsAttemptsPerDestinationAndPort) {
  DstTable t(64, kDefaultHashKey, 64);
  for (int i = 0; i < 30; i++) t.onAttempt(synTo(0x0a000001 + i, kVictim, 80));
  for (int i = 0; i < 7; i++) t.onAttempt(synTo(0x0a000001, kVictim, 443));
  for (int i = 0; i < 5; i++) t.onAttempt(synTo(0x0a000001, kVictim + 1, 80));
  t.onCompletion(synTo(0, kVictim, 80).dst, 80);
  auto s = t.harvest();
  ASSERT_EQ(s.size(), 3u);
  uint64_t on80 = 0;
  for (const DstSample& d : s) {
    if (d.port == 80) on80 += d.attempts;
  }
  EXPECT_EQ(on80, 35u);
  EXPECT_EQ(find(s, 443)->attempts, 7u);
  EXPECT_EQ(find(s, 443)->bank_attempts, 7u);
  EXPECT_EQ(t.untracked(), 0u);
  // Cumulative counts stay; the bank starts again after a harvest.
  t.onAttempt(synTo(0x0a000001, kVictim, 443));
  auto s2 = t.harvest();
  EXPECT_EQ(find(s2, 443)->attempts, 8u);
  EXPECT_EQ(find(s2, 443)->bank_attempts, 1u);
}

TEST(DstTable, ACompletionFindsItsDestinationButNeverCreatesOne) {
  DstTable t(64, kDefaultHashKey, 64);
  t.onCompletion(synTo(0, kVictim, 22).dst, 22);
  EXPECT_TRUE(t.harvest().empty());
  t.onAttempt(synTo(1, kVictim, 22));
  t.onCompletion(synTo(0, kVictim, 22).dst, 22);
  auto s = t.harvest();
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].completions, 1u);
}

TEST(DstTable, ABusySetLeavesNewDestinationsUntrackedAndAnIdleWayIsReused) {
  DstTable t(2, kDefaultHashKey, 64);  // one set of two ways
  t.onAttempt(synTo(1, kVictim, 1));
  t.onAttempt(synTo(1, kVictim, 2));
  t.onAttempt(synTo(1, kVictim, 3));  // both ways busy
  EXPECT_EQ(t.untracked(), 1u);
  (void)t.harvest();
  t.onAttempt(synTo(1, kVictim, 1));  // port 1 stays busy
  (void)t.harvest();                  // port 2 has been idle for a whole bank
  (void)t.harvest();
  t.onAttempt(synTo(1, kVictim, 1));
  t.onAttempt(synTo(1, kVictim, 3));  // takes port 2's way, never port 1's
  auto s = t.harvest();
  EXPECT_NE(find(s, 1), nullptr);
  EXPECT_NE(find(s, 3), nullptr);
  EXPECT_EQ(find(s, 2), nullptr);
  EXPECT_EQ(find(s, 3)->attempts, 1u);
}

// The HyperLogLog's standard error is 1.04/sqrt(128) = 9.2 %; every
// estimate here must be within 3 of them (27.6 %), and the mean error over
// the runs within one.
TEST(DstTable, DistinctSourcesEstimateIsWithinTheHyperLogLogError) {
  std::mt19937 rng(7);
  for (uint32_t n : {10u, 100u, 1000u, 10000u, 37623u}) {
    double sum_rel = 0;
    const int runs = 8;
    for (int r = 0; r < runs; r++) {
      sg_hash_key key{rng(), rng()};
      DstTable t(64, key, 64);
      const uint32_t base = rng();
      for (uint32_t i = 0; i < n; i++) {
        t.onAttempt(synTo(base + i * 2654435761u, kVictim, 25565));
        if (i % 50 == 0) t.onAttempt(synTo(base + i * 2654435761u, kVictim, 25565));  // repeats
      }
      auto s = t.harvest();
      ASSERT_EQ(s.size(), 1u);
      const double est = hllEstimate(s[0].hll);
      const double rel = (est - n) / n;
      EXPECT_LT(std::fabs(rel), 0.276) << n << " sources, estimate " << est;
      sum_rel += std::fabs(rel);
    }
    EXPECT_LT(sum_rel / runs, 0.092 * 1.2) << n << " sources";
  }
}

TEST(DstTable, PrefixTableFindsTheSourcesConcentration) {
  DstTable t(64, kDefaultHashKey, 64);
  std::mt19937 rng(3);
  // 80 % from 203.0.113.0/24, 20 % from everywhere.
  for (int i = 0; i < 5000; i++) {
    const uint32_t src = i % 5 == 4 ? rng() : (0xcb007100u | (rng() & 0xff));
    t.onAttempt(synTo(src, kVictim, 80));
  }
  auto s = t.harvest();
  ASSERT_EQ(s.size(), 1u);
  uint64_t guaranteed = 0;
  std::string top;
  for (const sg_hh_entry& e : s[0].hh) {
    if (e.count - e.err > guaranteed) {
      guaranteed = e.count - e.err;
      top = prefixOf(e.prefix).str();
    }
  }
  EXPECT_EQ(top, "203.0.113.0/24");
  EXPECT_GE(guaranteed, 3900u);  // true 4000; count - err never above it
  EXPECT_LE(guaranteed, 4000u);
}

TEST(DstTable, PrefixNames) {
  EXPECT_EQ(prefixOf((4ull << 56) | 0xc63364).str(), "198.51.100.0/24");
  EXPECT_EQ(prefixOf((6ull << 56) | 0x20010db80001ull).str(), "2001:db8:1::/48");
}

}  // namespace
}  // namespace sg
