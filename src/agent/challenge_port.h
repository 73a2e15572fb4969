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

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/address.h"
#include "core/result.h"
#include "sg_shared.h"

namespace sg::agent {

// One source (masked, as its block key) to challenge until `expires_ns` (the
// sensor's clock).
struct ChallengeArm {
  sg_addr key{};
  uint64_t expires_ns = 0;
};

class ChallengePort {
 public:
  virtual ~ChallengePort() = default;
  // Challenges every source of `batch`: SYNPROXY for all of them in one
  // nftables transaction, then the XDP program. `*armed`: how many of
  // `batch`, from its start, are armed (all of them on success). Idempotent;
  // arming again moves the expiry.
  virtual Result<void> arm(const std::vector<ChallengeArm>& batch, size_t* armed) = 0;
  // Ends the challenges of `keys` (the XDP program first, then SYNPROXY in one
  // transaction); ending what is not armed is no error.
  virtual Result<void> disarm(const std::vector<sg_addr>& keys) = 0;
  // Puts back what arming relies on when it went (the SYNPROXY table, which
  // `systemctl reload nftables` or `nft flush ruleset` deletes), with every
  // source and port it held. Ok(true): it was gone and is back; Ok(false):
  // it was in place; an error: it is gone and could not be made again.
  virtual Result<bool> repair() = 0;
};

}  // namespace sg::agent
