// HandshakeMatch: replay's stand-in for the kernel's handshake tracepoint.
// The kernel credits a completion when the client's ACK takes a socket from
// SYN_RECV to ESTABLISHED, which it does only for the handshake's third
// packet: sequence number = the SYN's + 1 and acknowledgement number = the
// host's SYN-ACK's + 1 (tcp_check_req()). A "SYN + blind ACK" flood (an ACK
// with a guessed or zero acknowledgement number after each SYN) completes
// nothing there, so it completes nothing here:
//  - verified (the capture holds the host's SYN-ACKs, as a two-direction
//    capture does): an ACK completes an awaited attempt only when the host
//    answered it and the ACK acknowledges that SYN-ACK;
//  - unverified (a one-direction capture: none of the host's SYN-ACKs): the
//    acknowledgement number cannot be checked; an ACK following the SYN's
//    sequence number completes it, and replay says its completions are
//    unverified.
// Awaited attempts are the SYNs the caller says the host's stack took (replay
// never awaits a SYN its own model dropped: the host would not have answered
// it). As in the kernel, an attempt is awaited for kSynRecvLifetimeNs of
// capture time after its SYN (a retransmission does not extend it), then
// forgotten: a spoofed flood's never-completed SYNs do not pile up. Bounded:
// at most `max_pending` attempts awaited at once; past it the oldest is
// forgotten (its completion, if it ever comes, is not credited), so the
// newest handshakes (real clients answering now) are still seen.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <unordered_map>

#include "sg_parse.h"

namespace sg {

class HandshakeMatch {
 public:
  // Plenty for real handshakes, which complete within a round trip: past it
  // only a flood of 2^18 passed SYNs between a client's SYN and its ACK
  // loses that client's credit. About 50 MB at most (entries and ages).
  static constexpr size_t kMaxPending = size_t{1} << 18;
  // How long the kernel keeps a request (SYN_RECV) socket with the default
  // net.ipv4.tcp_synack_retries = 5: SYN-ACKs at 0, 1, 3, 7, 15 and 31 s
  // (the timeout doubles from 1 s), dropped 32 s after the last: 63 s.
  static constexpr uint64_t kSynRecvLifetimeNs = 63'000'000'000ull;

  // `verify`: check ACKs against the host's SYN-ACKs (see above).
  explicit HandshakeMatch(bool verify = false, size_t max_pending = kMaxPending)
      : verify_(verify), max_pending_(max_pending == 0 ? 1 : max_pending) {}

  // A SYN (sg_pkt_is_attempt) the host's stack took, at capture time
  // `now_ns`: its handshake is awaited.
  void onAttempt(const sg_pkt& syn, uint64_t now_ns);
  // True when `pkt` is the host's SYN-ACK answering an awaited attempt.
  bool isAnswer(const sg_pkt& pkt, std::optional<uint32_t> ack) const;
  // Any packet but an attempt, either direction, with its acknowledgement
  // number (core/tcp_ack.h) when it has one, at capture time `now_ns`:
  // records the host's SYN-ACKs; true when it is the ACK that completes an
  // awaited attempt (each attempt completes once).
  bool onPacket(const sg_pkt& pkt, std::optional<uint32_t> ack, uint64_t now_ns);

  bool verified() const { return verify_; }
  size_t pending() const { return pending_.size(); }
  // Bare ACKs of an awaited attempt that did not complete it (wrong sequence
  // or acknowledgement number, or no SYN-ACK from the host to acknowledge).
  uint64_t refusedAcks() const { return refused_acks_; }
  // Awaited attempts forgotten: past their lifetime, or the oldest when full.
  uint64_t expired() const { return expired_; }
  uint64_t evicted() const { return evicted_; }
  // Age entries held (stale ones included): at most 2 * max_pending.
  size_t ageEntries() const { return order_.size(); }

 private:
  // The client's 4-tuple: source, destination, ports (36 bytes, no padding).
  struct Tuple {
    uint8_t src[16];
    uint8_t dst[16];
    uint16_t sport;
    uint16_t dport;
    bool operator==(const Tuple& o) const;
  };
  static_assert(sizeof(Tuple) == 36);
  struct TupleHash {
    size_t operator()(const Tuple& t) const;
  };
  struct Attempt {
    uint32_t client_next = 0;  // the SYN's sequence number + 1
    uint32_t host_next = 0;    // the host's SYN-ACK's sequence number + 1
    bool answered = false;     // the host's SYN-ACK was seen
    uint64_t stamp = 0;        // its entry in order_
  };
  // Oldest first: an attempt's SYN time. An entry whose stamp no longer
  // matches its attempt's (completed, or a new SYN started it over) is stale.
  struct Aged {
    uint64_t at_ns;
    uint64_t stamp;
    Tuple key;
  };
  static Tuple clientKey(const sg_addr& src, const sg_addr& dst, uint16_t sport, uint16_t dport);
  // The key of the awaited attempt that `pkt` (the host's SYN-ACK) answers.
  std::optional<Tuple> answeredKey(const sg_pkt& pkt, std::optional<uint32_t> ack) const;
  // Forgets what is past its lifetime at `now_ns` (capture time never goes
  // back here: the newest seen is kept).
  void expire(uint64_t now_ns);
  // Drops order_'s oldest entry, and its attempt when the entry is current.
  void popOldest();

  bool verify_;
  size_t max_pending_;
  std::unordered_map<Tuple, Attempt, TupleHash> pending_;
  std::deque<Aged> order_;  // at most 2 * max_pending_ entries (stale ones included)
  uint64_t now_ns_ = 0;
  uint64_t next_stamp_ = 1;
  uint64_t refused_acks_ = 0;
  uint64_t expired_ = 0;
  uint64_t evicted_ = 0;
};

}  // namespace sg
