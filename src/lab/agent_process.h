// Drives a real `syn-guard agent` inside a lab namespace: spawns it with
// --log-format json, waits for its "ready" line, collects its events, asks
// its control socket for status, and reads its CPU time and RSS from /proc.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "lab/subprocess.h"

namespace sg::lab {

struct AgentOptions {
  std::string binary;                   // path of syn-guard
  std::string netns;                    // namespace to run it in
  std::vector<std::string> interfaces;  // --interface (repeated)
  uint32_t threshold = 200;             // --flood-threshold (0: not passed)
  std::string window = "5s";            // --flood-window
  std::string block = "60s";            // --block-duration
  std::string enforcer = "xdp";         // --enforcer
  std::vector<std::string> extra;       // any further flags, passed as is
};

// The syn-guard binary: $SYNGUARD_BIN_DIR/syn-guard, else next to this
// executable (/proc/self/exe's directory), else /proc/self/exe itself when it
// is syn-guard.
std::string findSynGuardBinary();

class AgentProcess {
 public:
  using Json = nlohmann::json;
  // Starts the agent and waits up to `ready_timeout` for its "ready" event;
  // an error with the agent's stderr when it exits (at once, not at the
  // timeout) or stays silent. The default is generous: loading the XDP
  // program (the verifier) alone takes most of 20 s on a loaded 2-core
  // machine.
  static Result<std::unique_ptr<AgentProcess>> start(
      const AgentOptions& options,
      std::chrono::milliseconds ready_timeout = std::chrono::seconds(60));
  ~AgentProcess();

  const Json& ready() const { return ready_; }
  pid_t pid() const { return proc_->pid(); }
  Process& process() { return *proc_; }
  const std::string& controlSocket() const { return socket_path_; }

  // Reads every line printed so far; returns the events new since the last call.
  std::vector<Json> poll();
  // Every event seen so far (after poll()).
  const std::vector<Json>& events() const { return events_; }
  // How many events were seen so far: pass it to waitFor as `since` to wait
  // only for later ones.
  size_t mark() {
    poll();
    return events_.size();
  }
  // Waits up to `timeout` for an event named `name` (matching `pred` if given)
  // at index >= `since` in events(); the first such event.
  std::optional<Json> waitFor(const std::string& name, std::chrono::milliseconds timeout,
                              const std::function<bool(const Json&)>& pred = nullptr,
                              size_t since = 0);
  // Events named `name` seen so far.
  std::vector<Json> eventsNamed(const std::string& name) const;

  // `syn-guard status --json` against this agent's control socket.
  Result<Json> status() const;
  // A counter from status()["counters"].
  Result<uint64_t> counter(const std::string& name) const;
  // VmRSS in KiB, and user+system CPU seconds, from /proc/<pid>.
  Result<uint64_t> rssKib() const;
  Result<double> cpuSeconds() const;

  // SIGTERM and wait; the exit code.
  int stop(std::chrono::milliseconds grace = std::chrono::seconds(10));

 private:
  AgentProcess() = default;
  std::string binary_;
  std::string dir_;
  std::string socket_path_;
  std::unique_ptr<Process> proc_;
  Json ready_;
  std::vector<Json> events_;
  std::vector<std::string> raw_;  // non-JSON lines, kept for diagnostics
};

}  // namespace sg::lab
