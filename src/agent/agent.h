// Agent: the event loop of `syn-guard agent`. One thread epolls the kernel's
// ring buffer, the signals (signalfd: SIGTERM/SIGINT stop, SIGHUP reloads),
// the control socket (ControlServer: non-blocking, clients cut off at a
// deadline), the metrics requests (MetricsExchange) and a timer armed for the
// next block expiry (plus a slow reconcile tick) — so an idle agent sleeps —
// and, with a console, the link's inbox (AgentLink: the connection runs on
// its own thread, the desired state is applied here).
// The metrics endpoint (MetricsServer, Boost.Beast) runs on its own thread and
// only sees snapshots the loop publishes, so no client can delay the event
// path or another client.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "agent/agent_link.h"
#include "agent/block_book.h"
#include "agent/challenge_port.h"
#include "agent/cookie_responder.h"
#include "agent/event_log.h"
#include "agent/local_addresses.h"
#include "agent/metrics.h"
#include "agent/port_flood_watch.h"
#include "agent/reflection_watch.h"
#include "agent/sensor_port.h"
#include "agent/signature_responder.h"
#include "agent/sockets.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/enforcer.h"
#include "core/isolation.h"

namespace sg::agent {

struct AgentParts {
  std::unique_ptr<SensorPort> sensor;
  std::unique_ptr<Enforcer> enforcer;   // null: XDP enforces (or nobody)
  std::vector<std::string> interfaces;  // attached, for status
  std::function<std::string(uint32_t)> ifname;
  // Prefixes always allowed besides config.allow (loopback, own addresses).
  std::vector<Prefix> implicit_allow;
  // When `host_changes_fd` (>= 0) becomes readable, the host's addresses may
  // have changed: `refresh_implicit_allow` drains it and returns the new
  // implicit entries (nullopt: nothing changed).
  int host_changes_fd = -1;
  std::function<Result<std::optional<std::vector<Prefix>>>()> refresh_implicit_allow;
  // The host's own addresses now (local_addresses.h), written to the sensor
  // at start and after each change `host_changes_fd` reports; null: unknown
  // (the sensor then counts and answers for every destination).
  LocalAddresses::Reader local_addresses;
  // Re-reads the config file and re-applies the flags (SIGHUP).
  std::function<Result<AgentConfig>()> reload;
  // Where permanent blocks are kept across restarts (null: nowhere).
  std::unique_ptr<BlockStore> store;
  // Endpoint isolation, asked for over the control socket (isolate/release,
  // see isolation_control.h); null: this agent cannot isolate.
  std::unique_ptr<IsolationPort> isolation;
  // The link to the console (agent_link.h); null: the agent runs alone.
  std::unique_ptr<AgentLink> link;
  // Extra fields for the "ready" event (modes per interface, ...).
  nlohmann::json ready_fields = nlohmann::json::object();
  // Which ports' handshakes complete in the agent's sight (a listener in its
  // network namespace: core/port_flood.h); null: every port's.
  std::unique_ptr<ListenerProbe> listeners;
  // SYN cookies for flooded ports (config syncookies != off); null: port
  // floods get no cookies. Last: gone before the sensor it may point to.
  std::unique_ptr<CookiePort> cookies;
  // Challenge instead of block (source_response challenge,
  // bpf/sg_challenge.h): arms challenged sources; null: unavailable, the
  // kernel is told to block instead and `challenge_note` says why.
  std::unique_ptr<ChallengePort> challenges;
  std::string challenge_note;
};

class Agent {
 public:
  Agent(AgentConfig config, AgentParts parts, EventLog& log, Clock& clock);
  ~Agent();

  // Opens the control socket and the metrics endpoint, pushes the config to
  // the sensor, logs "ready", and runs until SIGTERM/SIGINT. Blocks the
  // handled signals in the calling thread (call before starting threads).
  Result<void> run();

 private:
  Result<void> applyConfig(const AgentConfig& config);
  nlohmann::json handleRequest(const std::string& line);
  void describeConfig(nlohmann::json& j) const;
  nlohmann::json statusJson();
  MetricsValues metricsValues();
  void reload();
  void refreshHostAddresses();
  void armTimer(int timer_fd);
  // Arms the next destination harvest (port floods): kDstSampleInterval
  // when `busy`, kDstIdleInterval otherwise.
  void armSampler(int timer_fd, bool busy);
  // One harvest; returns whether anything is going on (attempts, floods,
  // unmatched SYN-ACKs).
  bool sampleDsts();
  // Harvests run: port floods or reflection are detected.
  bool sampling() const { return config_.port_flood.enabled || config_.reflection.enabled; }
  LinkApplyHost linkHost();
  std::map<std::string, uint64_t> heartbeatCounters();

  AgentConfig config_;
  AgentParts parts_;
  EventLog& log_;
  Clock& clock_;
  // Guards book_ and the sensor. Only the loop's thread uses them now (the
  // metrics thread reads published snapshots), so it is never contended.
  std::mutex mu_;
  std::unique_ptr<BlockBook> book_;
  std::unique_ptr<LocalAddresses> local_;              // the sensor's list of our addresses
  std::unique_ptr<BookPrefixResponder> responder_;     // port floods' prefix blocks
  std::unique_ptr<CookieResponder> cookie_responder_;  // and SYN cookies (parts_.cookies)
  std::unique_ptr<SignatureResponder> sig_responder_;  // and the signature drop
  std::unique_ptr<PortFloodWatch> ports_;
  std::unique_ptr<ReflectionWatch> reflect_;  // SYN-ACK reflection, verified sources
  uint64_t started_ns_ = 0;
};

}  // namespace sg::agent
