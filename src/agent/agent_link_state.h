// What the console made this agent run, kept across agent restarts in
// <state_dir>/console-state.json (0600, written atomically), so that an agent
// that says "applied_version N" in its hello really runs N after a restart:
// the console's blocks (marked as the console's, so a snapshot removes only
// those, never a local detection), the console's named policy, and whether
// the console isolated the host.
//   {"version":1,"applied_version":7,
//    "blocks":[{"source":"192.0.2.7","expires_unix_ms":null}],
//    "policy":{"name":"payments","threshold":100,...}|null,"isolated_by_console":false}
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/address.h"
#include "core/result.h"
#include "proto/messages.h"

namespace sg::agent {

struct ConsoleBlockRecord {
  Prefix source;                            // as the console sent it
  std::optional<uint64_t> expires_unix_ms;  // wall clock; nullopt: permanent
  bool operator==(const ConsoleBlockRecord&) const = default;
};

struct AgentLinkState {
  uint64_t applied_version = 0;
  std::vector<ConsoleBlockRecord> blocks;
  std::optional<proto::PolicyParams> policy;  // a named console policy in force
  bool isolated_by_console = false;
  bool operator==(const AgentLinkState&) const = default;
};

// A missing file is a fresh state; a malformed one an error naming it.
Result<AgentLinkState> loadAgentLinkState(const std::string& state_dir);
Result<void> saveAgentLinkState(const std::string& state_dir, const AgentLinkState& state);
std::string encodeAgentLinkState(const AgentLinkState& state);
Result<AgentLinkState> parseAgentLinkState(const std::string& text);

}  // namespace sg::agent
