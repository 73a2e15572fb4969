// Test-only: a Store that forwards to another and fails the writes a test
// names (kIo), as a console killed between two writes would leave them.
#pragma once

#include <memory>
#include <set>
#include <string>

#include "console/store.h"

namespace sg::console::test {

class FailingStore final : public Store {
 public:
  explicit FailingStore(std::unique_ptr<Store> inner) : inner_(std::move(inner)) {}
  std::set<std::string> failing;     // method names: "putMeta", "putBlock", ...
  size_t flood_writes = 0;           // putFlood and putFloods calls (transactions)
  size_t flood_records_written = 0;  // floods in the putFloods calls

  Result<uint64_t> resourceVersion() override { return inner_->resourceVersion(); }
  Result<void> putEndpoint(const EndpointRecord& e) override {
    if (fails("putEndpoint")) return injected();
    return inner_->putEndpoint(e);
  }
  Result<EndpointRecord> getEndpoint(const std::string& n) override {
    return inner_->getEndpoint(n);
  }
  Result<std::vector<EndpointRecord>> listEndpoints() override { return inner_->listEndpoints(); }
  Result<void> putEnrollmentToken(const EnrollmentTokenRecord& t) override {
    return inner_->putEnrollmentToken(t);
  }
  Result<EnrollmentTokenRecord> consumeEnrollmentToken(const std::string& h, int64_t now) override {
    return inner_->consumeEnrollmentToken(h, now);
  }
  Result<EndpointRecord> enrollEndpoint(const std::string& h, int64_t now,
                                        EndpointRecord e) override {
    if (fails("enrollEndpoint")) return injected();
    return inner_->enrollEndpoint(h, now, std::move(e));
  }
  Result<bool> updateEndpointLink(const std::string& n, const std::string& c,
                                  const EndpointLinkState& l) override {
    if (fails("updateEndpointLink")) return injected();
    return inner_->updateEndpointLink(n, c, l);
  }
  Result<bool> setEndpointIsolation(const std::string& n, bool isolated,
                                    const std::vector<std::string>& peers) override {
    if (fails("setEndpointIsolation")) return injected();
    return inner_->setEndpointIsolation(n, isolated, peers);
  }
  Result<bool> revokeEndpoint(const std::string& n) override {
    if (fails("revokeEndpoint")) return injected();
    return inner_->revokeEndpoint(n);
  }
  Result<void> putApiToken(const ApiTokenRecord& t) override { return inner_->putApiToken(t); }
  Result<ApiTokenRecord> findApiToken(const std::string& h) override {
    return inner_->findApiToken(h);
  }
  Result<void> putFlood(const FloodRecord& f) override {
    ++flood_writes;
    if (fails("putFlood")) return injected();
    return inner_->putFlood(f);
  }
  Result<void> putFloods(const std::vector<FloodRecord>& f) override {  // "putFlood" fails it too
    ++flood_writes;
    flood_records_written += f.size();
    if (fails("putFlood")) return injected();
    return inner_->putFloods(f);
  }
  Result<FloodRecord> getFlood(uint64_t id) override { return inner_->getFlood(id); }
  Result<std::vector<FloodRecord>> listFloods(bool all) override { return inner_->listFloods(all); }
  Result<void> putPortFlood(const PortFloodRecord& f) override {
    if (fails("putPortFlood")) return injected();
    return inner_->putPortFlood(f);
  }
  Result<PortFloodRecord> getPortFlood(const std::string& id) override {
    return inner_->getPortFlood(id);
  }
  Result<std::vector<PortFloodRecord>> listPortFloods(bool all, size_t limit) override {
    return inner_->listPortFloods(all, limit);
  }
  Result<void> putBlock(const GlobalBlockRecord& b) override {
    if (fails("putBlock")) return injected();
    return inner_->putBlock(b);
  }
  Result<bool> deleteBlock(const std::string& s) override { return inner_->deleteBlock(s); }
  Result<std::vector<GlobalBlockRecord>> listBlocks() override { return inner_->listBlocks(); }
  Result<void> putPolicy(const Policy& p) override { return inner_->putPolicy(p); }
  Result<bool> deletePolicy(const std::string& n) override { return inner_->deletePolicy(n); }
  Result<std::vector<Policy>> listPolicies() override { return inner_->listPolicies(); }
  Result<uint64_t> putIncident(const IncidentRecord& i) override { return inner_->putIncident(i); }
  Result<std::vector<IncidentRecord>> listIncidents() override { return inner_->listIncidents(); }
  Result<uint64_t> appendAudit(const AuditRecord& a) override {
    if (fails("appendAudit")) return injected();
    return inner_->appendAudit(a);
  }
  Result<std::vector<AuditRecord>> listAudit(uint64_t after, size_t limit) override {
    return inner_->listAudit(after, limit);
  }
  Result<void> putMeta(const std::string& k, const std::string& v) override {
    if (fails("putMeta")) return injected();
    return inner_->putMeta(k, v);
  }
  Result<FloodAckRecord> acknowledgeFlood(const FloodAckRecord& a) override {
    if (fails("acknowledgeFlood")) return injected();
    return inner_->acknowledgeFlood(a);
  }
  Result<FloodAckRecord> getFloodAck(uint64_t id) override { return inner_->getFloodAck(id); }
  Result<std::vector<FloodAckRecord>> listFloodAcks(uint64_t min) override {
    return inner_->listFloodAcks(min);
  }
  Result<AuditPage> searchAudit(const AuditQuery& q) override { return inner_->searchAudit(q); }
  Result<std::optional<std::string>> getMeta(const std::string& k) override {
    return inner_->getMeta(k);
  }

 private:
  bool fails(const char* name) const { return failing.count(name) != 0; }
  static Error injected() { return makeError(Errc::kIo, "injected store failure"); }
  std::unique_ptr<Store> inner_;
};

}  // namespace sg::console::test
