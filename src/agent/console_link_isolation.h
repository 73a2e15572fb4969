// The console's isolation order (a snapshot's isolation, an isolate or
// release op) applied to an IsolationPort: the one piece of the appliers
// that the Linux agent (LinkApplier, agent_link_apply.cpp) and the Windows
// agent (WinLinkApplier, src/win/link_apply.cpp) share unchanged. Plain C++
// over the port (unit-tested through both appliers' tests).
#pragma once

#include <vector>

#include "core/isolation.h"
#include "proto/messages.h"

namespace sg::agent {

// Where the console's isolation goes on this agent.
struct IsolationTarget {
  IsolationPort* port = nullptr;     // null: refused, "this agent runs without isolation"
  std::vector<Address> console;      // the console's addresses; empty: refused (not resolved)
  std::vector<Prefix> config_allow;  // the agent's configured --allow (not widened)
};

// Isolates (`on`) with the console's addresses, the peers it names and the
// configured allowlist, unless already isolated with that spec; or releases:
// a snapshot (`from_snapshot`) only what the console isolated
// (`isolated_by_console`, kept by the caller), a release op any isolation.
// What fails becomes a nack item ("isolate" / "release").
void applyConsoleIsolation(const IsolationTarget& target, bool on, const std::vector<Prefix>& peers,
                           bool from_snapshot, bool& isolated_by_console,
                           std::vector<proto::NackItem>& items);

}  // namespace sg::agent
