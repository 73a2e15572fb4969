// Enforcer: who drops a blocked source outside the XDP program. The XDP
// program always counts and, in XDP mode, drops by itself; an Enforcer holds
// the blocks elsewhere (nftables sets now, WFP filters on Windows later).
// Expiry is the enforcer's own (kernel timeouts), so a crashed agent never
// leaves a permanent block behind.
#pragma once

#include <string>

#include "core/address.h"
#include "core/duration.h"
#include "core/result.h"

namespace sg {

struct BlockSpec {
  Address key;             // the counted key: IPv4 address or masked IPv6 prefix
  uint8_t v6_prefix = 64;  // the prefix length an IPv6 key stands for
  Nanos ttl{};             // how long the block lasts from now
};

class Enforcer {
 public:
  virtual ~Enforcer() = default;
  virtual const char* name() const = 0;
  // Adds or refreshes the block; idempotent.
  virtual Result<void> block(const BlockSpec& spec) = 0;
  // Removes it; removing an absent block is not an error.
  virtual Result<void> unblock(const Address& key, uint8_t v6_prefix) = 0;
  // A prefix block (IPv4 /1../31, IPv6 /1../127: every source inside) for
  // `ttl`, added or refreshed; unblockPrefix removes it (absent: not an
  // error). An enforcer without them refuses, and XDP holds the block alone.
  virtual Result<void> blockPrefix(const Prefix& prefix, Nanos ttl) {
    (void)ttl;
    return Error(Errc::kUnavailable, std::string(name()) + " cannot block a prefix (" +
                                         prefix.str() + "): XDP holds it");
  }
  virtual Result<void> unblockPrefix(const Prefix&) { return Ok{}; }
  // Packets this enforcer dropped (after the hand-off: the XDP program never
  // saw them drop), for the dropped_total metric; 0 when it keeps no count.
  virtual Result<uint64_t> droppedPackets() { return uint64_t{0}; }
};

}  // namespace sg
