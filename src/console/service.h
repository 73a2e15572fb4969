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
#include "console/port_flood_book.h"
#include "console/store.h"
#include "console/web_timeline.h"
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
  PortFloodBookOptions port_floods;  // its bounds (in memory, and waiting for the store)
  // An endpoint silent this long (no heartbeat, no message) shows offline.
  Nanos offline_after = std::chrono::seconds(30);
  // An online endpoint whose last heartbeat (or hello) is this old shows
  // `heartbeat_late` (agents send one every 5 s): the dashboard is told when
  // that flips, not of every heartbeat.
  Nanos heartbeat_late_after = std::chrono::seconds(15);
  // Enrollment tokens: default lifetime when `create` names none.
  Nanos enrollment_ttl = std::chrono::hours(24);
  // The dashboard's live stream: endpoint views per takeLiveEvents() (one
  // `endpoints` event; at least one view). More wait for the next call, so
  // a fan-out to 10,000 agents reaches a page at a rate its stream can take.
  size_t live_endpoint_bytes = 64 * 1024;
  // The `rate` event (once a second): the endpoints whose rate changed since
  // it last named them, at most this many bytes of them (at least one); the
  // rest wait for the next one, in turn by name.
  size_t live_rate_bytes = 16 * 1024;
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
  uint32_t active_blocks = 0;     // from its last heartbeat
  int64_t last_heartbeat_ms = 0;  // 0: never
  // Online, and no heartbeat (nor hello) for heartbeat_late_after.
  bool heartbeat_late = false;
  std::vector<std::string> rejected;  // "op target: reason" it could not apply
  // For the dashboard: "offline", "isolated", "blocking", "detecting" or
  // "quiet" ("" from a service that does not tell: derived from the above);
  // its newest attempt rate from heartbeats (nullopt before two).
  std::string state;
  std::optional<double> attempts_per_s;
};

struct FloodView {
  Flood flood;                // console-monotonic times
  int64_t started_at_ms = 0;  // the same times on the wall clock
  int64_t last_seen_ms = 0;
  int64_t ended_at_ms = 0;      // 0 while active
  std::string acknowledged_by;  // "" when not acknowledged
  int64_t acknowledged_at_ms = 0;
  std::vector<uint64_t> incidents;  // ids of incidents opened for it
};

struct BlockView {
  GlobalBlock block;
  std::optional<int64_t> expires_at_ms;  // nullopt: permanent
  int64_t added_at_ms = 0;
  BlockStatus status;
};

// An API token's actor and the hash it is stored under (browser sessions are
// bound to the hash).
struct TokenIdentity {
  Actor actor;
  std::string token_hash;
};

// One change for the dashboard's live stream (docs/dashboard.md "Live
// events"): its event type ("flood", "endpoint_removed", "rate", ...) and
// data, the JSON text of the object as its list item in the API.
struct LiveEvent {
  std::string type;
  std::string data;
};

// GET /v1/blocks/{source}: the block and where it stands on each endpoint.
struct BlockDetail {
  BlockView view;
  std::vector<std::string> applied;                           // endpoint names, sorted
  std::vector<std::string> pending;                           // connected, not applied yet
  std::vector<std::pair<std::string, std::string>> rejected;  // endpoint, reason
};

// POST /v1/policy-preview: what saving (or deleting) a policy would change.
struct PolicyPreview {
  struct Change {
    std::string endpoint;
    std::string from;  // resolved policy name now
    std::string to;    // and after
  };
  std::string name;
  std::vector<Change> affected;  // resolved policy (name or values) would change; by name
  size_t unchanged = 0;
};

// GET /v1/timeline: the attempt rate over the last 30 minutes, with marks.
struct TimelineView {
  std::string endpoint;  // "" for the fleet
  std::vector<TimelinePoint> points;
  std::vector<TimelineMark> marks;
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
  // Runs a function later on the thread(s) that deliver the agents' messages
  // (the console posts it to its io_context): the ingest's group commit. A
  // report's floods are written, and its report_ack sent, by a write queued
  // this way, so every report that arrived before it runs shares it. Unset
  // (tests), each report is written at once. Set once, before serving.
  using Deferrer = std::function<void(std::function<void()>)>;
  virtual void setDeferrer(Deferrer defer) { (void)defer; }
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

  // ---- the dashboard (docs/dashboard.md; service_web*.cpp)
  // Login: a bare API token ("sgA_...") -> its actor and hash; the same
  // refusals as authenticate() (each counted as an auth failure).
  virtual Result<TokenIdentity> authenticateToken(const std::string& token) {
    (void)token;
    return makeError(Errc::kUnauthenticated, "sessions are not supported");
  }
  // The actor a stored token hash stands for now; kUnauthenticated once the
  // token is revoked or gone.
  virtual Result<Actor> actorOfTokenHash(const std::string& token_hash) {
    (void)token_hash;
    return makeError(Errc::kUnauthenticated, "sessions are not supported");
  }
  // Every object changed since the last call, rendered in its newest state
  // (one event per object, however often it changed; endpoints together in
  // one "endpoints" event of at most options.live_endpoint_bytes, the rest
  // in the next calls), and a "rate" event when heartbeats arrived and a
  // second has passed since the last one.
  // `watched` false (no stream open): the endpoints' views are not rendered
  // (a fan-out's acks change thousands); the next watched call sends every
  // endpoint that changed meanwhile.
  virtual std::vector<LiveEvent> takeLiveEvents(bool watched = true) {
    (void)watched;
    return {};
  }
  // Operator: marks the flood acknowledged (stored, audited "acknowledge");
  // again: changes nothing and returns the first acknowledgement.
  virtual Result<FloodAckRecord> acknowledge(const Actor& who, uint64_t flood_id,
                                             const std::string& note) {
    (void)who, (void)flood_id, (void)note;
    return makeError(Errc::kUnavailable, "acknowledge not implemented");
  }
  virtual Result<BlockDetail> blockDetail(const Prefix& source) {
    (void)source;
    return makeError(Errc::kUnavailable, "blockDetail not implemented");
  }
  // `policy` set: saving it; nullopt: deleting `name`. Changes nothing.
  virtual Result<PolicyPreview> previewPolicy(const std::string& name,
                                              const std::optional<Policy>& policy) {
    (void)name, (void)policy;
    return makeError(Errc::kUnavailable, "previewPolicy not implemented");
  }
  // The audit log searched and paged (docs/dashboard.md); by default only
  // what audit() can answer (no text, oldest first; `more` when the page is full).
  virtual Result<AuditPage> auditPage(const AuditQuery& query) {
    if (!query.text.empty() || query.before_id) {
      return makeError(Errc::kUnavailable, "audit search not implemented");
    }
    SG_READ(items, audit(query.after_id, query.limit));
    const bool full = items->size() >= query.limit;
    return AuditPage{std::move(*items), full};
  }
  // "" for the fleet; kNotFound for an unknown endpoint.
  virtual Result<TimelineView> timeline(const std::string& endpoint) {
    (void)endpoint;
    return makeError(Errc::kUnavailable, "timeline not implemented");
  }

  // ---- port floods: floods keyed by target (service_port_floods.cpp)
  // Active ones (include_ended: and the newest ended, from the store), by start.
  virtual Result<std::vector<PortFloodView>> portFloods(bool include_ended) {
    (void)include_ended;
    return makeError(Errc::kUnavailable, "port floods not implemented");
  }
  virtual Result<PortFleetView> portFleet() {
    return makeError(Errc::kUnavailable, "port floods not implemented");
  }

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
