// Isolation of an endpoint: while isolated, the host exchanges traffic only
// with the console's addresses and the allowlist's prefixes (plus loopback and
// what keeps the link up: IPv6 neighbour discovery, DHCP renewals; see
// docs/architecture.md, "Isolation"). The console (or the local control
// socket) asks through IsolationPort; the Linux implementation is
// linux/isolation.h, a fake for tests is core/fake_isolation.h.
#pragma once

#include <string>
#include <vector>

#include "core/address.h"
#include "core/result.h"

namespace sg {

// Who the host may still talk to while isolated. Matching is by address
// only, in both directions, without connection state: a connection with any
// other peer is cut, even one opened before the isolation (an SSH session
// from a host that is not on the allowlist ends; one from an allowlisted
// host survives: the allowlist wins).
struct IsolationSpec {
  // The console's addresses (IPv4 and/or IPv6), every port and protocol.
  // Never empty: isolating without a way back to the console is refused.
  std::vector<Address> console;
  // More peers that stay reachable: the agent's allowlist (--allow) as
  // configured (not widened to the counting prefix).
  std::vector<Prefix> allow;

  friend bool operator==(const IsolationSpec& a, const IsolationSpec& b) {
    return a.console == b.console && a.allow == b.allow;
  }
};

// Bounds that keep the kernel ruleset small (two rules per entry).
inline constexpr size_t kMaxIsolationConsole = 16;
inline constexpr size_t kMaxIsolationAllow = 64;

// kInvalidArgument saying what is wrong: no console address; an unspecified
// (0.0.0.0, ::) or multicast console address; an allow prefix that admits
// everything (/0); more entries than the bounds above; a duplicate.
Result<void> validateIsolationSpec(const IsolationSpec& spec);

// Builds a spec from text ("192.0.2.1", "2001:db8::/32"), then validates it.
Result<IsolationSpec> parseIsolationSpec(const std::vector<std::string>& console,
                                         const std::vector<std::string>& allow);

// {"console":["192.0.2.1"],"allow":["198.51.100.0/24"]} and back; the
// parser validates.
std::string isolationSpecJson(const IsolationSpec& spec);
Result<IsolationSpec> parseIsolationSpecJson(const std::string& json);

// Isolates the host or releases it. Implementations are idempotent:
// isolate() while isolated replaces the spec; release() while not isolated
// is a no-op.
class IsolationPort {
 public:
  virtual ~IsolationPort() = default;
  // Validates `spec` (see validateIsolationSpec), then isolates.
  virtual Result<void> isolate(const IsolationSpec& spec) = 0;
  virtual Result<void> release() = 0;
  virtual bool isolated() const = 0;
  // The spec in force; empty when not isolated.
  virtual IsolationSpec spec() const = 0;
};

}  // namespace sg
