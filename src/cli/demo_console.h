// `syn-guard demo` reporting to a console: it finds the console as `ctl`
// does (flags, then SYN_GUARD_* variables, then the local console's
// defaults), asks it for a one-time enrollment token with the admin token,
// and relays the victim agent's connection out of the sealed lab (a listener
// on the console's loopback address and port inside the victim namespace,
// piped to the console in this namespace: TLS stays end to end). At the end
// it reads back how the console saw the demo's flood.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "cli/ctl.h"
#include "core/result.h"
#include "lab/relay.h"

namespace sg::cli {

struct DemoConsoleFlags {
  std::string console;     // --console URL ("": SYN_GUARD_CONSOLE, else the local console)
  std::string ca_file;     // --ca-file
  std::string token_file;  // --token-file (the admin API token)
  bool none = false;       // --no-console
};

class DemoConsole {
 public:
  // The console to report to, with an enrollment token already made; nullptr
  // to run alone, `why_alone` then says why. An error only when a console was
  // named (--console or SYN_GUARD_CONSOLE) and cannot be used.
  static Result<std::unique_ptr<DemoConsole>> open(const DemoConsoleFlags& flags,
                                                   const std::string& endpoint_name,
                                                   std::string* why_alone);

  const std::string& url() const { return settings_.url; }
  const std::string& endpointName() const { return name_; }
  // Starts the relay inside `victim_netns`; the agent's flags to enroll.
  Result<std::vector<std::string>> attach(const std::string& victim_netns);
  // "flood #3 from 10.200.1.2: BLOCK, severity LOW, endpoints demo-victim-42"
  // once the console lists a flood from `source` seen by this endpoint
  // (polled up to `timeout`); else what it lacks.
  std::string floodLine(const std::string& source, std::chrono::milliseconds timeout) const;
  // The ctl flags that reach this console ("" for the local defaults).
  std::string ctlFlags() const { return ctl_flags_; }

 private:
  DemoConsole() = default;
  ctl::Settings settings_;
  std::string name_;
  std::string enroll_token_;
  std::string ctl_flags_;
  std::unique_ptr<lab::TcpRelay> relay_;
};

}  // namespace sg::cli
