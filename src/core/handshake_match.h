// HandshakeMatch: replay's stand-in for the kernel's handshake tracepoint.
// A capture holds the incoming side, so a handshake is seen complete when
// the client's first bare ACK of a 4-tuple whose SYN the capture saw arrives
// (the ACK that takes the server's socket SYN_RECV -> ESTABLISHED). Bounded:
// past kMaxPending attempts awaited at once, new ones are not awaited (their
// completions are not seen: the source gets no credit — the safe side).
#pragma once

#include <cstddef>
#include <string>
#include <unordered_set>

#include "sg_parse.h"

namespace sg {

class HandshakeMatch {
 public:
  static constexpr size_t kMaxPending = size_t{1} << 20;

  // Every parsed incoming packet; true when it completes a handshake whose
  // attempt this matcher saw (each 4-tuple completes once per attempt).
  bool onPacket(const sg_pkt& pkt);
  size_t pending() const { return pending_.size(); }

 private:
  std::unordered_set<std::string> pending_;  // 4-tuples of attempts awaiting their ACK
};

}  // namespace sg
