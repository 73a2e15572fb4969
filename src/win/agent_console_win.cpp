#include "win/agent_console_win.h"

#include <winsock2.h>
#include <ws2tcpip.h>

#include <algorithm>
#include <nlohmann/json.hpp>

namespace sg::win {
namespace {

constexpr uint64_t kHeartbeatNs = 5'000'000'000;  // as the Linux agent's

void logLine(std::FILE* log, const nlohmann::json& j) {
  std::fprintf(log, "%s\n", j.dump().c_str());
  std::fflush(log);
}

// The console's addresses, for isolation: its host as an address, or what
// the name resolves to now (as the Linux agent's resolveConsole).
std::vector<Address> resolveConsole(const std::string& host) {
  if (auto a = parseAddress(host); a.ok()) return {*a};
  std::vector<Address> out;
  WSADATA wsa;
  if (WSAStartup(MAKEWORD(2, 2), &wsa) != 0) return out;
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (getaddrinfo(host.c_str(), nullptr, &hints, &res) == 0) {
    for (addrinfo* p = res; p != nullptr; p = p->ai_next) {
      char buf[NI_MAXHOST];
      if (getnameinfo(p->ai_addr, static_cast<socklen_t>(p->ai_addrlen), buf, sizeof buf, nullptr,
                      0, NI_NUMERICHOST) != 0) {
        continue;
      }
      auto a = parseAddress(buf);
      if (a.ok() && std::find(out.begin(), out.end(), *a) == out.end()) out.push_back(*a);
    }
    freeaddrinfo(res);
  }
  WSACleanup();
  return out;
}

}  // namespace

Result<std::unique_ptr<WinAgentConsole>> WinAgentConsole::open(
    const LinkCredentials& creds, const std::string& state_dir, const AgentConfig& config,
    AttemptPipeline* pipeline, IsolationPort* isolation, Clock* clock, std::FILE* log) {
  SG_READ(endpoint, parseConsoleEndpoint(creds.url));
  WinHttpWsOptions wo;
  wo.host = endpoint->host;
  wo.port = endpoint->port;
  wo.ca_pem = creds.ca_pem;
  wo.cert_pem = creds.cert_pem;
  wo.key_pem = creds.key_pem;
  wo.key_name = "syn-guard-agent-" + creds.name;
  std::unique_ptr<WinAgentConsole> c(new WinAgentConsole());
  c->config_ = config;
  c->pipeline_ = pipeline;
  auto connector = WinHttpWsConnector::create(wo);
  if (!connector.ok()) return connector.error().context("the console link");
  c->connector_ = std::move(connector).value();
  agent::LinkCoreOptions co;
  co.name = creds.name;
  co.agent_version = "0.1.0";
  co.platform = "windows";
  co.state_dir = state_dir;
  auto core = agent::ConsoleLinkCore::open(co, *clock);
  if (!core.ok()) return core.error();
  c->core_ = std::move(core).value();
  c->applier_ = std::make_unique<WinLinkApplier>(pipeline, pipeline->allowlist());
  const std::string console_host = endpoint->host;
  c->applier_->setIsolation(
      isolation, [console_host] { return resolveConsole(console_host); }, config.allow);
  LinkRunnerOptions ro;
  const std::string url = creds.url;
  ro.on_state = [log, url](bool up, const std::string& reason) {
    if (up) {
      logLine(log, {{"event", "console_connected"}, {"console", url}});
    } else {
      logLine(log, {{"event", "console_disconnected"},
                    {"console", url},
                    {"reason", reason},
                    {"note", "protecting on local decisions; reports are queued, retrying"}});
    }
  };
  c->runner_ = std::make_unique<LinkRunner>(c->core_.get(), c->connector_.get(), ro);
  c->runner_->start();
  return c;
}

WinAgentConsole::~WinAgentConsole() { stop(); }

void WinAgentConsole::stop() {
  if (runner_) runner_->stop();
}

void WinAgentConsole::report(const std::vector<sg_event>& events, uint64_t now_ns) {
  const uint64_t window_ms = static_cast<uint64_t>(config_.window.count()) / 1'000'000;
  for (const sg_event& e : events) {
    auto r = reportEvent(e, window_ms, static_cast<uint8_t>(config_.ipv6_prefix), now_ns);
    if (r) core_->report(*r);
  }
}

void WinAgentConsole::tick(uint64_t now_ns) {
  if (now_ns - last_beat_ns_ >= kHeartbeatNs) {
    last_beat_ns_ = now_ns;
    core_->heartbeatDue();
  }
  serviceLink(*core_, *applier_, *pipeline_, now_ns);
}

}  // namespace sg::win
