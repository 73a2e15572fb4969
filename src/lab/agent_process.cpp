#include "lab/agent_process.h"

#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>

namespace sg::lab {
namespace {

bool executable(const std::string& path) { return access(path.c_str(), X_OK) == 0; }

std::string selfExe() {
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0) return "";
  return std::string(buf, static_cast<size_t>(n));
}

}  // namespace

std::string findSynGuardBinary() {
  if (const char* dir = std::getenv("SYNGUARD_BIN_DIR"); dir != nullptr && *dir != '\0') {
    std::string p = std::string(dir) + "/syn-guard";
    if (executable(p)) return p;
  }
  std::string self = selfExe();
  size_t slash = self.rfind('/');
  if (slash != std::string::npos) {
    std::string dir = self.substr(0, slash);
    for (const char* rel : {"/syn-guard", "/../bin/syn-guard"}) {
      if (executable(dir + rel)) return dir + rel;
    }
  }
  return self;
}

Result<std::unique_ptr<AgentProcess>> AgentProcess::start(const AgentOptions& o,
                                                          std::chrono::milliseconds ready_timeout) {
  if (o.interfaces.empty()) return makeError(Errc::kInvalidArgument, "agent: no interface");
  std::unique_ptr<AgentProcess> a(new AgentProcess());
  a->binary_ = o.binary.empty() ? findSynGuardBinary() : o.binary;
  char tmpl[] = "/tmp/sg-lab-agent-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) return makeError(Errc::kIo, "mkdtemp for the control socket");
  a->dir_ = tmpl;
  a->socket_path_ = a->dir_ + "/agent.sock";
  std::vector<std::string> argv = {
      a->binary_,         "agent",        "--log-format",     "json",
      "--flood-window",   o.window,       "--block-duration", o.block,
      "--enforcer",       o.enforcer,     "--metrics-listen", "127.0.0.1:0",
      "--control-socket", a->socket_path_};
  if (o.threshold != 0) {  // 0: leave it to --config (see AgentOptions)
    argv.push_back("--flood-threshold");
    argv.push_back(std::to_string(o.threshold));
  }
  for (const auto& i : o.interfaces) {
    argv.push_back("--interface");
    argv.push_back(i);
  }
  argv.insert(argv.end(), o.extra.begin(), o.extra.end());
  // A lab agent touches nothing of the host: no pins in /sys/fs/bpf, no
  // state file in /var/lib (unless the options name their own).
  auto given = [&](const std::string& flag) {
    return std::find(o.extra.begin(), o.extra.end(), flag) != o.extra.end();
  };
  if (!given("--pin-dir")) {
    argv.push_back("--pin-dir");
    argv.push_back("");
  }
  if (!given("--state-dir")) {
    argv.push_back("--state-dir");
    argv.push_back(a->dir_);
  }
  auto proc = Process::spawn(argv, o.netns);
  if (!proc.ok()) return proc.error().context("starting the agent");
  a->proc_ = std::move(*proc);
  // Returns as soon as the agent exits (its stdout closes), whatever the timeout.
  auto ready = a->waitFor("ready", ready_timeout);
  if (!ready) {
    std::string why;
    if (auto code = a->proc_->waitExit(std::chrono::milliseconds(200))) {
      a->proc_->waitOutput();
      why = "it exited with " + std::to_string(*code);
    } else {
      why = "no \"ready\" event within " + std::to_string(ready_timeout.count()) + " ms";
    }
    std::string err = a->proc_->stderrText();
    for (const auto& l : a->raw_) err += "\n" + l;
    return makeError(Errc::kUnavailable, "agent did not start: " + why + ": " + err);
  }
  a->ready_ = *ready;
  return a;
}

AgentProcess::~AgentProcess() {
  if (proc_) proc_->stop();
  if (!socket_path_.empty()) unlink(socket_path_.c_str());
  if (!dir_.empty()) rmdir(dir_.c_str());
}

std::vector<AgentProcess::Json> AgentProcess::poll() {
  std::vector<Json> fresh;
  for (auto& line : proc_->drainLines()) {
    auto j = Json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("event")) {
      if (raw_.size() < 1000) raw_.push_back(line);
      continue;
    }
    events_.push_back(j);
    fresh.push_back(std::move(j));
  }
  return fresh;
}

std::optional<AgentProcess::Json> AgentProcess::waitFor(
    const std::string& name, std::chrono::milliseconds timeout,
    const std::function<bool(const Json&)>& pred, size_t since) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  size_t scanned = since;
  for (;;) {
    poll();
    for (; scanned < events_.size(); ++scanned) {
      const Json& e = events_[scanned];
      if (e.value("event", "") == name && (!pred || pred(e))) return e;
    }
    if (std::chrono::steady_clock::now() >= deadline || proc_->stdoutClosed()) return std::nullopt;
    // Wake on the next line (or every 50 ms); readLine consumes it, so keep it.
    if (auto line = proc_->readLine(std::chrono::milliseconds(50))) {
      auto j = Json::parse(*line, nullptr, false);
      if (!j.is_discarded() && j.is_object() && j.contains("event")) {
        events_.push_back(std::move(j));
      } else if (raw_.size() < 1000) {
        raw_.push_back(*line);
      }
    }
  }
}

std::vector<AgentProcess::Json> AgentProcess::eventsNamed(const std::string& name) const {
  std::vector<Json> out;
  for (const auto& e : events_) {
    if (e.value("event", "") == name) out.push_back(e);
  }
  return out;
}

Result<AgentProcess::Json> AgentProcess::status() const {
  auto out = runCommand({binary_, "status", "--json", "--control-socket", socket_path_});
  if (!out.ok()) return out.error();
  if (out->exit_code != 0) {
    return makeError(Errc::kUnavailable, "syn-guard status exited with " +
                                             std::to_string(out->exit_code) + ": " + out->err);
  }
  auto j = Json::parse(out->out, nullptr, false);
  if (j.is_discarded())
    return makeError(Errc::kIo, "syn-guard status printed no JSON: " + out->out);
  return j;
}

Result<uint64_t> AgentProcess::counter(const std::string& name) const {
  auto s = status();
  if (!s.ok()) return s.error();
  if (!s->contains("counters") || !(*s)["counters"].contains(name)) {
    return makeError(Errc::kNotFound, "status has no counter '" + name + "': " + s->dump());
  }
  return (*s)["counters"][name].get<uint64_t>();
}

Result<uint64_t> AgentProcess::rssKib() const {
  std::ifstream f("/proc/" + std::to_string(proc_->pid()) + "/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoull(line.substr(6));
  }
  return makeError(Errc::kNotFound, "no VmRSS for pid " + std::to_string(proc_->pid()));
}

Result<double> AgentProcess::cpuSeconds() const {
  std::ifstream f("/proc/" + std::to_string(proc_->pid()) + "/stat");
  std::string all((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  size_t close = all.rfind(')');
  if (close == std::string::npos) return makeError(Errc::kNotFound, "no /proc stat for the agent");
  std::istringstream rest(all.substr(close + 2));
  std::string field;
  // Fields after the command: state(3) ... utime(14) stime(15).
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

int AgentProcess::stop(std::chrono::milliseconds grace) {
  int code = proc_->stop(grace);
  proc_->waitOutput();
  poll();
  return code;
}

}  // namespace sg::lab
