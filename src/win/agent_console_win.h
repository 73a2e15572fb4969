// WinAgentConsole: the console link as the Windows agent's loop sees it (the
// counterpart of agent/agent_link.h): WinHTTP transport, LinkRunner,
// ConsoleLinkCore and WinLinkApplier joined, logging console_connected /
// console_disconnected as the Linux agent does. The loop calls tick() every
// 50 ms under its lock (snapshots, deltas and their answers, heartbeats) and
// report() with the Tracker's events. The console's isolation goes to
// `isolation` (WfpIsolation) with the console's addresses resolved at open.
// Windows only.
#pragma once

#include <cstdio>
#include <memory>
#include <vector>

#include "agent/console_link_core.h"
#include "win/attempt_pipeline.h"
#include "win/link_apply.h"
#include "win/link_credentials.h"
#include "win/link_runner.h"
#include "win/winhttp_ws.h"

namespace sg::win {

class WinAgentConsole {
 public:
  static Result<std::unique_ptr<WinAgentConsole>> open(
      const LinkCredentials& creds, const std::string& state_dir, const AgentConfig& config,
      AttemptPipeline* pipeline, IsolationPort* isolation, Clock* clock, std::FILE* log);
  ~WinAgentConsole();
  void report(const std::vector<sg_event>& events, uint64_t now_ns);
  void tick(uint64_t now_ns);
  void stop();

 private:
  WinAgentConsole() = default;
  AgentConfig config_;
  AttemptPipeline* pipeline_ = nullptr;
  std::unique_ptr<WinHttpWsConnector> connector_;
  std::unique_ptr<agent::ConsoleLinkCore> core_;
  std::unique_ptr<WinLinkApplier> applier_;
  std::unique_ptr<LinkRunner> runner_;
  uint64_t last_beat_ns_ = 0;
};

}  // namespace sg::win
