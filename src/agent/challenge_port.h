// ChallengePort: arms and disarms the challenge of a source (challenge
// instead of block, bpf/sg_challenge.h). The kernel marks a source challenged
// at its crossing; BlockBook arms it once it learns of it (event or
// reconcile) and disarms it when the challenge ends or turns into a block.
// Arming puts the source under the kernel's SYNPROXY first (the table's
// source sets, linux/synproxy_rules.h) and then tells the XDP program to
// answer its SYNs with cookies: a cookie ACK always finds SYNPROXY. On Linux
// ChallengeResponsePort (challenge_response_port.h) over CookieResponse and
// XdpSensor; in unit tests a fake.
#pragma once

#include <cstdint>

#include "core/address.h"
#include "core/result.h"
#include "sg_shared.h"

namespace sg::agent {

class ChallengePort {
 public:
  virtual ~ChallengePort() = default;
  // Challenges `key` (a masked source) until `expires_ns` (the sensor's
  // clock); idempotent, a second call moves the expiry.
  virtual Result<void> arm(const sg_addr& key, uint64_t expires_ns) = 0;
  // Ends it; disarming what is not armed is no error.
  virtual Result<void> disarm(const sg_addr& key) = 0;
};

}  // namespace sg::agent
