// AgentLink: the console link as the Agent sees it — one object in
// AgentParts, a descriptor in its epoll loop, a few calls. It joins
// ConsoleLink (the connection, on its own thread) and LinkApplier (the
// desired state, applied on the loop thread), and feeds the block book's
// log events to the report queue. Kept out of agent.cpp so the Agent stays
// small.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "agent/agent_link_apply.h"
#include "agent/console_link_port_floods.h"
#include "agent/event_log.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/result.h"

namespace sg::agent {

class ConsoleLink;
class ConsoleLinkCore;

// What `syn-guard agent` was given: --console, --enroll, --name, --state-dir.
struct AgentLinkSetup {
  std::string console_url;  // "" : no console
  std::string enroll_token;
  std::string name;
  std::string state_dir;
};

class AgentLink {
 public:
  // nullptr when there is no --console (the agent runs alone). Enrolls first
  // when a token is given; otherwise needs the credentials of an earlier
  // enrollment with this console. Logs "enrolled", and later
  // "console_connected" / "console_disconnected" (`log` must outlive it).
  static Result<std::unique_ptr<AgentLink>> open(const AgentLinkSetup& setup, EventLog& log);
  // For tests: an already made link.
  AgentLink(std::unique_ptr<ConsoleLink> link, std::string state_dir);
  ~AgentLink();

  // In the loop thread, once the block book is restored: puts back the
  // console's state, starts reporting and connecting. `counters` gives the
  // heartbeat's counters.
  Result<void> attach(LinkApplyHost host, EventLog& log,
                      std::function<std::map<std::string, uint64_t>()> counters);
  // The port-flood watch's status (PortFloodWatch::statusJson): each
  // heartbeat reports the floods still going on as `updated`.
  void setPortFloodStatus(std::function<nlohmann::json()> status) {
    port_status_ = std::move(status);
  }
  int wakeFd() const;
  // The loop's handler for wakeFd(): applies snapshots and deltas, answers,
  // sends heartbeats.
  void onWake();
  void overlay(AgentConfig& reloaded) const;
  nlohmann::json statusJson() const;
  std::string metricsText() const;
  void stop();

  LinkApplier* applier() { return applier_.get(); }
  ConsoleLinkCore& core();

 private:
  std::unique_ptr<ConsoleLink> link_;
  std::string state_dir_;
  std::unique_ptr<LinkApplier> applier_;
  std::function<std::map<std::string, uint64_t>()> counters_;
  std::function<nlohmann::json()> port_status_;
  PortFloodReporter port_floods_;  // loop thread (log observer, onWake)
  BlockBook* book_ = nullptr;
  EventLog* log_ = nullptr;
  MonotonicClock mono_;
};

}  // namespace sg::agent
