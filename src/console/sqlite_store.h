// The Store on an embedded SQLite database: one file, WAL journal (readers
// never wait for the writer), one connection whose writes are serialised by a
// mutex (one writer), BEGIN IMMEDIATE transactions, and a busy timeout so a
// second process on the same file (e.g. `console token create` while the
// console runs) waits its turn instead of failing. synchronous=NORMAL: a
// committed write survives the process being killed; a power cut may lose
// the last transactions (WAL keeps the file consistent either way).
#pragma once

#include <functional>
#include <memory>
#include <mutex>

#include "console/sqlite_db.h"
#include "console/store.h"

namespace sg::console {

class SqliteStore final : public Store {
 public:
  // Opens or creates the database at `path` and brings its schema up to date.
  static Result<std::unique_ptr<SqliteStore>> open(const std::string& path);

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
  // One transaction, one statement.
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
  // sqlite_store_web.cpp
  Result<FloodAckRecord> acknowledgeFlood(const FloodAckRecord& ack) override;
  Result<FloodAckRecord> getFloodAck(uint64_t flood_id) override;
  Result<std::vector<FloodAckRecord>> listFloodAcks(uint64_t min_flood_id) override;
  Result<void> putPortFlood(const PortFloodRecord& flood) override;
  Result<PortFloodRecord> getPortFlood(const std::string& id) override;
  Result<std::vector<PortFloodRecord>> listPortFloods(bool include_ended, size_t limit) override;
  Result<AuditPage> searchAudit(const AuditQuery& query) override;

 private:
  explicit SqliteStore(std::unique_ptr<SqliteDb> db) : db_(std::move(db)) {}
  // Runs `body` in one write transaction that also bumps the resource
  // version; rolls back on error.
  Result<void> write(const std::function<Result<void>()>& body);
  // Runs the one statement `sql` (its parameters bound by `bind`) in a
  // write(); whether it changed a row (an UPDATE or DELETE that matched).
  Result<bool> changesRow(const char* sql, const std::function<void(Statement&)>& bind);
  // Runs `sql` with `bind` applied and collects rows with `row`.
  template <typename T>
  Result<std::vector<T>> query(const std::string& sql, const std::function<void(Statement&)>& bind,
                               T (*row)(const Statement&));

  std::mutex mu_;
  std::unique_ptr<SqliteDb> db_;
};

}  // namespace sg::console
