// The Windows agent's run loop: ETW accepts and the TCP table's half-open
// connections into the AttemptPipeline, blocks through WFP, the control pipe,
// JSON lines on the log. Runs until `stop` is signalled (Ctrl-C, or the
// service being stopped). Windows only; its parts are tested one by one
// (see docs/windows-notes.md for what only a real host can check).
#pragma once

#include <cstdio>
#include <optional>
#include <string>

#include "core/config.h"
#include "core/result.h"
#include "win/link_credentials.h"
#include "win/win_compat.h"

namespace sg::win {

struct WinAgentOptions {
  AgentConfig config;
  std::wstring pipe_name;  // the control pipe (kDefaultPipeName)
  std::FILE* log = stdout;
  // The console link, when the state directory holds credentials.
  std::optional<LinkCredentials> console;
  std::string state_dir;
};

Result<void> runAgent(const WinAgentOptions& options, HANDLE stop);

}  // namespace sg::win
