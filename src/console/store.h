// Store: everything the console keeps, behind one interface. SQLite
// (sqlite_store.h) is the embedded default; PostgreSQL (pg_store.h) serves
// several consoles at once; both pass one test suite (store_test.cpp).
//
// Each write is one transaction and bumps the store's resource version (as
// Kubernetes' resourceVersion: a list read at version N plus the changes
// after N is the current state). Times are wall-clock Unix milliseconds chosen
// by the caller; the store reads no clock of its own. Secrets are stored only
// as hashes the caller computed. Reads of a missing record are kNotFound.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "console/policy_resolver.h"
#include "core/result.h"

namespace sg::console {

enum class Role { kViewer, kOperator, kAdmin };
const char* roleName(Role role);  // "viewer" | "operator" | "admin"
Result<Role> parseRole(std::string_view text);

struct EndpointRecord {
  std::string name;
  Labels labels;
  std::string credential_hash;
  int64_t enrolled_at_ms = 0;
  bool revoked = false;
  bool isolated = false;
  std::vector<std::string> allowed_peers;  // while isolated
  uint64_t applied_version = 0;
  uint64_t last_report_seq = 0;  // contiguous report seq stored (resume)
  int64_t last_heartbeat_ms = 0;
  bool operator==(const EndpointRecord&) const = default;
};

// What an agent's link writes back about its endpoint: never the operator's
// fields (revoked, isolation, labels, credential), so a console with a stale
// record cannot undo a revoke or an isolation made on another one.
// None of its fields goes back: a write with a lower value keeps the stored
// one (so link writes may land in any order).
struct EndpointLinkState {
  uint64_t applied_version = 0;   // kept if the stored one is higher
  uint64_t last_report_seq = 0;   // kept if the stored one is higher
  int64_t last_heartbeat_ms = 0;  // kept if the stored one is later
  bool operator==(const EndpointLinkState&) const = default;
};

// One endpoint's link state to write back, for the link holding `credential_hash`.
struct EndpointLinkUpdate {
  std::string name;
  std::string credential_hash;
  EndpointLinkState state;
};

struct EnrollmentTokenRecord {
  std::string token_hash;
  Labels labels;  // given to the endpoint that enrolls with it
  int64_t expires_at_ms = 0;
  bool used = false;
  bool operator==(const EnrollmentTokenRecord&) const = default;
};

struct ApiTokenRecord {
  std::string token_hash;
  std::string name;  // who: shown in the audit log
  Role role = Role::kViewer;
  int64_t created_at_ms = 0;
  bool revoked = false;
  bool operator==(const ApiTokenRecord&) const = default;
};

// A flood as stored: the columns lists filter on, and the whole flood as the
// caller's JSON (the API's shape), opaque to the store.
struct FloodRecord {
  uint64_t id = 0;
  std::string source;
  bool active = true;
  int64_t started_at_ms = 0;
  int64_t last_seen_ms = 0;
  std::string body;
  bool operator==(const FloodRecord&) const = default;
};

// A port flood on one endpoint's target (schema migration 3), as stored: the
// columns lists filter on, and the whole flood as the caller's JSON (the
// API's shape), opaque to the store.
struct PortFloodRecord {
  std::string id;  // "<endpoint>/<dst>:<port>/<agent's first_ns>" (console/port_flood_book.h)
  std::string endpoint;
  bool active = true;
  int64_t started_at_ms = 0;
  int64_t last_seen_ms = 0;
  std::string body;
  bool operator==(const PortFloodRecord&) const = default;
};

struct GlobalBlockRecord {
  std::string source;                    // address or prefix text
  std::optional<int64_t> expires_at_ms;  // nullopt = permanent
  std::string added_by;
  std::string reason;
  uint64_t version = 0;  // desired-state version that added it
  int64_t added_at_ms = 0;
  bool operator==(const GlobalBlockRecord&) const = default;
};

struct IncidentRecord {
  uint64_t id = 0;  // 0 on insert: the store assigns one
  uint64_t flood_id = 0;
  std::string note;
  std::string created_by;
  int64_t created_at_ms = 0;
  std::string webhook_status;  // outcome of the webhook posts, as the caller words it
  bool operator==(const IncidentRecord&) const = default;
};

struct AuditRecord {
  uint64_t id = 0;  // assigned by the store, increasing
  int64_t at_ms = 0;
  std::string actor;   // token name, or "agent:<endpoint>", or "console"
  std::string action;  // "block", "unblock", "isolate", "policy_set", ...
  std::string target;
  std::string details;  // reason, note, parameters
  bool operator==(const AuditRecord&) const = default;
};

// An operator's acknowledgement of a flood (the dashboard's [Acknowledge]):
// the first one is kept.
struct FloodAckRecord {
  uint64_t flood_id = 0;
  std::string by;  // token name
  int64_t at_ms = 0;
  std::string note;
  bool operator==(const FloodAckRecord&) const = default;
};

// A page of the audit log (the dashboard's search).
struct AuditQuery {
  std::string text;       // case-insensitive substring of actor, action, target or details
  uint64_t after_id = 0;  // id > after_id, oldest first ...
  std::optional<uint64_t> before_id;  // ... or, when set, id < before_id (0: any), newest first
  size_t limit = 100;
};
struct AuditPage {
  std::vector<AuditRecord> items;
  bool more = false;  // another page exists in the query's direction
};

class Store {
 public:
  virtual ~Store() = default;

  // Bumped by every write; never goes back, across reopen.
  virtual Result<uint64_t> resourceVersion() = 0;

  virtual Result<void> putEndpoint(const EndpointRecord& endpoint) = 0;  // insert or replace
  virtual Result<EndpointRecord> getEndpoint(const std::string& name) = 0;
  virtual Result<std::vector<EndpointRecord>> listEndpoints() = 0;  // by name

  virtual Result<void> putEnrollmentToken(const EnrollmentTokenRecord& token) = 0;
  // Marks the token used and returns it, in one transaction: kNotFound for an
  // unknown token, kPermissionDenied for a used or expired one.
  virtual Result<EnrollmentTokenRecord> consumeEnrollmentToken(const std::string& token_hash,
                                                               int64_t now_ms) = 0;

  // Enrollment as one transaction: consumes the token (as above) and writes
  // `endpoint` with the token's labels, only when no endpoint of that name
  // exists or the one there is revoked; else kAlreadyExists and the token
  // stays unused. Several consoles enrolling one name at once: one wins.
  virtual Result<EndpointRecord> enrollEndpoint(const std::string& token_hash, int64_t now_ms,
                                                EndpointRecord endpoint) = 0;
  // The link columns of `name`, only while it is not revoked and
  // `credential_hash` is still its credential; false when nothing matched
  // (revoked, enrolled again with another key, or gone).
  virtual Result<bool> updateEndpointLink(const std::string& name,
                                          const std::string& credential_hash,
                                          const EndpointLinkState& state) = 0;
  // Isolates or releases a non-revoked endpoint (peers: while isolated);
  // false when there is none.
  virtual Result<bool> setEndpointIsolation(const std::string& name, bool isolated,
                                            const std::vector<std::string>& allowed_peers) = 0;
  // Marks the endpoint revoked; false when there is none.
  virtual Result<bool> revokeEndpoint(const std::string& name) = 0;

  virtual Result<void> putApiToken(const ApiTokenRecord& token) = 0;
  virtual Result<ApiTokenRecord> findApiToken(const std::string& token_hash) = 0;

  virtual Result<void> putFlood(const FloodRecord& flood) = 0;  // insert or replace by id
  virtual Result<FloodRecord> getFlood(uint64_t id) = 0;
  virtual Result<std::vector<FloodRecord>> listFloods(bool include_ended) = 0;  // by id

  virtual Result<void> putBlock(const GlobalBlockRecord& block) = 0;  // by source
  virtual Result<bool> deleteBlock(const std::string& source) = 0;    // false: was not there
  virtual Result<std::vector<GlobalBlockRecord>> listBlocks() = 0;    // by source

  virtual Result<void> putPolicy(const Policy& policy) = 0;  // by name
  virtual Result<bool> deletePolicy(const std::string& name) = 0;
  virtual Result<std::vector<Policy>> listPolicies() = 0;  // by name

  // Inserts (id 0: returns the new id) or replaces an incident.
  virtual Result<uint64_t> putIncident(const IncidentRecord& incident) = 0;
  virtual Result<std::vector<IncidentRecord>> listIncidents() = 0;  // by id

  virtual Result<uint64_t> appendAudit(const AuditRecord& entry) = 0;  // returns its id
  // Entries with id > after_id, oldest first, at most `limit`.
  virtual Result<std::vector<AuditRecord>> listAudit(uint64_t after_id, size_t limit) = 0;

  // Small named values (the desired-state version, the next flood id).
  virtual Result<void> putMeta(const std::string& key, const std::string& value) = 0;
  virtual Result<std::optional<std::string>> getMeta(const std::string& key) = 0;

  // ---- shared by several consoles on one database (docs/architecture.md,
  // "Scale-out"). The defaults read then write: right for a store with one
  // writer (SQLite); PgStore overrides them with one atomic statement each.
  // Adds one to the meta counter `name` (absent: 0) and returns the new value.
  virtual Result<uint64_t> nextCounter(const std::string& name);
  // Sets meta `key` to `value` when it is absent or "", and returns what it
  // holds afterwards (`value`, or the value another writer claimed first).
  virtual Result<std::string> claimMeta(const std::string& key, const std::string& value);

  // ---- flood acknowledgements (schema migration 2)
  // Stores `ack` unless the flood has one, in one statement; returns the one
  // that holds (the first: a second acknowledgement changes nothing).
  virtual Result<FloodAckRecord> acknowledgeFlood(const FloodAckRecord& ack) = 0;
  virtual Result<FloodAckRecord> getFloodAck(uint64_t flood_id) = 0;  // kNotFound: none
  // Acknowledgements of floods with id >= min_flood_id, by flood id.
  virtual Result<std::vector<FloodAckRecord>> listFloodAcks(uint64_t min_flood_id) = 0;
  virtual Result<AuditPage> searchAudit(const AuditQuery& query) = 0;

  // ---- port floods (schema migration 3)
  virtual Result<void> putPortFlood(const PortFloodRecord& flood) = 0;  // insert or replace by id
  virtual Result<PortFloodRecord> getPortFlood(const std::string& id) = 0;
  // Active ones, or (include_ended) the newest `limit` of all; by started_at_ms, then id.
  virtual Result<std::vector<PortFloodRecord>> listPortFloods(bool include_ended, size_t limit) = 0;
  // ---- batched link write-back: after a fan-out every link acknowledges at
  // once, and the tick writes them back together. updateEndpointLink for
  // each, in one transaction where the store can; one result each, in
  // order. The default calls updateEndpointLink for each (an error may then
  // leave the first ones written: each is idempotent, the caller retries).
  virtual Result<std::vector<bool>> updateEndpointLinks(
      const std::vector<EndpointLinkUpdate>& updates);
  // ---- batched flood writes: the reports that arrived together, from many
  // agents, written at once (each flood once however many reports changed
  // it). putFlood for each, in one transaction where the store can; the
  // default calls putFlood for each (an error may leave the first ones
  // written: each is a replace, the caller writes them again).
  virtual Result<void> putFloods(const std::vector<FloodRecord>& floods);
};

}  // namespace sg::console
