// SockDiagListenerProbe: the port-flood detector's ListenerProbe on Linux
// (core/port_flood.h). Asks the kernel (NETLINK_SOCK_DIAG, TCP sockets in
// LISTEN only) whether a socket listens for a local address and port in the
// agent's network namespace: bound to that address, or to the wildcard of
// its family ([::] takes IPv4 too unless v6only: counted as listening).
// A port DNAT-published to a container has no such socket here (Docker's
// userland proxy, when on, does listen: see docs/architecture.md).
#pragma once

#include "core/port_flood.h"

namespace sg {

class SockDiagListenerProbe final : public ListenerProbe {
 public:
  // On an error (no sock_diag) it answers "listening": the port keeps the
  // ratio test, as before there was a probe.
  bool listening(const sg_addr& dst, uint16_t port) override;
  uint64_t errors() const { return errors_; }

 private:
  uint64_t errors_ = 0;
};

}  // namespace sg
