// A ConsoleService for the REST API's tests: canned views, recorded calls,
// and an error to return from the next call (to check the HTTP mapping).
// Tokens: "Bearer sgA_admin" | "sgA_operator" | "sgA_viewer"; anything else
// is kUnauthenticated.
#pragma once

#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "console/service.h"

namespace sg::console::test {

class FakeConsoleService : public ConsoleService {
 public:
  // What the reads return.
  std::vector<EndpointView> endpoints_;
  std::vector<FloodView> floods_;
  std::vector<BlockView> blocks_;
  std::vector<IncidentRecord> incidents_;
  std::vector<Policy> policies_;
  std::vector<AuditRecord> audit_;
  uint64_t resource_version_ = 42;
  uint64_t version_ = 7;  // returned by actions
  // Returned by the next read or action instead of its value.
  std::optional<Error> fail_next_;

  // What the calls were given (the last one of each).
  std::vector<std::string> calls_;  // method names, in order
  Actor actor_;
  std::optional<Prefix> source_;
  std::optional<Nanos> ttl_;
  std::string text_;  // reason / note / endpoint / policy or token name
  std::optional<Policy> policy_;
  Labels labels_;
  Role role_ = Role::kViewer;
  bool include_ended_ = false;
  uint64_t id_ = 0;
  uint64_t after_ = 0;
  size_t limit_ = 0;

  Result<Actor> authenticate(const std::string& authorization) override {
    for (Role r : {Role::kViewer, Role::kOperator, Role::kAdmin}) {
      if (authorization == std::string("Bearer sgA_") + roleName(r)) {
        return Actor{std::string("tok-") + roleName(r), r};
      }
    }
    return makeError(Errc::kUnauthenticated, "missing or unknown API token");
  }

  Result<std::vector<EndpointView>> endpoints() override { return give("endpoints", endpoints_); }
  Result<std::vector<FloodView>> floods(bool include_ended) override {
    include_ended_ = include_ended;
    return give("floods", floods_);
  }
  Result<FloodView> flood(uint64_t id) override {
    id_ = id;
    for (const auto& f : floods_) {
      if (f.flood.id == id) return give("flood", f);
    }
    calls_.emplace_back("flood");
    return makeError(Errc::kNotFound, "no flood " + std::to_string(id));
  }
  Result<std::vector<BlockView>> blocks() override { return give("blocks", blocks_); }
  Result<std::vector<IncidentRecord>> incidents() override { return give("incidents", incidents_); }
  Result<std::vector<Policy>> policies() override { return give("policies", policies_); }
  Result<std::vector<AuditRecord>> audit(uint64_t after_id, size_t limit) override {
    after_ = after_id;
    limit_ = limit;
    return give("audit", audit_);
  }
  uint64_t resourceVersion() override { return resource_version_; }

  Result<uint64_t> block(const Actor& who, const Prefix& source, std::optional<Nanos> ttl,
                         const std::string& reason) override {
    actor_ = who;
    source_ = source;
    ttl_ = ttl;
    text_ = reason;
    return give("block", version_);
  }
  Result<uint64_t> unblock(const Actor& who, const Prefix& source) override {
    actor_ = who;
    source_ = source;
    return give("unblock", version_);
  }
  Result<uint64_t> isolate(const Actor& who, const std::string& endpoint,
                           const std::string& reason) override {
    actor_ = who;
    text_ = endpoint + "|" + reason;
    return give("isolate", version_);
  }
  Result<uint64_t> release(const Actor& who, const std::string& endpoint) override {
    actor_ = who;
    text_ = endpoint;
    return give("release", version_);
  }
  Result<uint64_t> setPolicy(const Actor& who, Policy policy) override {
    actor_ = who;
    policy_ = policy;
    return give("setPolicy", version_);
  }
  Result<uint64_t> deletePolicy(const Actor& who, const std::string& name) override {
    actor_ = who;
    text_ = name;
    return give("deletePolicy", version_);
  }
  Result<uint64_t> escalate(const Actor& who, uint64_t flood_id, const std::string& note) override {
    actor_ = who;
    id_ = flood_id;
    text_ = note;
    return give("escalate", uint64_t{5});
  }
  Result<std::string> createApiToken(const Actor& who, const std::string& name,
                                     Role role) override {
    actor_ = who;
    text_ = name;
    role_ = role;
    return give("createApiToken", std::string("sgA_new"));
  }
  Result<std::string> createEnrollmentToken(const Actor& who, const Labels& labels,
                                            std::optional<Nanos> ttl) override {
    actor_ = who;
    labels_ = labels;
    ttl_ = ttl;
    return give("createEnrollmentToken", std::string("sgE_new"));
  }
  Result<void> revokeEndpoint(const Actor& who, const std::string& endpoint) override {
    actor_ = who;
    text_ = endpoint;
    calls_.emplace_back("revokeEndpoint");
    if (fail_next_) return takeError();
    return Ok{};
  }

  Result<EnrollResult> enroll(const std::string&, const std::string&, const std::string&) override {
    return makeError(Errc::kUnavailable, "not in this fake");
  }
  std::shared_ptr<net::WsHandler> agentLink() override { return nullptr; }
  std::optional<net::HttpResponse> authorizeAgent(const net::HttpRequest&) override {
    return std::nullopt;
  }
  void tick() override {}

  // Sessions: a bare "sgA_<role>" logs in; its hash is "hash-<role>" until
  // revoked_ names it. takeLiveEvents hands out live_ once.
  std::set<std::string> revoked_;  // under revoked_mu_ (server threads read it)
  std::mutex revoked_mu_;
  void revoke(const std::string& hash) {
    std::lock_guard<std::mutex> lock(revoked_mu_);
    revoked_.insert(hash);
  }
  std::vector<LiveEvent> live_;
  Result<TokenIdentity> authenticateToken(const std::string& token) override {
    auto who = authenticate("Bearer " + token);
    if (!who) return who.error();
    return TokenIdentity{*who, "hash-" + std::string(roleName(who->role))};
  }
  Result<Actor> actorOfTokenHash(const std::string& hash) override {
    std::lock_guard<std::mutex> lock(revoked_mu_);
    for (Role r : {Role::kViewer, Role::kOperator, Role::kAdmin}) {
      if (hash == "hash-" + std::string(roleName(r)) && revoked_.count(hash) == 0) {
        return Actor{std::string("tok-") + roleName(r), r};
      }
    }
    return makeError(Errc::kUnauthenticated, "unknown API token");
  }
  std::vector<LiveEvent> takeLiveEvents(bool) override { return std::exchange(live_, {}); }

  // The dashboard's routes: canned answers, the last query recorded.
  std::optional<AuditQuery> audit_query_;
  BlockDetail block_detail_;
  PolicyPreview preview_;
  std::optional<Policy> preview_policy_;
  TimelineView timeline_;
  Result<FloodAckRecord> acknowledge(const Actor& who, uint64_t flood_id,
                                     const std::string& note) override {
    actor_ = who;
    text_ = note;
    return give("acknowledge", FloodAckRecord{flood_id, who.name, 1'764'480'000'000, note});
  }
  Result<BlockDetail> blockDetail(const Prefix& source) override {
    source_ = source;
    return give("blockDetail", block_detail_);
  }
  Result<PolicyPreview> previewPolicy(const std::string& name,
                                      const std::optional<Policy>& policy) override {
    text_ = name;
    preview_policy_ = policy;
    return give("previewPolicy", preview_);
  }
  Result<AuditPage> auditPage(const AuditQuery& query) override {
    audit_query_ = query;
    after_ = query.after_id;
    limit_ = query.limit;
    return give("auditPage", AuditPage{audit_, true});
  }
  Result<TimelineView> timeline(const std::string& endpoint) override {
    text_ = endpoint;
    return give("timeline", timeline_);
  }

 private:
  Error takeError() {
    Error e = *fail_next_;
    fail_next_.reset();
    return e;
  }
  template <typename T>
  Result<T> give(const char* call, T value) {
    calls_.emplace_back(call);
    if (fail_next_) return takeError();
    return value;
  }
};

}  // namespace sg::console::test
