// The Store on PostgreSQL, for several consoles serving one fleet from one
// database. Each write is one transaction that first bumps the one-row
// resource_version counter (its row lock orders the writes of every console,
// so versions, and the ids a write assigns, rise in commit order and never go
// back), then changes its records and NOTIFYs kPgChangeChannel
// (pg_feed_change.h) so the other consoles hear of it (PgChangeFeed); the
// statements after BEGIN travel in one pipeline, so the lock is held for the
// server's work, not for a round trip. One connection per store, serialised
// by a mutex; a lost connection is re-opened by the next call, and reads and
// BEGIN are sent again once on the new one; a connection lost during a
// write's pipeline fails that call (it may or may not have committed).
#pragma once

#include <functional>
#include <memory>
#include <mutex>

#include "console/pg_conn.h"
#include "console/store.h"

namespace sg::console {

class PgStore final : public Store {
 public:
  // Connects to `url` (postgres://user:password@host:port/dbname) and brings
  // the schema up to date.
  static Result<std::unique_ptr<PgStore>> open(const std::string& url);

  // This store's id in the change payloads it sends (random per open), so a
  // console can tell its own writes from the others'.
  const std::string& origin() const { return origin_; }

  Result<uint64_t> resourceVersion() override;
  Result<void> putEndpoint(const EndpointRecord& endpoint) override;
  Result<EndpointRecord> getEndpoint(const std::string& name) override;
  Result<std::vector<EndpointRecord>> listEndpoints() override;
  Result<void> putEnrollmentToken(const EnrollmentTokenRecord& token) override;
  Result<EnrollmentTokenRecord> consumeEnrollmentToken(const std::string& token_hash,
                                                       int64_t now_ms) override;
  Result<EndpointRecord> enrollEndpoint(const std::string& token_hash, int64_t now_ms,
                                        EndpointRecord endpoint) override;
  Result<bool> updateEndpointLink(const std::string& name, const std::string& credential_hash,
                                  const EndpointLinkState& state) override;
  // Pipelined transactions of up to 256 updates (each still announced).
  Result<std::vector<bool>> updateEndpointLinks(
      const std::vector<EndpointLinkUpdate>& updates) override;
  Result<bool> setEndpointIsolation(const std::string& name, bool isolated,
                                    const std::vector<std::string>& allowed_peers) override;
  Result<bool> revokeEndpoint(const std::string& name) override;
  Result<void> putApiToken(const ApiTokenRecord& token) override;
  Result<ApiTokenRecord> findApiToken(const std::string& token_hash) override;
  Result<void> putFlood(const FloodRecord& flood) override;
  Result<void> putFloods(const std::vector<FloodRecord>& floods) override;
  Result<FloodRecord> getFlood(uint64_t id) override;
  Result<std::vector<FloodRecord>> listFloods(bool include_ended) override;
  Result<void> putBlock(const GlobalBlockRecord& block) override;
  Result<bool> deleteBlock(const std::string& source) override;
  Result<std::vector<GlobalBlockRecord>> listBlocks() override;
  Result<void> putPolicy(const Policy& policy) override;
  Result<bool> deletePolicy(const std::string& name) override;
  Result<std::vector<Policy>> listPolicies() override;
  Result<uint64_t> putIncident(const IncidentRecord& incident) override;
  Result<std::vector<IncidentRecord>> listIncidents() override;
  Result<uint64_t> appendAudit(const AuditRecord& entry) override;
  Result<std::vector<AuditRecord>> listAudit(uint64_t after_id, size_t limit) override;
  Result<void> putMeta(const std::string& key, const std::string& value) override;
  Result<std::optional<std::string>> getMeta(const std::string& key) override;
  Result<uint64_t> nextCounter(const std::string& name) override;
  Result<std::string> claimMeta(const std::string& key, const std::string& value) override;
  // pg_store_web.cpp
  Result<FloodAckRecord> acknowledgeFlood(const FloodAckRecord& ack) override;
  Result<FloodAckRecord> getFloodAck(uint64_t flood_id) override;
  Result<std::vector<FloodAckRecord>> listFloodAcks(uint64_t min_flood_id) override;
  Result<void> putPortFlood(const PortFloodRecord& flood) override;
  Result<PortFloodRecord> getPortFlood(const std::string& id) override;
  Result<std::vector<PortFloodRecord>> listPortFloods(bool include_ended, size_t limit) override;
  Result<AuditPage> searchAudit(const AuditQuery& query) override;
  // The URL it was opened with (the change feed listens there).
  const std::string& url() const { return url_; }

 private:
  PgStore(std::unique_ptr<PgConn> conn, std::string origin, std::string url)
      : conn_(std::move(conn)), origin_(std::move(origin)), url_(std::move(url)) {}

  // What a write announces. A nullopt key is the id the write assigned.
  struct Announce {
    const char* kind;
    PgParam key;
    const char* op;
  };
  PgStatement notify(const Announce& what) const;
  // One transaction: BEGIN, then in one round trip the version bump, `body`,
  // the NOTIFY of `what` and COMMIT. Returns the body's results; rolls back
  // on error.
  Result<std::vector<PgResult>> write(const Announce& what, std::vector<PgStatement> body);
  // The same for a body that reads before it writes (round trip by round
  // trip, the version row locked throughout).
  Result<void> writeWith(const Announce& what, const std::function<Result<void>()>& body);
  // Why enrollment token `hash` was not consumed (pg_store_endpoints.cpp).
  Error tokenRefusal(const std::string& hash);
  // A read: `sql` with `params`, each row through `row`.
  template <typename T>
  Result<std::vector<T>> query(const std::string& sql, const std::vector<PgParam>& params,
                               T (*row)(const PgResult&, int));

  std::mutex mu_;
  std::unique_ptr<PgConn> conn_;
  std::string origin_;
  std::string url_;
};

template <typename T>
Result<std::vector<T>> PgStore::query(const std::string& sql, const std::vector<PgParam>& params,
                                      T (*row)(const PgResult&, int)) {
  SG_READ(result, conn_->exec(sql, params, Retry::kOnLostConnection));
  std::vector<T> out;
  out.reserve(static_cast<size_t>(result->rows()));
  for (int i = 0; i < result->rows(); ++i) out.push_back(row(*result, i));
  return out;
}

}  // namespace sg::console
