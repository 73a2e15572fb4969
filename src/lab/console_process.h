// Drives a real `syn-guard console` inside a lab namespace: spawns it with
// --log-format json, waits for its "console_ready" line, makes enrollment
// tokens, and calls its REST API over real TLS (trusting its CA, with its
// admin token) from inside the namespace. Killed with SIGKILL and started
// again on the same data directory, it must come back with everything it
// confirmed.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "lab/subprocess.h"

namespace sg::lab {

struct ConsoleOptions {
  std::string binary;  // path of syn-guard ("" : findSynGuardBinary())
  std::string netns;   // namespace to run it in ("": this one)
  std::string listen;  // "10.200.9.1:8443"
  std::string data;    // data directory ("" : a fresh temporary one, removed at the end)
  std::string db;      // --db ("" : SQLite in the data directory)
  std::vector<std::string> extra;
};

struct ApiReply {
  int status = 0;
  nlohmann::json body;  // null when the body is not JSON
  std::string text;
};

class ConsoleProcess {
 public:
  // Starts the console and waits up to `ready_timeout` for its
  // "console_ready" line (60 s, as AgentProcess::start: a loaded machine
  // makes the CA slowly); a console that exits first is reported at once,
  // with its exit code and stderr.
  static Result<std::unique_ptr<ConsoleProcess>> start(
      const ConsoleOptions& options,
      std::chrono::milliseconds ready_timeout = std::chrono::seconds(60));
  ~ConsoleProcess();

  const nlohmann::json& ready() const { return ready_; }
  const std::string& url() const { return url_; }  // "https://10.200.9.1:8443"
  const std::string& dataDir() const { return options_.data; }
  std::string caFile() const { return options_.data + "/ca.crt"; }
  std::string adminTokenFile() const { return options_.data + "/admin.token"; }
  Process& process() { return *proc_; }

  // `syn-guard console token create --labels ...` on its data directory.
  Result<std::string> enrollmentToken(const std::string& labels) const;
  // One REST call as the admin, from inside the console's namespace.
  Result<ApiReply> api(const std::string& method, const std::string& path,
                       const nlohmann::json& body = nullptr) const;
  // Polls GET `path` every 50 ms until `pred` holds on the reply's body or
  // `timeout` passes; the last body that satisfied it.
  std::optional<nlohmann::json> waitApi(const std::string& path,
                                        const std::function<bool(const nlohmann::json&)>& pred,
                                        std::chrono::milliseconds timeout) const;

  // SIGKILL: no clean shutdown, nothing flushed.
  void kill();
  // Starts it again on the same data directory (after kill() or stop()).
  Result<void> restart(std::chrono::milliseconds ready_timeout = std::chrono::seconds(60));
  int stop(std::chrono::milliseconds grace = std::chrono::seconds(10));

 private:
  ConsoleProcess() = default;
  Result<void> spawn(std::chrono::milliseconds ready_timeout);

  ConsoleOptions options_;
  bool own_data_ = false;
  std::unique_ptr<Process> proc_;
  nlohmann::json ready_;
  std::string url_;
  std::string admin_token_;
};

}  // namespace sg::lab
