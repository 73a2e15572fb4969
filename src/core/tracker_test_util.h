// Packets and configs for the tracker's tests, built as the parser would
// leave them (struct sg_pkt), with explicit timestamps.
#pragma once

#include <cstdint>
#include <cstring>
#include <vector>

#include "core/kernel_config.h"
#include "core/tracker.h"
#include "sg_track.h"

namespace sg::test {

constexpr uint64_t kSec = 1'000'000'000ull;
constexpr uint64_t kT0 = 100 * kSec;  // a positive, epoch-aligned-enough start

inline sg_config testConfig(uint32_t threshold = 10) {
  // The agent's defaults (5 s window, 60 s block, ...) with this threshold.
  sg_config c = toKernelConfig(AgentConfig{});
  c.threshold = threshold;
  return c;
}

inline TrackerOptions testOptions(uint32_t threshold = 10) {
  TrackerOptions o;
  o.cfg = testConfig(threshold);
  return o;
}

inline sg_addr v4(uint32_t host_order) {
  sg_addr a{};
  a.b[10] = 0xff;
  a.b[11] = 0xff;
  a.b[12] = static_cast<uint8_t>(host_order >> 24);
  a.b[13] = static_cast<uint8_t>(host_order >> 16);
  a.b[14] = static_cast<uint8_t>(host_order >> 8);
  a.b[15] = static_cast<uint8_t>(host_order);
  return a;
}

// `n` IPv4 keys (from 10.50.0.0 on) that fall in the same slot set as `key`
// in a Tracker of `slots` slots hashing with `hash_key`.
inline std::vector<sg_addr> sameSet(const sg_addr& key, uint32_t slots, size_t n,
                                    const sg_hash_key& hash_key = kDefaultHashKey) {
  const uint32_t mask = slots / SG_SLOT_WAYS - 1;
  const uint32_t want = sg_slot_first(sg_addr_hash(&key, &hash_key), mask);
  std::vector<sg_addr> out;
  for (uint32_t i = 0; out.size() < n && i < (1u << 24); i++) {
    sg_addr a = v4(0x0A320000 + i);
    if (sg_slot_first(sg_addr_hash(&a, &hash_key), mask) == want &&
        std::memcmp(a.b, key.b, 16) != 0) {
      out.push_back(a);
    }
  }
  return out;
}

// 2001:db8:0:<net>::<host>
inline sg_addr v6(uint16_t net, uint16_t host) {
  sg_addr a{};
  const uint8_t pre[] = {
      0x20, 0x01, 0x0d, 0xb8, 0, 0, static_cast<uint8_t>(net >> 8), static_cast<uint8_t>(net)};
  std::memcpy(a.b, pre, sizeof(pre));
  a.b[14] = static_cast<uint8_t>(host >> 8);
  a.b[15] = static_cast<uint8_t>(host);
  return a;
}

inline sg_pkt tcp(const sg_addr& src, uint8_t flags, uint16_t port = 80) {
  sg_pkt p{};
  p.src = src;
  p.has_src = 1;
  p.family = src.b[10] == 0xff && src.b[11] == 0xff && src.b[0] == 0 ? 4 : 6;
  p.kind = SG_PKT_TCP;
  p.tcp_flags = flags;
  p.dst_port = port;
  return p;
}

// A new connection attempt: each call its own sequence number, so that the
// Tracker does not take it for a retransmission (sg_syn_repeat).
inline sg_pkt syn(const sg_addr& src, uint16_t port = 80) {
  static uint32_t next_seq = 1;
  sg_pkt p = tcp(src, SG_TCP_SYN, port);
  p.src_port = 40000;
  p.tcp_seq = next_seq++;
  return p;
}

inline sg_pkt other(const sg_addr& src, uint8_t kind) {
  sg_pkt p = tcp(src, 0);
  p.kind = kind;
  p.tcp_flags = 0;
  p.dst_port = 0;
  return p;
}

}  // namespace sg::test
