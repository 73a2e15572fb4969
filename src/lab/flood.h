// sg-flood's engine: a SYN generator over a raw IP socket (IP_HDRINCL /
// IPPROTO_RAW): prebuilt IPv4/IPv6 SYN frames sent in sendmmsg() batches, with
// a fixed or a random spoofed source (drawn from a prefix), fixed or random
// source ports, bounded by a packet count AND a duration, optionally paced,
// in one of a few SYN shapes (what a signature can tell apart, core/signature.h).
//
// Safety: it only sends to addresses inside the lab ranges 10.200.0.0/16 and
// fd00:200::/32 (the namespaces the caller made), from sources inside them.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/result.h"

namespace sg::lab {

// The SYN's TCP fields and options. kMss: an MSS option, window 64240 (the
// generator's historical frame; "bare MSS" is a stack the signature chooser
// protects). kBare: no option, window 0 (the shape of the real spoofed capture,
// a tool's). kLinux: Linux's own SYN (MSS, SACK-permitted, timestamps, NOP,
// window scale 7; window 64240): a flood shaped like a normal client.
enum class SynShape { kMss, kBare, kLinux };

struct FloodOptions {
  std::string dst;           // destination address (lab range only)
  uint16_t dst_port = 8080;  // destination port
  std::string src;           // fixed source address, or "" with spoof_cidr
  std::string spoof_cidr;    // random source per packet from this prefix
  uint16_t src_port = 0;     // fixed source port; 0 = random per packet
  uint64_t count = 100000;   // stop after this many packets...
  std::chrono::nanoseconds duration = std::chrono::seconds(5);  // ...or after this long
  uint64_t rate = 0;    // packets per second; 0 = as fast as it goes
  unsigned batch = 64;  // packets per sendmmsg (1..1024)
  SynShape shape = SynShape::kMss;
  // When set, the packets sent so far, updated after every batch (a test
  // reads it to count what was sent after some moment).
  std::atomic<uint64_t>* progress = nullptr;
};

struct FloodStats {
  uint64_t sent = 0;    // packets the kernel accepted
  uint64_t errors = 0;  // packets it refused (ENOBUFS and the like)
  double seconds = 0;
  double pps = 0;
  std::string json() const;  // {"sent":N,"errors":N,"seconds":S,"pps":P}
};

// Checks an address (or a prefix) lies in 10.200.0.0/16 or fd00:200::/32.
Result<void> checkLabRange(const std::string& addr_or_prefix);
Result<void> validateFlood(const FloodOptions& options);

// Runs the flood on the calling thread (which must be inside the attacker's
// namespace). `stop`, when given, ends it early.
Result<FloodStats> runFlood(const FloodOptions& options, const std::atomic<bool>* stop = nullptr);

// Same, on a thread that enters the named namespace first; returns when done.
Result<FloodStats> runFloodIn(const std::string& netns, const FloodOptions& options,
                              const std::atomic<bool>* stop = nullptr);

// ---- frame building (exposed for tests) ----
// The largest frame buildSyn4/6 write (IPv6, kLinux).
inline constexpr size_t kMaxSynFrame = 40 + 40;
// Writes an IPv4 or IPv6 SYN of `shape` (IPv4 kMss: 44 bytes; IPv6 kMss: 64)
// with a correct TCP checksum into buf (kMaxSynFrame bytes); returns its
// length. Addresses in network order.
size_t buildSyn4(uint8_t* buf, const uint8_t src[4], const uint8_t dst[4], uint16_t sport,
                 uint16_t dport, uint32_t seq, SynShape shape = SynShape::kMss);
size_t buildSyn6(uint8_t* buf, const uint8_t src[16], const uint8_t dst[16], uint16_t sport,
                 uint16_t dport, uint32_t seq, SynShape shape = SynShape::kMss);
// "mss", "bare", "linux" (sg-flood's --shape).
Result<SynShape> parseSynShape(const std::string& text);
// Internet checksum of a TCP segment over its pseudo header (0 when valid).
uint16_t tcpChecksum4(const uint8_t* ip_packet, size_t len);
uint16_t tcpChecksum6(const uint8_t* ip_packet, size_t len);

}  // namespace sg::lab
