// HandshakeMatch's bounds: awaited attempts expire as the kernel's request
// sockets do, and a full table forgets its oldest, so a spoofed SYN flood
// (never completed) cannot stop later real handshakes from being credited.
// (What completes one: replay_blind_ack_test.cpp, replay_handshake_test.cpp.)
#include "core/handshake_match.h"

#include <gtest/gtest.h>

namespace sg {
namespace {

constexpr uint64_t kSec = 1'000'000'000ull;
constexpr uint64_t kT0 = 1'700'000'000 * kSec;  // a capture's first packet

sg_pkt tcp(uint32_t src, uint16_t sport, uint8_t flags, uint32_t seq) {
  sg_pkt p{};
  p.kind = SG_PKT_TCP;
  p.family = 4;
  p.has_src = 1;
  p.src.b[10] = p.src.b[11] = 0xff;
  p.src.b[12] = static_cast<uint8_t>(src >> 24);
  p.src.b[13] = static_cast<uint8_t>(src >> 16);
  p.src.b[14] = static_cast<uint8_t>(src >> 8);
  p.src.b[15] = static_cast<uint8_t>(src);
  p.dst.b[10] = p.dst.b[11] = 0xff;
  p.dst.b[12] = 10;
  p.dst.b[15] = 10;
  p.src_port = sport;
  p.dst_port = 443;
  p.tcp_flags = flags;
  p.tcp_seq = seq;
  return p;
}

constexpr uint32_t kClient = 0xc0000201u;

// At full size: a flood of kMaxPending passed spoofed SYNs, then a minute
// later (past the kernel's SYN_RECV lifetime) a real client's handshake.
TEST(HandshakeMatchBound, AnOldSpoofedFloodDoesNotStopLaterRealHandshakesFromCompleting) {
  HandshakeMatch m(false);  // a one-direction capture
  for (uint32_t i = 0; i < HandshakeMatch::kMaxPending; i++) {
    m.onAttempt(tcp(0x0b000000u + i, 1024, SG_TCP_SYN, i), kT0 + i * 1000);
  }
  ASSERT_EQ(m.pending(), HandshakeMatch::kMaxPending);
  const uint64_t later = kT0 + HandshakeMatch::kSynRecvLifetimeNs + kSec;
  m.onAttempt(tcp(kClient, 40000, SG_TCP_SYN, 5000), later);
  EXPECT_TRUE(m.onPacket(tcp(kClient, 40000, SG_TCP_ACK, 5001), std::nullopt, later + 1000))
      << "the real client's ACK is not credited: the awaited table is full of the flood";
  EXPECT_EQ(m.pending(), 0u) << "the flood's attempts are forgotten";
  EXPECT_EQ(m.expired(), HandshakeMatch::kMaxPending);
}

// Within the lifetime (a flood faster than the table): the oldest goes.
TEST(HandshakeMatchBound, AFullTableForgetsItsOldestAttemptNotTheNewest) {
  HandshakeMatch m(false, 64);
  for (uint32_t i = 0; i < 64; i++) m.onAttempt(tcp(0x0b000000u + i, 1024, SG_TCP_SYN, i), kT0);
  m.onAttempt(tcp(kClient, 40000, SG_TCP_SYN, 5000), kT0 + kSec);
  EXPECT_EQ(m.pending(), 64u);
  EXPECT_EQ(m.evicted(), 1u);
  EXPECT_TRUE(m.onPacket(tcp(kClient, 40000, SG_TCP_ACK, 5001), std::nullopt, kT0 + kSec));
  EXPECT_FALSE(m.onPacket(tcp(0x0b000000u, 1024, SG_TCP_ACK, 1), std::nullopt, kT0 + kSec))
      << "the oldest attempt was forgotten to make room";
  EXPECT_TRUE(m.onPacket(tcp(0x0b000001u, 1024, SG_TCP_ACK, 2), std::nullopt, kT0 + kSec));
}

// The kernel drops a request socket 63 s after the SYN (default
// tcp_synack_retries); an ACK after that completes nothing. A retransmitted
// SYN does not make it live longer.
TEST(HandshakeMatchBound, AnAckAfterTheSynRecvLifetimeCompletesNothing) {
  HandshakeMatch m(false);
  m.onAttempt(tcp(kClient, 40000, SG_TCP_SYN, 5000), kT0);
  m.onAttempt(tcp(kClient, 40000, SG_TCP_SYN, 5000), kT0 + 31 * kSec);  // retransmitted
  EXPECT_FALSE(m.onPacket(tcp(kClient, 40000, SG_TCP_ACK, 5001), std::nullopt,
                          kT0 + HandshakeMatch::kSynRecvLifetimeNs));
  EXPECT_EQ(m.pending(), 0u);
  // Just inside the lifetime it completes.
  m.onAttempt(tcp(kClient, 40001, SG_TCP_SYN, 7000), kT0 + 100 * kSec);
  EXPECT_TRUE(m.onPacket(tcp(kClient, 40001, SG_TCP_ACK, 7001), std::nullopt,
                         kT0 + 100 * kSec + HandshakeMatch::kSynRecvLifetimeNs - 1));
}

// Completed and restarted attempts leave stale age entries behind; they are
// bounded too (at most twice the table), whatever the number of handshakes.
TEST(HandshakeMatchBound, ManyCompletedHandshakesKeepTheTableSmall) {
  HandshakeMatch m(false, 16);
  for (uint32_t i = 0; i < 10'000; i++) {
    m.onAttempt(tcp(kClient, static_cast<uint16_t>(1024 + i % 50'000), SG_TCP_SYN, i * 7), kT0);
    ASSERT_TRUE(
        m.onPacket(tcp(kClient, static_cast<uint16_t>(1024 + i % 50'000), SG_TCP_ACK, i * 7 + 1),
                   std::nullopt, kT0));
  }
  EXPECT_EQ(m.pending(), 0u);
  EXPECT_LE(m.ageEntries(), 32u);
  EXPECT_EQ(m.evicted(), 0u) << "stale entries make room, never a live attempt";
}

}  // namespace
}  // namespace sg
