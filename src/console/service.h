// ConsoleService: the console as one object, between the transport (the
// HTTPS + WebSocket server, src/net) and the logic (Correlator, DesiredState,
// Session) and the Store. Everything an operator, the REST API (api.h) or an
// agent's link does goes through here:
//
//   REST API  --actions/reads-->  ConsoleService  --persist-->  Store
//   agent WS  --agentLink()--->        |           --fan-out--> every Session's link
//
// Threading: one mutex guards the logic and the store; every public method
// takes it, so handlers on any server thread may call in. Fan-out after a
// change sends on the sessions' WebSocket connections (their queues are
// thread-safe and bounded) without waiting for acknowledgements.
//
// Persistence: a change is written to the store before it is acknowledged
// (an HTTP 2xx, a report_ack), so a console killed at any instant loses
// nothing it confirmed. open() restores floods, blocks, policies, isolations,
// endpoints and the report sequence numbers from the store.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "console/correlator.h"
#include "console/desired_state.h"
#include "console/store.h"
#include "core/clock.h"
#include "core/duration.h"
#include "core/result.h"
#include "net/http_types.h"
#include "net/ws_connection.h"

namespace sg::console {

// Wall-clock Unix milliseconds (what the store and the API show).
using WallClock = std::function<int64_t()>;
int64_t systemWallMs();

struct ConsoleOptions {
  CorrelatorOptions correlator;
  DesiredStateOptions desired;
  // An endpoint silent this long (no heartbeat, no message) shows offline.
  Nanos offline_after = std::chrono::seconds(30);
  // Enrollment tokens: default lifetime when `create` names none.
  Nanos enrollment_ttl = std::chrono::hours(24);
};

// Who acts: an API token's name and role, or the console itself.
struct Actor {
  std::string name;
  Role role = Role::kViewer;
};

// ---- read views (the API's JSON is made from these) ------------------------

struct EndpointView {
  std::string name;
  Labels labels;
  bool online = false;
  bool revoked = false;
  std::string policy;            // resolved policy's name ("default": none matched)
  uint64_t policy_version = 0;   // the endpoint's desired version
  uint64_t applied_version = 0;  // what it acknowledged
  bool isolated = false;
  uint32_t active_blocks = 0;         // from its last heartbeat
  int64_t last_heartbeat_ms = 0;      // 0: never
  std::vector<std::string> rejected;  // "op target: reason" it could not apply
};

struct FloodView {
  Flood flood;                // console-monotonic times
  int64_t started_at_ms = 0;  // the same times on the wall clock
  int64_t last_seen_ms = 0;
  int64_t ended_at_ms = 0;  // 0 while active
};

struct BlockView {
  GlobalBlock block;
  std::optional<int64_t> expires_at_ms;  // nullopt: permanent
  int64_t added_at_ms = 0;
  BlockStatus status;
};

struct EnrollResult {
  std::string endpoint;  // the name it was enrolled under
  std::string cert_pem;  // its client certificate (CN = endpoint)
  std::string ca_pem;    // the console's CA
};

class ConsoleService {
 public:
  // `clock`: monotonic (the logic's time base); `wall`: Unix ms. `ca_*`: the
  // console's CA, which signs agents' certificates at enrollment.
  static Result<std::unique_ptr<ConsoleService>> open(std::unique_ptr<Store> store,
                                                      ConsoleOptions options, Clock& clock,
                                                      WallClock wall, std::string ca_cert_pem,
                                                      std::string ca_key_pem);
  virtual ~ConsoleService() = default;

  // ---- authentication
  // "Bearer sgA_..." -> the token's actor; kUnauthenticated (401) for a
  // missing, malformed, unknown or revoked token.
  virtual Result<Actor> authenticate(const std::string& authorization) = 0;

  // ---- reads
  virtual Result<std::vector<EndpointView>> endpoints() = 0;
  virtual Result<std::vector<FloodView>> floods(bool include_ended) = 0;
  virtual Result<FloodView> flood(uint64_t id) = 0;
  virtual Result<std::vector<BlockView>> blocks() = 0;
  virtual Result<std::vector<IncidentRecord>> incidents() = 0;
  virtual Result<std::vector<Policy>> policies() = 0;
  virtual Result<std::vector<AuditRecord>> audit(uint64_t after_id, size_t limit) = 0;
  virtual uint64_t resourceVersion() = 0;

  // ---- operator actions: each checks the actor's role (kPermissionDenied),
  // is audited, persisted, fanned out, and idempotent; returns the
  // desired-state version that holds it.
  virtual Result<uint64_t> block(const Actor& who, const Prefix& source, std::optional<Nanos> ttl,
                                 const std::string& reason) = 0;
  virtual Result<uint64_t> unblock(const Actor& who, const Prefix& source) = 0;
  virtual Result<uint64_t> isolate(const Actor& who, const std::string& endpoint,
                                   const std::string& reason) = 0;
  virtual Result<uint64_t> release(const Actor& who, const std::string& endpoint) = 0;
  virtual Result<uint64_t> setPolicy(const Actor& who, Policy policy) = 0;
  virtual Result<uint64_t> deletePolicy(const Actor& who, const std::string& name) = 0;
  // Opens an incident for the flood (webhook_status "pending") and hands it
  // to the incident hook, which posts it to the webhooks (console/webhooks.h);
  // the outcome comes back through recordWebhook. Returns its id.
  virtual Result<uint64_t> escalate(const Actor& who, uint64_t flood_id,
                                    const std::string& note) = 0;
  // Called with each incident escalate() newly opens, once it is stored,
  // outside the service's lock. Set once, before serving.
  using IncidentHook = std::function<void(const IncidentRecord&)>;
  virtual void setIncidentHook(IncidentHook hook) { (void)hook; }
  // The console itself: the outcome of an incident's webhook posts ("delivered
  // to 2/2", "failed: URL: 503 after 5 attempts", "dropped: queue full") is
  // stored on the incident and audited. kNotFound: no such incident.
  virtual Result<void> recordWebhook(uint64_t incident_id, const std::string& status) {
    (void)incident_id;
    (void)status;
    return makeError(Errc::kUnavailable, "recordWebhook not implemented");
  }
  // Admin: a new API token (printed once, stored as a hash).
  virtual Result<std::string> createApiToken(const Actor& who, const std::string& name,
                                             Role role) = 0;
  // Admin: a one-time enrollment token carrying `labels`; ttl nullopt: default.
  virtual Result<std::string> createEnrollmentToken(const Actor& who, const Labels& labels,
                                                    std::optional<Nanos> ttl) = 0;
  // Admin: the endpoint's credentials stop working at once (its link closes).
  virtual Result<void> revokeEndpoint(const Actor& who, const std::string& endpoint) = 0;

  // ---- agents
  // POST /v1/enroll: a one-time token, the agent's CSR (PEM) and the name it
  // asks for. The token is consumed; the name must be free or revoked.
  virtual Result<EnrollResult> enroll(const std::string& token, const std::string& csr_pem,
                                      const std::string& name) = 0;
  // The WebSocket handler of /v1/agent (one Session per connection, named by
  // the verified client certificate's CN), and the check before the upgrade
  // (a revoked or unknown endpoint: 403).
  virtual std::shared_ptr<net::WsHandler> agentLink() = 0;
  virtual std::optional<net::HttpResponse> authorizeAgent(const net::HttpRequest& request) = 0;
  // Whether a verified client certificate is an endpoint's current, unrevoked
  // credential: only such a certificate has a request budget of its own (the
  // rate limiter counts the others against their address).
  virtual bool agentCertCurrent(const net::PeerInfo& peer) {
    (void)peer;
    return false;
  }

  // ---- time: expire blocks, end quiet floods, ping links, mark silent
  // endpoints offline. The caller runs it every ~second.
  virtual void tick() = 0;

  // ---- observability: the console's own counters and gauges in Prometheus
  // text format (the transport's come from net::appendPrometheus).
  virtual std::string metricsText() { return {}; }
  // More text metricsText() appends (the webhooks' counters), rendered under
  // the service's lock: it must not call the service. Its owner sets it, and
  // clears it (empty) before it goes.
  using MetricsRender = std::function<void(std::string&)>;
  virtual void setMoreMetrics(MetricsRender render) { (void)render; }
};

}  // namespace sg::console
