#include "lab/console_process.h"

#include <signal.h>
#include <stdlib.h>

#include <filesystem>
#include <thread>

#include "files/state_file.h"
#include "lab/agent_process.h"
#include "lab/netns.h"
#include "net/https_client.h"

namespace sg::lab {
namespace {

// "10.201.0.1:8443" -> host, port.
Result<std::pair<std::string, uint16_t>> splitListen(const std::string& listen) {
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos) return makeError(Errc::kInvalidArgument, "listen: no port");
  std::string host = listen.substr(0, colon);
  if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  return std::make_pair(host, static_cast<uint16_t>(std::stoul(listen.substr(colon + 1))));
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace

Result<std::unique_ptr<ConsoleProcess>> ConsoleProcess::start(
    const ConsoleOptions& options, std::chrono::milliseconds ready_timeout) {
  std::unique_ptr<ConsoleProcess> c(new ConsoleProcess());
  c->options_ = options;
  if (c->options_.binary.empty()) c->options_.binary = findSynGuardBinary();
  if (c->options_.data.empty()) {
    char tmpl[] = "/tmp/sg-lab-console-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) return makeError(Errc::kIo, "mkdtemp for the console's data");
    c->options_.data = tmpl;
    c->own_data_ = true;
  }
  SG_TRY(c->spawn(ready_timeout));
  return c;
}

Result<void> ConsoleProcess::spawn(std::chrono::milliseconds ready_timeout) {
  std::vector<std::string> argv = {options_.binary, "console",       "--data",       options_.data,
                                   "--listen",      options_.listen, "--log-format", "json"};
  if (!options_.db.empty()) {
    argv.push_back("--db");
    argv.push_back(options_.db);
  }
  argv.insert(argv.end(), options_.extra.begin(), options_.extra.end());
  SG_READ(proc, Process::spawn(argv, options_.netns));
  proc_ = std::move(*proc);
  auto deadline = std::chrono::steady_clock::now() + ready_timeout;
  std::string seen;
  while (std::chrono::steady_clock::now() < deadline) {
    auto line = proc_->readLine(std::chrono::milliseconds(100));
    if (!line) {
      // Exited: noticed at once, even while something it started holds its
      // stdout (its Process still waits for that to end when destroyed).
      if (proc_->stdoutClosed() || !proc_->running()) break;
      continue;
    }
    auto j = nlohmann::json::parse(*line, nullptr, false);
    if (!j.is_discarded() && j.is_object() && j.value("event", "") == "console_ready") {
      ready_ = j;
      url_ = j.value("url", "");
      auto token = readSmallFile(adminTokenFile(), 4096);
      if (!token) return token.error().context("reading the console's admin token");
      admin_token_ = trim(*token);
      return Ok{};
    }
    if (seen.size() < 8192) seen += *line + "\n";
  }
  std::string why;
  if (auto code = proc_->waitExit(std::chrono::milliseconds(200))) {
    why = "it exited with " + std::to_string(*code);
  } else {
    why = "no \"console_ready\" line within " + std::to_string(ready_timeout.count()) + " ms";
    proc_->stop(std::chrono::milliseconds(500));
  }
  // Its whole output, unless something it left behind still holds the pipes.
  const auto settle = std::chrono::steady_clock::now() + std::chrono::milliseconds(500);
  for (;;) {
    for (const auto& l : proc_->drainLines()) {
      if (seen.size() < 8192) seen += l + "\n";
    }
    if (proc_->stdoutClosed()) {
      proc_->waitOutput();
      break;
    }
    if (std::chrono::steady_clock::now() >= settle) break;
    if (auto l = proc_->readLine(std::chrono::milliseconds(50)); l && seen.size() < 8192) {
      seen += *l + "\n";
    }
  }
  return makeError(Errc::kUnavailable,
                   "console did not start: " + why + ": " + proc_->stderrText() + seen);
}

ConsoleProcess::~ConsoleProcess() {
  if (proc_) proc_->stop();
  if (own_data_) {
    std::error_code ec;
    std::filesystem::remove_all(options_.data, ec);
  }
}

Result<std::string> ConsoleProcess::enrollmentToken(const std::string& labels) const {
  std::vector<std::string> argv = {options_.binary, "console",     "token",    "create",
                                   "--data",        options_.data, "--labels", labels};
  if (!options_.db.empty()) {
    argv.push_back("--db");
    argv.push_back(options_.db);
  }
  SG_READ(out, runChecked(argv, options_.netns));
  return trim(*out);
}

Result<ApiReply> ConsoleProcess::api(const std::string& method, const std::string& path,
                                     const nlohmann::json& body) const {
  SG_READ(hp, splitListen(options_.listen));
  SG_READ(ca, readSmallFile(caFile(), 1 << 20));
  net::HttpsTarget target;
  target.host = hp->first;
  target.port = hp->second;
  target.tls.ca_pem = *ca;
  target.timeout = std::chrono::seconds(10);
  Result<net::HttpsReply> reply = makeError(Errc::kIo, "not run");
  std::string text = body.is_null() ? "" : body.dump();
  auto call = [&] {
    reply = net::httpsRequest(target, method, path, text, "Bearer " + admin_token_);
  };
  if (options_.netns.empty()) {
    call();
  } else {
    SG_READ(t, startThreadIn(options_.netns, call));
    t->join();
  }
  if (!reply) return reply.error().context(method + " " + path);
  ApiReply r;
  r.status = reply->status;
  r.text = reply->body;
  r.body = nlohmann::json::parse(reply->body, nullptr, false);
  if (r.body.is_discarded()) r.body = nullptr;
  return r;
}

std::optional<nlohmann::json> ConsoleProcess::waitApi(
    const std::string& path, const std::function<bool(const nlohmann::json&)>& pred,
    std::chrono::milliseconds timeout) const {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  do {
    auto r = api("GET", path);
    if (r && r->status == 200 && pred(r->body)) return r->body;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  } while (std::chrono::steady_clock::now() < deadline);
  return std::nullopt;
}

void ConsoleProcess::kill() {
  if (!proc_) return;
  ::kill(proc_->pid(), SIGKILL);
  proc_->waitExit(std::chrono::seconds(10));
  proc_->waitOutput();
  proc_.reset();
}

Result<void> ConsoleProcess::restart(std::chrono::milliseconds ready_timeout) {
  if (proc_) stop();
  proc_.reset();
  return spawn(ready_timeout);
}

int ConsoleProcess::stop(std::chrono::milliseconds grace) {
  if (!proc_) return -1;
  int code = proc_->stop(grace);
  proc_->waitOutput();
  return code;
}

}  // namespace sg::lab
