#include "win/half_open.h"

#include <gtest/gtest.h>

#include <array>

#include "core/address.h"
#include "test_helpers.h"

namespace sg::win {
namespace {

void put32(std::vector<uint8_t>* b, uint32_t v) {
  for (int i = 0; i < 4; i++) b->push_back(static_cast<uint8_t>(v >> (8 * i)));
}
// A port as the table holds it: big-endian in the low 16 bits of a DWORD.
void putPort(std::vector<uint8_t>* b, uint16_t port) {
  b->insert(b->end(), {static_cast<uint8_t>(port >> 8), static_cast<uint8_t>(port), 0, 0});
}

struct Row4 {
  uint32_t state;
  std::array<uint8_t, 4> local;
  uint16_t lport;
  std::array<uint8_t, 4> remote;
  uint16_t rport;
};

std::vector<uint8_t> table4(const std::vector<Row4>& rows) {
  std::vector<uint8_t> b;
  put32(&b, static_cast<uint32_t>(rows.size()));
  for (const Row4& r : rows) {
    put32(&b, r.state);
    b.insert(b.end(), r.local.begin(), r.local.end());
    putPort(&b, r.lport);
    b.insert(b.end(), r.remote.begin(), r.remote.end());
    putPort(&b, r.rport);
    put32(&b, 4242);  // dwOwningPid
  }
  return b;
}

std::vector<TcpRow> parsed4(const std::vector<Row4>& rows) {
  auto r = parseTcpTable4(table4(rows));
  EXPECT_TRUE(r.ok());
  return r.ok() ? *r : std::vector<TcpRow>{};
}

TEST(HalfOpen, ParsesTheIpv4TableLayout) {
  auto rows = parsed4({{kMibTcpStateSynRcvd, {192, 0, 2, 10}, 443, {198, 51, 100, 7}, 50000},
                       {5, {192, 0, 2, 10}, 22, {203, 0, 113, 1}, 60000}});
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].state, kMibTcpStateSynRcvd);
  EXPECT_EQ(Address{rows[0].local}.str(), "192.0.2.10");
  EXPECT_EQ(rows[0].local_port, 443);
  EXPECT_EQ(Address{rows[0].remote}.str(), "198.51.100.7");
  EXPECT_EQ(rows[0].remote_port, 50000);
  EXPECT_EQ(rows[1].state, 5u);
}

TEST(HalfOpen, ParsesTheIpv6TableLayout) {
  std::vector<uint8_t> b;
  put32(&b, 1);
  const uint8_t local[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  const uint8_t remote[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0x99};
  b.insert(b.end(), local, local + 16);
  put32(&b, 0);  // scope
  putPort(&b, 80);
  b.insert(b.end(), remote, remote + 16);
  put32(&b, 0);
  putPort(&b, 40000);
  put32(&b, kMibTcpStateSynRcvd);
  put32(&b, 4);
  ASSERT_EQ(b.size(), 4 + kTcpRow6Size);
  auto rows = parseTcpTable6(b);
  ASSERT_OK(rows);
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ(Address{(*rows)[0].remote}.str(), "2001:db8:1:2::99");
  EXPECT_EQ((*rows)[0].remote_port, 40000);
  EXPECT_EQ((*rows)[0].local_port, 80);
  EXPECT_EQ((*rows)[0].state, kMibTcpStateSynRcvd);
  EXPECT_EQ((*rows)[0].family, 6);
}

TEST(HalfOpen, ATableShorterThanItsCountIsAnError) {
  auto b = table4({{kMibTcpStateSynRcvd, {192, 0, 2, 10}, 443, {198, 51, 100, 7}, 50000}});
  for (size_t n = 0; n < b.size(); n++) {
    if (n == 4) continue;  // an empty table: no rows is fine... unless it claims one
    EXPECT_FALSE(parseTcpTable4(std::span<const uint8_t>(b.data(), n)).ok()) << n;
  }
  EXPECT_FALSE(parseTcpTable4(std::span<const uint8_t>(b.data(), 4)).ok());
  std::vector<uint8_t> huge = {0xff, 0xff, 0xff, 0xff};
  EXPECT_FALSE(parseTcpTable6(huge).ok());
  std::vector<uint8_t> empty = {0, 0, 0, 0};
  ASSERT_OK(parseTcpTable4(empty));
}

TEST(HalfOpen, EachSynRcvdConnectionIsOneAttemptAtItsFirstPoll) {
  HalfOpenCounter c(sg_hash_key{1, 2});
  std::vector<sg_pkt> attempts;
  const Row4 a{kMibTcpStateSynRcvd, {192, 0, 2, 10}, 443, {198, 51, 100, 7}, 50000};
  const Row4 b{kMibTcpStateSynRcvd, {192, 0, 2, 10}, 443, {198, 51, 100, 7}, 50001};
  const Row4 established{5, {192, 0, 2, 10}, 443, {198, 51, 100, 8}, 50000};
  EXPECT_EQ(c.onPoll(parsed4({a, established}), &attempts), 1u);
  EXPECT_EQ(c.onPoll(parsed4({a, b}), &attempts), 1u);  // a lasts: counted once
  EXPECT_EQ(c.halfOpenNow(), 2u);
  ASSERT_EQ(attempts.size(), 2u);
  EXPECT_EQ(Address{attempts[1].src}.str(), "198.51.100.7");
  EXPECT_EQ(attempts[1].src_port, 50001);
  EXPECT_EQ(attempts[1].dst_port, 443);
  EXPECT_TRUE(sg_pkt_is_attempt(&attempts[1]));
  EXPECT_NE(attempts[0].tcp_seq, attempts[1].tcp_seq);
  // Gone (completed or timed out), then back: a new attempt.
  EXPECT_EQ(c.onPoll({}, &attempts), 0u);
  EXPECT_EQ(c.onPoll(parsed4({a}), &attempts), 1u);
}

TEST(HalfOpen, PollsOnlyWhileAttemptsAreSeen) {
  constexpr uint64_t kMs = 1'000'000;
  PollSchedule s(50 * kMs, 2000 * kMs);
  EXPECT_FALSE(s.due(1000 * kMs, 0));  // nothing seen yet: idle
  s.onActivity(1000 * kMs);
  EXPECT_TRUE(s.due(1000 * kMs, 0));
  EXPECT_FALSE(s.due(1020 * kMs, 1000 * kMs));  // within the fast interval
  EXPECT_TRUE(s.due(1050 * kMs, 1000 * kMs));
  EXPECT_TRUE(s.due(3000 * kMs, 2950 * kMs));   // still within the linger
  EXPECT_FALSE(s.due(3001 * kMs, 2950 * kMs));  // quiet for longer: stop
}

}  // namespace
}  // namespace sg::win
