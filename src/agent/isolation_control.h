// The control socket's isolation commands, kept apart from the Agent's
// request switch so that wiring them is one call, and so that the console
// link can apply the same requests:
//   {"cmd":"isolate","console":["192.0.2.10","2001:db8::10"],"allow":["198.51.100.0/24"]}
//   {"cmd":"release"}
// answered {"ok":true,"isolation":{"isolated":...,"console":[...],"allow":[...]}}
// or {"ok":false,"error":"why"}. The agent's configured allowlist is always
// added to "allow": the allowlist wins, also over isolation.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/isolation.h"

namespace sg::agent {

// The answer to `line` when its "cmd" is isolate or release; nullopt for any
// other line (the caller's own parser handles it). `port` null: the agent
// runs without isolation, which the answer says.
std::optional<nlohmann::json> handleIsolationCommand(IsolationPort* port, const std::string& line,
                                                     const std::vector<Prefix>& config_allow);

// The spec an isolate request asks for: its console addresses, its allow
// prefixes plus `config_allow` (duplicates dropped), validated.
Result<IsolationSpec> isolationSpecFor(const nlohmann::json& request,
                                       const std::vector<Prefix>& config_allow);

// {"isolated":false} or {"isolated":true,"console":[...],"allow":[...]}, for status.
nlohmann::json isolationStatusJson(const IsolationPort* port);

}  // namespace sg::agent
