#include "agent/agent_link.h"

#include <netdb.h>
#include <sys/socket.h>

#include <ctime>

#include "agent/console_enroll.h"
#include "agent/console_link.h"
#include "agent/console_link_events.h"

#ifndef SG_AGENT_VERSION
#define SG_AGENT_VERSION "0.0.0"
#endif

namespace sg::agent {
namespace {

Clock& monoClock() {
  static MonotonicClock clock;
  return clock;
}

uint64_t wallMs() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000 + static_cast<uint64_t>(ts.tv_nsec) / 1'000'000;
}

// The console's addresses, for isolation: its host as an address, or what
// the name resolves to now.
std::vector<Address> resolveConsole(const std::string& host) {
  if (auto a = parseAddress(host); a.ok()) return {*a};
  std::vector<Address> out;
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (getaddrinfo(host.c_str(), nullptr, &hints, &res) != 0) return out;
  for (addrinfo* p = res; p != nullptr; p = p->ai_next) {
    char buf[NI_MAXHOST];
    if (getnameinfo(p->ai_addr, p->ai_addrlen, buf, sizeof buf, nullptr, 0, NI_NUMERICHOST) != 0) {
      continue;
    }
    auto a = parseAddress(buf);
    if (a.ok() && std::find(out.begin(), out.end(), *a) == out.end()) out.push_back(*a);
  }
  freeaddrinfo(res);
  return out;
}

}  // namespace

Result<std::unique_ptr<AgentLink>> AgentLink::open(const AgentLinkSetup& setup, EventLog& log) {
  if (setup.console_url.empty()) {
    if (!setup.enroll_token.empty()) {
      return Error(Errc::kInvalidArgument, "--enroll needs --console URL");
    }
    return std::unique_ptr<AgentLink>{};
  }
  SG_READ(url, parseConsoleUrl(setup.console_url));
  std::optional<ConsoleCredentials> creds;
  if (!setup.enroll_token.empty()) {
    auto enrolled = enroll({setup.console_url, setup.enroll_token, setup.name, setup.state_dir});
    if (!enrolled) return enrolled.error();
    log.emit(
        "enrolled",
        {{"console", enrolled->url}, {"name", enrolled->name}, {"state_dir", setup.state_dir}});
    creds = std::move(*enrolled);
  } else {
    SG_READ(loaded, loadCredentials(setup.state_dir));
    if (!*loaded) {
      return Error(Errc::kInvalidArgument,
                   "not enrolled with " + url->text + " (nothing in " + setup.state_dir +
                       "): start once with --enroll TOKEN (`syn-guard console token create`)");
    }
    creds = std::move(**loaded);
  }
  if (creds->url != url->text) {
    return Error(Errc::kInvalidArgument, "enrolled with " + creds->url + ", not " + url->text +
                                             ": enroll again with a token from " + url->text);
  }
  if (!setup.name.empty() && setup.name != creds->name) {
    return Error(Errc::kInvalidArgument, "enrolled as '" + creds->name + "', not '" + setup.name +
                                             "': enroll again to change the name");
  }
  ConsoleLinkOptions o;
  o.host = url->host;
  o.port = url->port;
  o.url = url->text;
  o.tls.ca_pem = creds->ca_pem;
  o.tls.cert_pem = creds->cert_pem;
  o.tls.key_pem = creds->key_pem;
  o.core.name = creds->name;
  o.core.agent_version = SG_AGENT_VERSION;
  o.core.state_dir = setup.state_dir;
  o.on_state = [&log, url = url->text](bool up, const std::string& reason) {
    if (up) {
      log.emit("console_connected", {{"console", url}});
    } else {
      log.emit("console_disconnected",
               {{"console", url},
                {"reason", reason},
                {"note", "protecting on local decisions; reports are queued, retrying"}});
    }
  };
  SG_READ(link, ConsoleLink::create(std::move(o), monoClock()));
  return std::make_unique<AgentLink>(std::move(*link), setup.state_dir);
}

AgentLink::AgentLink(std::unique_ptr<ConsoleLink> link, std::string state_dir)
    : link_(std::move(link)), state_dir_(std::move(state_dir)) {}

AgentLink::~AgentLink() { stop(); }

ConsoleLinkCore& AgentLink::core() { return link_->core(); }

Result<void> AgentLink::attach(LinkApplyHost host, EventLog& log,
                               std::function<std::map<std::string, uint64_t>()> counters) {
  const std::string console_host = link_->options().host;
  if (!host.console_addresses) {
    host.console_addresses = [console_host] { return resolveConsole(console_host); };
  }
  if (!host.wall_ms) host.wall_ms = wallMs;
  book_ = host.book;
  counters_ = std::move(counters);
  applier_ = std::make_unique<LinkApplier>(std::move(host), state_dir_);
  if (auto r = applier_->restore(); !r) log.emit("error", {{"message", r.error().message()}});
  link_->core().setAppliedVersion(applier_->appliedVersion());
  log_ = &log;
  LinkApplier* applier = applier_.get();
  ConsoleLinkCore* core = &link_->core();
  PortFloodReporter* port_floods = &port_floods_;
  log.setObserver(
      [applier, core, port_floods](const std::string& event, const nlohmann::json& fields) {
        const uint64_t now = monoClock().nowNs();
        auto e = reportEventFrom(event, fields, now);
        if (e && applier->reportable(*e)) core->report(*e);
        if (auto p = port_floods->fromLog(event, fields, now)) core->report(*p);
      });
  link_->start();
  return Ok{};
}

int AgentLink::wakeFd() const { return link_->core().wakeFd(); }

void AgentLink::onWake() {
  ConsoleLinkCore& core = link_->core();
  for (auto& work : core.takeWork()) {
    if (const auto* s = std::get_if<proto::Snapshot>(&work)) {
      auto answer = applier_->apply(*s);
      core.setAppliedVersion(applier_->appliedVersion());
      core.sendAnswer(answer);
    } else if (const auto* d = std::get_if<proto::Delta>(&work)) {
      auto answer = applier_->apply(*d);
      core.setAppliedVersion(applier_->appliedVersion());
      core.sendAnswer(answer);
    } else {
      proto::Heartbeat hb;
      hb.agent_time_ns = monoClock().nowNs();
      hb.applied_version = applier_->appliedVersion();
      hb.active_blocks = book_ != nullptr ? static_cast<uint32_t>(book_->knownBlocks()) : 0;
      if (counters_) hb.counters = counters_();
      core.sendHeartbeat(hb);
      if (port_status_) {
        for (const auto& u : port_floods_.updates(port_status_(), hb.agent_time_ns)) {
          core.report(u);
        }
      }
    }
  }
}

void AgentLink::overlay(AgentConfig& reloaded) const {
  if (applier_) applier_->overlay(reloaded);
}

nlohmann::json AgentLink::statusJson() const { return link_->statusJson(); }
std::string AgentLink::metricsText() const { return link_->metricsText(); }

void AgentLink::stop() {
  if (log_ != nullptr) {
    log_->setObserver({});
    log_ = nullptr;
  }
  if (link_) link_->stop();
}

}  // namespace sg::agent
