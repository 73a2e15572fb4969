// The ConsoleService implementation (private to src/console): the logic
// objects, the store, the live agent links, all under one mutex. Split by
// concern: service.cpp (open, restore, reads), service_actions.cpp (operator
// actions), service_enroll.cpp (enrollment, tokens, authentication),
// agent_link.cpp (the WebSocket handler and its sessions), service_tick.cpp,
// service_feed.cpp (several consoles on one PostgreSQL).
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>

#include "console/flood_json.h"
#include "console/service.h"
#include "console/service_feed.h"
#include "console/session.h"
#include "console/web_timeline.h"
#include "pki/ossl_handle.h"

namespace sg::console {

// Counted by the service (the transport counts its own: net::NetCounters).
struct ServiceCounters {
  std::atomic<uint64_t> agents_refused{0};   // unknown, revoked or stale certificate: 403/closed
  std::atomic<uint64_t> links_replaced{0};   // a second link for one endpoint closed the first
  std::atomic<uint64_t> messages_in{0};      // agent messages parsed
  std::atomic<uint64_t> messages_out{0};     // console messages queued
  std::atomic<uint64_t> bad_messages{0};     // unparsable: link closed
  std::atomic<uint64_t> protocol_errors{0};  // refused by the session: link closed
  std::atomic<uint64_t> store_errors{0};     // a write failed (reports are then not acked)
  std::atomic<uint64_t> reports{0};          // reports stored and acked
  std::atomic<uint64_t> fanouts{0};          // changes pushed to the links
  std::atomic<uint64_t> fanout_sends{0};     // deltas/snapshots sent by them
  std::atomic<uint64_t> auth_failures{0};    // API tokens refused
  std::atomic<uint64_t> enroll_failures{0};  // enrollments refused
  // Reports numbered at or below their link's welcome.last_report_seq: the
  // agent went back (lost its state, or ignores the welcome); acked, dropped.
  std::atomic<uint64_t> report_seq_regressions{0};
  std::atomic<uint64_t> live_block_views{0};     // block views rendered for the live stream
  std::atomic<uint64_t> live_endpoint_views{0};  // endpoint views rendered for the live stream
};

// A Prometheus histogram of durations in milliseconds (guarded by the
// service's mutex).
class MsHistogram {
 public:
  static constexpr std::array<double, 12> kBoundsMs = {1,   2,   5,   10,   25,   50,
                                                       100, 250, 500, 1000, 2500, 5000};
  void add(double ms);
  void render(std::string& out, const char* name, const char* help) const;

 private:
  std::array<uint64_t, kBoundsMs.size()> buckets_{};  // cumulative at render time
  uint64_t count_ = 0;
  double sum_ms_ = 0;
};

class ConsoleServiceImpl final : public ConsoleService {
 public:
  ConsoleServiceImpl(std::unique_ptr<Store> store, ConsoleOptions options, Clock& clock,
                     WallClock wall);
  ~ConsoleServiceImpl() override;
  // Reads everything back from the store (open() calls it once).
  Result<void> restore(const std::string& ca_cert_pem, const std::string& ca_key_pem);

  Result<Actor> authenticate(const std::string& authorization) override;
  Result<std::vector<EndpointView>> endpoints() override;
  Result<std::vector<FloodView>> floods(bool include_ended) override;
  Result<FloodView> flood(uint64_t id) override;
  Result<std::vector<BlockView>> blocks() override;
  Result<std::vector<IncidentRecord>> incidents() override;
  Result<std::vector<Policy>> policies() override;
  Result<std::vector<AuditRecord>> audit(uint64_t after_id, size_t limit) override;
  uint64_t resourceVersion() override;
  Result<uint64_t> block(const Actor& who, const Prefix& source, std::optional<Nanos> ttl,
                         const std::string& reason) override;
  Result<uint64_t> unblock(const Actor& who, const Prefix& source) override;
  Result<uint64_t> isolate(const Actor& who, const std::string& endpoint,
                           const std::string& reason) override;
  Result<uint64_t> release(const Actor& who, const std::string& endpoint) override;
  Result<uint64_t> setPolicy(const Actor& who, Policy policy) override;
  Result<uint64_t> deletePolicy(const Actor& who, const std::string& name) override;
  Result<uint64_t> escalate(const Actor& who, uint64_t flood_id, const std::string& note) override;
  void setIncidentHook(IncidentHook hook) override { incident_hook_ = std::move(hook); }
  void setDeferrer(Deferrer defer) override { defer_ = std::move(defer); }
  Result<void> recordWebhook(uint64_t incident_id, const std::string& status) override;
  Result<std::string> createApiToken(const Actor& who, const std::string& name, Role role) override;
  Result<std::string> createEnrollmentToken(const Actor& who, const Labels& labels,
                                            std::optional<Nanos> ttl) override;
  Result<void> revokeEndpoint(const Actor& who, const std::string& endpoint) override;
  Result<EnrollResult> enroll(const std::string& token, const std::string& csr_pem,
                              const std::string& name) override;
  std::shared_ptr<net::WsHandler> agentLink() override;
  std::optional<net::HttpResponse> authorizeAgent(const net::HttpRequest& request) override;
  bool agentCertCurrent(const net::PeerInfo& peer) override;
  void tick() override;
  std::string metricsText() override;
  void setMoreMetrics(MetricsRender render) override;
  // the dashboard (service_web*.cpp)
  Result<TokenIdentity> authenticateToken(const std::string& token) override;
  Result<Actor> actorOfTokenHash(const std::string& token_hash) override;
  std::vector<LiveEvent> takeLiveEvents(bool watched) override;
  Result<FloodAckRecord> acknowledge(const Actor& who, uint64_t flood_id,
                                     const std::string& note) override;
  Result<BlockDetail> blockDetail(const Prefix& source) override;
  Result<PolicyPreview> previewPolicy(const std::string& name,
                                      const std::optional<Policy>& policy) override;
  Result<AuditPage> auditPage(const AuditQuery& query) override;
  Result<TimelineView> timeline(const std::string& endpoint) override;
  // port floods (service_port_floods.cpp)
  Result<std::vector<PortFloodView>> portFloods(bool include_ended) override;
  Result<PortFleetView> portFleet() override;

  // ---- the agent link's handler calls these (agent_link.cpp)
  void linkOpened(const std::shared_ptr<net::WsConnection>& conn);
  void linkText(const std::shared_ptr<net::WsConnection>& conn, const std::string& text);
  void linkClosed(const std::shared_ptr<net::WsConnection>& conn);

  const ServiceCounters& counters() const { return counters_; }

  // ---- several consoles on one database (service_feed.cpp); open() calls
  // startFeed() before restore()
  Result<void> startFeed();
  // Before the session correlates a report: its new sources join the flood
  // another console claimed, or claim one (mu_ held).
  void prepareFloods(const proto::Report& report);

 private:
  struct Link {
    std::shared_ptr<net::WsConnection> conn;
    std::unique_ptr<Session> session;
    uint64_t last_in_ns = 0;    // console clock: last message from the agent
    uint64_t last_ping_ns = 0;  // console clock: last ping sent
    uint64_t welcomed_seq = 0;  // last_report_seq of its welcome
    bool seq_regression_audited = false;
    bool port_floods_refused_audited = false;
    // Console clock: its last heartbeat, else its hello (0: neither yet);
    // and whether the endpoint's view last showed it late (the tick flips it).
    uint64_t heartbeat_ns = 0;
    bool heartbeat_late = false;
  };
  // What an endpoint reported in its last heartbeat (kept while offline too).
  struct Liveness {
    uint32_t active_blocks = 0;
  };

  TimeBase timeBase() const { return TimeBase{clock_.nowNs(), wall_()}; }
  FloodView viewOf(const Flood& f, const TimeBase& base) const;
  // The views of every endpoint, or of those `only` names, by name (mu_ held).
  std::vector<EndpointView> endpointViews(const std::set<std::string>* only);
  Result<void> requireRole(const Actor& who, Role needed, const char* action) const;
  // Appends to the audit log; a failure fails the action.
  Result<void> auditLocked(const std::string& actor, const std::string& action,
                           const std::string& target, const std::string& details);
  Result<void> saveVersion();
  // escalate() under the lock; `opened` is set when it opened a new incident.
  Result<uint64_t> escalateLocked(const Actor& who, uint64_t flood_id, const std::string& note,
                                  std::optional<IncidentRecord>& opened);
  Result<void> saveFlood(uint64_t id, const TimeBase& base);
  // The flood as stored (nullopt: no longer in memory); marks it for the live stream.
  std::optional<FloodRecord> floodRecord(uint64_t id, const TimeBase& base);
  Result<void> saveBlock(const GlobalBlock& block, const TimeBase& base);
  // Every active session's pushIfBehind(), sent on its link.
  void fanOut();
  // An ack or nack of `version` from link `link_id` (or its link gone:
  // nullopt): a fan-out every link of which applied is timed.
  void noteFanoutAck(uint64_t link_id, std::optional<uint64_t> version);
  void send(Link& link, const proto::ConsoleMessage& message);
  // Closes the link with `close_code` and `close_reason` and forgets it.
  // Every close the console starts says why: an agent reads 1000 with no
  // reason before its welcome as a refusal of its protocol version, and
  // offers one version less at its next link.
  void dropLink(std::map<uint64_t, Link>::iterator it, uint16_t close_code,
                const std::string& close_reason);
  // WebSocket close codes (RFC 6455 7.4.1) the console's closes use.
  static constexpr uint16_t kCloseNormal = 1000;         // replaced, silent, gone
  static constexpr uint16_t kCloseProtocolError = 1002;  // a message refused
  static constexpr uint16_t kClosePolicy = 1008;         // revoked, credential stale
  static constexpr uint16_t kCloseInternal = 1011;       // the console failed
  // Why an agent's certificate may not open a link ("" when it may).
  std::string agentRefusal(const net::PeerInfo& peer) const;
  // After the records change: the fleet the CRITICAL fraction is taken of.
  void updateFleetSize();
  // A report at or below its link's welcome seq: counted, audited once per link.
  void noteSeqRegression(Link& link, uint64_t seq);
  // False when it closed the link (its credential went stale in the store).
  // `acked_before`: what the endpoint had acked before the message.
  bool onAgentMessage(Link& link, const proto::AgentMessage& message, uint64_t acked_before,
                      std::vector<proto::ConsoleMessage>& out);
  // After a link write matched nothing (revoked, or enrolled again): the
  // record is read back and the link of `name` holding `credential` closed
  // (counted as refused).
  void refuseStaleLink(const std::string& name, const std::string& credential);
  // An operator action found `endpoint` revoked in the store (by another
  // console): its record is read back; the error to return.
  Error goneElsewhere(const std::string& endpoint);
  // The report's events' detection times on the console's clock (by the
  // link's measured offset; none before its first pong).
  std::vector<int64_t> detectedTimes(const Link& link, const proto::Report& report) const;
  // ---- ingest (agent_link.cpp; mu_ held): a report's changed floods wait in
  // unsaved_floods_ and its report_ack in pending_acks_ until flushReports()
  // writes every waiting flood in one store call, then the link state of the
  // endpoints, and only then sends the acks (what an agent saw acked is
  // stored). With a deferrer the flush runs once per batch of reports.
  struct PendingAck {
    uint64_t link_id = 0;
    std::string endpoint;
    std::string credential;
    uint64_t seq = 0;
    bool duplicate = false;            // stored before (maybe still waiting): acked again
    uint64_t stored_seq = 0;           // the endpoint's contiguous seq once this write lands
    std::vector<int64_t> detected_ns;  // console clock: the report latency at the ack
  };
  void queueReportAck(const Link& link, const proto::Report& report, bool duplicate,
                      uint64_t stored_seq);
  void flushReports();

  // ---- port floods (service_port_floods.cpp; mu_ held)
  // Applies a report's port floods; the changed ones wait in
  // unsaved_port_floods_ for flushReports() (before the report_ack). New
  // floods past the endpoint's budget: counted, audited once per link.
  void notePortFloods(Link& link, const proto::Report& report);
  Result<void> savePortFlood(const std::string& id);
  void endQuietPortFloods();                    // tick()
  Result<void> restorePortFloods();             // restore()
  void reloadPortFlood(const std::string& id);  // another console wrote it
  // The book dropped ended floods unstored (the store failing) since its
  // counter read `before`: out of unsaved_port_floods_, to be audited.
  void notePortFloodDrops(uint64_t before);
  // The drops not yet in the audit log (written once the store takes it).
  void auditPortFloodDrops();
  size_t fleetSize() const;
  void renderPortFloods(const std::set<std::string>& ids, std::vector<LiveEvent>& out);
  void portFloodMetrics(std::string& out) const;
  // Writes back the link state of the endpoints in dirty_ (takeDirty: the
  // batch, dirty_ emptied; afterDirtyWrite: the outcome, under mu_ again).
  void flushDirty();
  std::vector<EndpointLinkUpdate> takeDirty();
  void afterDirtyWrite(const std::vector<EndpointLinkUpdate>& batch,
                       const Result<std::vector<bool>>& stored);
  void pingAndReap();
  // service_feed.cpp (mu_ held but by the feed's hooks)
  uint64_t takeVersion();
  void onFeedChange(const FeedChange& change);
  void onFeedResync();
  void reloadBlock(const std::string& key, const std::vector<GlobalBlockRecord>& all);
  void reloadPolicy(const std::string& name, const std::vector<Policy>& all);
  void reloadEndpoint(const EndpointRecord& record);
  void reloadFlood(uint64_t id);
  // ---- the dashboard's live stream and timeline (service_web*.cpp; mu_ held)
  void liveFlood(uint64_t id);                      // a flood changed (stored or merged)
  void liveEndpoints() { live_.endpoints = true; }  // any endpoint's view may have changed
  void liveEndpoint(const std::string& name) { live_.endpoint_names.insert(name); }
  void liveDesired();  // blocks, policies, endpoints may have changed
  // A heartbeat on `link`: its rate for the `rate` event; the endpoint's view
  // marked changed only when the operator sees a change (its active blocks,
  // or it was late), never for its last-heartbeat time alone.
  void liveHeartbeat(Link& link, const proto::Heartbeat& hb);
  // tick(): the online endpoints whose heartbeat became late are marked.
  void liveLateHeartbeats();
  bool heartbeatLate(const Link& link, uint64_t now_ns) const;
  // The `rate` event due now (mu_ held), or null.
  nlohmann::json takeRateEvent();
  void liveAudit(const AuditRecord& entry);
  void liveIncidents() { live_.incidents = true; }
  // takeLiveEvents()'s endpoint part (live_sent_mu_ held, mu_ not).
  struct LiveDirty;
  void liveEndpointEvents(LiveDirty& dirty, bool prime, std::vector<LiveEvent>& out);
  void liveBlocks() { live_.blocks = true; }
  // Only the blocks of versions in (after, upto]: their status moved (an
  // endpoint acked them).
  void liveBlockVersions(uint64_t after, uint64_t upto);
  // What the endpoint has acked (0: not in the desired state).
  uint64_t ackedVersion(const std::string& endpoint) const;
  // The block views (statuses included); `versions`: only the blocks added
  // in (first, second].
  std::vector<BlockView> blockViews(std::optional<std::pair<uint64_t, uint64_t>> versions);
  // Each endpoint's part in the active floods: "blocking" or "detecting".
  std::map<std::string, std::string> floodRoles() const;
  void fillWebFields(EndpointView& v, const std::map<std::string, std::string>& roles) const;
  void fillWebFields(FloodView& v) const;
  // open(): acknowledgements and incidents of the floods in memory.
  Result<void> restoreWeb();
  void reloadAck(uint64_t flood_id);  // another console acknowledged it
  // Another console wrote them: to this console's live stream.
  void reloadIncident(uint64_t id);
  void reloadAudit(uint64_t id);

  // What changed for the dashboard since takeLiveEvents() (mu_), and what it
  // last sent (live_sent_mu_: only takeLiveEvents uses it).
  struct LiveDirty {
    std::set<uint64_t> floods;
    bool endpoints = false;                // all of them: diffed
    std::set<std::string> endpoint_names;  // only these (cheaper: an agent's own messages)
    bool blocks = false;                   // all of them: diffed
    uint64_t blocks_after = ~uint64_t{0};  // else only the versions in (after, upto]
    uint64_t blocks_upto = 0;
    bool policies = false;
    bool incidents = false;
    std::vector<AuditRecord> audit;
    std::set<std::string> port_floods;  // ids of port floods that changed
  };
  struct LiveSent {
    bool primed = false;
    bool endpoints_stale = false;  // changed while unwatched: all diffed at the next watched call
    bool blocks_stale = false;     // likewise
    std::set<std::string> endpoint_backlog;  // changed, not sent: no room in the last pump
    std::string endpoint_cursor;             // the last endpoint sent (round robin by name)
    // What was sent, as compared (endpoints: without rate and, on time,
    // heartbeat time; blocks: without expiry's wobble).
    std::map<std::string, std::string> endpoints, blocks, policies;
    std::map<uint64_t, std::string> incidents;
  };
  // Which endpoints blocked each active flood (for the timeline's marks).
  struct FloodMarks {
    std::set<std::string> blocked;
  };

  mutable std::mutex mu_;
  std::unique_ptr<Store> store_;
  ConsoleOptions options_;
  Clock& clock_;
  WallClock wall_;
  std::string ca_pem_;
  std::string ca_pin_;
  pki::X509Cert ca_cert_;
  pki::EvpPkey ca_key_;
  std::unique_ptr<Correlator> correlator_;
  std::unique_ptr<DesiredState> desired_;
  PortFloodBook port_floods_;
  std::map<std::string, EndpointRecord> records_;  // every endpoint ever enrolled
  std::map<std::string, int64_t> block_added_ms_;  // by prefix text
  std::map<std::string, Liveness> liveness_;       // by endpoint
  // Link state not yet written back: endpoint -> the credential of the link
  // that changed it (written only while that is still the current one).
  std::map<std::string, std::string> dirty_;
  std::map<uint64_t, Link> links_;           // by connection id
  std::map<std::string, uint64_t> link_of_;  // endpoint -> connection id
  std::shared_ptr<net::WsHandler> handler_;
  IncidentHook incident_hook_;  // set before serving, then only read
  Deferrer defer_;              // likewise
  std::set<uint64_t> unsaved_floods_;
  std::set<std::string> unsaved_port_floods_;
  uint64_t port_flood_drops_unaudited_ = 0;
  std::vector<PendingAck> pending_acks_;
  bool flush_queued_ = false;  // a flushReports() is deferred
  ServiceCounters counters_;
  // Agent event (detected_ns, by the link's measured clock offset) to stored.
  MsHistogram report_latency_;
  // One fan-out: every link's delta or snapshot queued.
  MsHistogram fanout_time_;
  // One fan-out: from its start to the last of its links acknowledging it
  // (links that close meanwhile no longer count). The newest few are timed.
  struct FanoutWait {
    std::chrono::steady_clock::time_point started;
    uint64_t version = 0;                            // the desired version it made
    std::unordered_map<uint64_t, uint64_t> waiting;  // link id -> version it was sent
  };
  static constexpr size_t kFanoutWaits = 16;
  std::deque<FanoutWait> fanout_waits_;
  MsHistogram fanout_acked_;
  uint64_t last_fanout_acked_version_ = 0;
  double last_fanout_acked_ms_ = 0;
  MetricsRender more_metrics_;
  LiveDirty live_;
  uint64_t live_last_rate_ns_ = 0;
  // The `rate` event's endpoints (mu_): the newest rate of each endpoint not
  // yet named since it changed, what each was last named with, and the last
  // name sent (round robin).
  std::map<std::string, RatePoint> rate_pending_;
  std::map<std::string, RatePoint> rate_sent_;
  std::string rate_cursor_;
  std::mutex live_sent_mu_;
  LiveSent live_sent_;
  RateTimeline timeline_;
  std::map<uint64_t, FloodMarks> flood_marks_;                 // active floods seen
  std::map<uint64_t, FloodAckRecord> acks_;                    // of the floods kept in memory
  std::map<uint64_t, std::vector<uint64_t>> flood_incidents_;  // flood id -> incident ids
  bool shared_ = false;  // a feed runs: other consoles share the store
  bool flood_counter_seeded_ = false;
  std::unique_ptr<StoreFeed> feed_;  // last member: its thread stops first
};

// [A-Za-z0-9._-]{1,64}
bool validEndpointName(const std::string& name);

}  // namespace sg::console
