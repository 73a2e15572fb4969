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
// it). Bounded: past kMaxPending attempts awaited at once, new ones are not
// awaited (their completions are not seen: the source gets no credit — the
// safe side).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>

#include "sg_parse.h"

namespace sg {

class HandshakeMatch {
 public:
  static constexpr size_t kMaxPending = size_t{1} << 20;

  // `verify`: check ACKs against the host's SYN-ACKs (see above).
  explicit HandshakeMatch(bool verify = false) : verify_(verify) {}

  // A SYN (sg_pkt_is_attempt) the host's stack took: its handshake is awaited.
  void onAttempt(const sg_pkt& syn);
  // True when `pkt` is the host's SYN-ACK answering an awaited attempt.
  bool isAnswer(const sg_pkt& pkt, std::optional<uint32_t> ack) const;
  // Any packet but an attempt, either direction, with its acknowledgement
  // number (core/tcp_ack.h) when it has one: records the host's SYN-ACKs;
  // true when it is the ACK that completes an awaited attempt (each attempt
  // completes once).
  bool onPacket(const sg_pkt& pkt, std::optional<uint32_t> ack);

  bool verified() const { return verify_; }
  size_t pending() const { return pending_.size(); }
  // Bare ACKs of an awaited attempt that did not complete it (wrong sequence
  // or acknowledgement number, or no SYN-ACK from the host to acknowledge).
  uint64_t refusedAcks() const { return refused_acks_; }

 private:
  struct Attempt {
    uint32_t client_next = 0;  // the SYN's sequence number + 1
    uint32_t host_next = 0;    // the host's SYN-ACK's sequence number + 1
    bool answered = false;     // the host's SYN-ACK was seen
  };
  // The key of the awaited attempt that `pkt` (the host's SYN-ACK) answers.
  std::optional<std::string> answeredKey(const sg_pkt& pkt, std::optional<uint32_t> ack) const;

  bool verify_;
  std::unordered_map<std::string, Attempt> pending_;  // by the client's 4-tuple
  uint64_t refused_acks_ = 0;
};

}  // namespace sg
