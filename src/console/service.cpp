// ConsoleService: open, restore from the store, and the reads.
#include <algorithm>
#include <chrono>

#include "console/service_impl.h"
#include "pki/cert.h"
#include "pki/key.h"
#include "pki/pin.h"
#include "proto/field_reader.h"

namespace sg::console {

namespace {

constexpr const char* kVersionKey = "desired_version";

Result<uint64_t> parseVersion(const std::optional<std::string>& text) {
  if (!text) return uint64_t{0};
  try {
    size_t used = 0;
    const uint64_t v = std::stoull(*text, &used);
    if (used == text->size()) return v;
  } catch (const std::exception&) {
  }
  return makeError(Errc::kInvalidArgument,
                   "store meta " + std::string(kVersionKey) + " '" + *text + "' is not a version");
}

}  // namespace

int64_t systemWallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool validEndpointName(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
}

Result<std::unique_ptr<ConsoleService>> ConsoleService::open(std::unique_ptr<Store> store,
                                                             ConsoleOptions options, Clock& clock,
                                                             WallClock wall,
                                                             std::string ca_cert_pem,
                                                             std::string ca_key_pem) {
  SG_TRY(validateCorrelatorOptions(options.correlator));
  SG_TRY(validateProfile(options.desired.default_policy));
  if (!wall) wall = systemWallMs;
  auto svc = std::make_unique<ConsoleServiceImpl>(std::move(store), std::move(options), clock,
                                                  std::move(wall));
  SG_TRY(svc->startFeed());  // before restore(): no change falls between the two
  SG_TRY(svc->restore(ca_cert_pem, ca_key_pem));
  return std::unique_ptr<ConsoleService>(std::move(svc));
}

ConsoleServiceImpl::ConsoleServiceImpl(std::unique_ptr<Store> store, ConsoleOptions options,
                                       Clock& clock, WallClock wall)
    : store_(std::move(store)),
      options_(std::move(options)),
      clock_(clock),
      wall_(std::move(wall)),
      port_floods_(options_.port_floods) {}

ConsoleServiceImpl::~ConsoleServiceImpl() {
  std::lock_guard<std::mutex> lock(mu_);
  flushReports();  // what was correlated is stored (its acks go nowhere now)
  for (auto& [id, link] : links_) link.conn->close();
  links_.clear();  // sessions go before the logic they point into
  flushDirty();
}

Result<void> ConsoleServiceImpl::restore(const std::string& ca_cert_pem,
                                         const std::string& ca_key_pem) {
  std::lock_guard<std::mutex> lock(mu_);
  SG_READ(ca, pki::certFromPem(ca_cert_pem));
  SG_READ(key, pki::keyFromPem(ca_key_pem));
  ca_cert_ = std::move(*ca);
  ca_key_ = std::move(*key);
  ca_pem_ = ca_cert_pem;
  ca_pin_ = pki::caPin(ca_cert_.get());

  SG_READ(meta, store_->getMeta(kVersionKey));
  SG_READ(version, parseVersion(*meta));
  desired_ = std::make_unique<DesiredState>(options_.desired, clock_, *version);
  correlator_ = std::make_unique<Correlator>(options_.correlator, clock_);
  const TimeBase base = timeBase();

  SG_READ(policies, store_->listPolicies());
  for (Policy& p : *policies) SG_TRY(desired_->restorePolicy(std::move(p)));

  SG_READ(records, store_->listEndpoints());
  for (EndpointRecord& r : *records) {
    const std::string name = r.name;
    if (!r.revoked) {
      SG_TRY(desired_->upsertEndpoint(name, r.labels));
      if (r.isolated) {
        std::vector<Prefix> peers;
        for (const auto& text : r.allowed_peers) {
          SG_READ(p, parsePrefix(text));
          peers.push_back(*p);
        }
        SG_TRY(desired_->restoreIsolation(name, std::move(peers)));
      }
      // What it applied before the restart still counts for the blocks' "acked".
      SG_TRY(desired_->restoreAck(name, std::min(r.applied_version, desired_->version())));
    }
    correlator_->restoreSeq(name, r.last_report_seq);
    records_[name] = std::move(r);
  }

  SG_READ(blocks, store_->listBlocks());
  for (const GlobalBlockRecord& b : *blocks) {
    SG_READ(source, parsePrefix(b.source));
    GlobalBlock g{*source, std::nullopt, b.added_by, b.reason, b.version};
    // An expired one is restored too: the next tick() removes it everywhere.
    if (b.expires_at_ms) g.expires_at_ns = base.toMonoNs(*b.expires_at_ms);
    SG_TRY(desired_->restoreBlock(std::move(g)));
    block_added_ms_[b.source] = b.added_at_ms;
  }

  SG_READ(floods, store_->listFloods(true));
  for (const FloodRecord& fr : *floods) {
    SG_READ(f, floodFromJsonText(fr.body, base));
    correlator_->restoreFlood(std::move(*f));
  }
  updateFleetSize();
  SG_TRY(restoreWeb());
  SG_TRY(restorePortFloods());
  return Ok{};
}

void ConsoleServiceImpl::updateFleetSize() {
  size_t n = 0;
  for (const auto& [name, r] : records_) n += r.revoked ? 0 : 1;
  correlator_->setFleetSize(n);
}

// ---- reads ----------------------------------------------------------------

FloodView ConsoleServiceImpl::viewOf(const Flood& f, const TimeBase& base) const {
  FloodView v;
  v.flood = f;
  v.started_at_ms = base.toWallMs(f.started_ns);
  v.last_seen_ms = base.toWallMs(f.last_seen_ns);
  v.ended_at_ms = f.active ? 0 : base.toWallMs(f.ended_ns);
  fillWebFields(v);
  return v;
}

Result<std::vector<EndpointView>> ConsoleServiceImpl::endpoints() {
  std::lock_guard<std::mutex> lock(mu_);
  return endpointViews(nullptr);
}

std::vector<EndpointView> ConsoleServiceImpl::endpointViews(const std::set<std::string>* only) {
  const uint64_t now = clock_.nowNs();
  const auto roles = floodRoles();
  std::vector<EndpointView> out;
  auto each = [&](const std::string& name, const EndpointRecord& r) {
    EndpointView v;
    v.name = name;
    v.labels = r.labels;
    v.revoked = r.revoked;
    v.isolated = r.isolated;
    v.last_heartbeat_ms = r.last_heartbeat_ms;
    v.applied_version = r.applied_version;
    auto link = link_of_.find(name);
    if (link != link_of_.end()) {
      const Link& l = links_.at(link->second);
      v.online = l.session->active() &&
                 now - l.last_in_ns < static_cast<uint64_t>(options_.offline_after.count());
      v.heartbeat_late = v.online && heartbeatLate(l, now);
    }
    auto live = liveness_.find(name);
    if (live != liveness_.end()) v.active_blocks = live->second.active_blocks;
    if (const EndpointState* ep = desired_->endpoint(name); ep != nullptr && !r.revoked) {
      v.policy = ep->policy.name;
      v.policy_version = desired_->desiredVersion(name);
      v.applied_version = ep->acked_version;
      for (const auto& [what, why] : ep->rejected) v.rejected.push_back(what + ": " + why.first);
    }
    fillWebFields(v, roles);
    out.push_back(std::move(v));
  };
  if (only == nullptr) {
    for (const auto& [name, r] : records_) each(name, r);
  } else {
    for (const std::string& name : *only) {
      if (auto r = records_.find(name); r != records_.end()) each(name, r->second);
    }
  }
  return out;
}

Result<std::vector<FloodView>> ConsoleServiceImpl::floods(bool include_ended) {
  std::lock_guard<std::mutex> lock(mu_);
  const TimeBase base = timeBase();
  std::vector<FloodView> out;
  if (include_ended) {
    for (const Flood& f : correlator_->history()) out.push_back(viewOf(f, base));
  }
  for (const Flood* f : correlator_->active()) out.push_back(viewOf(*f, base));
  std::sort(out.begin(), out.end(),
            [](const FloodView& a, const FloodView& b) { return a.flood.id < b.flood.id; });
  return out;
}

Result<FloodView> ConsoleServiceImpl::flood(uint64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  const TimeBase base = timeBase();
  if (const Flood* f = correlator_->find(id)) return viewOf(*f, base);
  // Older than the history kept in memory: the store has every flood.
  SG_READ(record, store_->getFlood(id));
  SG_READ(f, floodFromJsonText(record->body, base));
  return viewOf(*f, base);
}

Result<std::vector<BlockView>> ConsoleServiceImpl::blocks() { return blockViews(std::nullopt); }

std::vector<BlockView> ConsoleServiceImpl::blockViews(
    std::optional<std::pair<uint64_t, uint64_t>> versions) {
  std::lock_guard<std::mutex> lock(mu_);
  const TimeBase base = timeBase();
  std::vector<BlockView> out;
  auto statuses = desired_->blockStatuses();  // one pass over the endpoints, not one per block
  for (const auto& [key, b] : desired_->blocks()) {
    if (versions && (b.version <= versions->first || b.version > versions->second)) continue;
    BlockView v;
    v.block = b;
    if (b.expires_at_ns) v.expires_at_ms = base.toWallMs(*b.expires_at_ns);
    auto added = block_added_ms_.find(key);
    v.added_at_ms = added == block_added_ms_.end() ? 0 : added->second;
    v.status = statuses[key];
    out.push_back(std::move(v));
  }
  return out;
}

Result<std::vector<IncidentRecord>> ConsoleServiceImpl::incidents() {
  std::lock_guard<std::mutex> lock(mu_);
  return store_->listIncidents();
}

Result<std::vector<Policy>> ConsoleServiceImpl::policies() {
  std::lock_guard<std::mutex> lock(mu_);
  return desired_->policies().list();
}

Result<std::vector<AuditRecord>> ConsoleServiceImpl::audit(uint64_t after_id, size_t limit) {
  std::lock_guard<std::mutex> lock(mu_);
  return store_->listAudit(after_id, std::clamp<size_t>(limit, 1, 1000));
}

uint64_t ConsoleServiceImpl::resourceVersion() {
  std::lock_guard<std::mutex> lock(mu_);
  auto v = store_->resourceVersion();
  return v ? *v : 0;
}

// ---- persistence helpers (mu_ held) ------------------------------------------

Result<void> ConsoleServiceImpl::saveVersion() {
  if (shared_) return Ok{};  // the shared counter holds it (takeVersion); never set it back
  return store_->putMeta(kVersionKey, std::to_string(desired_->version()));
}

Result<void> ConsoleServiceImpl::saveFlood(uint64_t id, const TimeBase& base) {
  auto r = floodRecord(id, base);
  if (!r) return Ok{};  // already out of the history kept in memory
  return store_->putFlood(*r);
}

std::optional<FloodRecord> ConsoleServiceImpl::floodRecord(uint64_t id, const TimeBase& base) {
  const Flood* f = correlator_->find(id);
  if (f == nullptr) return std::nullopt;
  liveFlood(id);
  FloodRecord r;
  r.id = f->id;
  r.source = proto::prefixText(f->source);
  r.active = f->active;
  r.started_at_ms = base.toWallMs(f->started_ns);
  r.last_seen_ms = base.toWallMs(f->last_seen_ns);
  r.body = floodToJson(*f, base).dump();
  return r;
}

Result<void> ConsoleServiceImpl::saveBlock(const GlobalBlock& b, const TimeBase& base) {
  const std::string key = proto::prefixText(b.source);
  GlobalBlockRecord r;
  r.source = key;
  if (b.expires_at_ns) r.expires_at_ms = base.toWallMs(*b.expires_at_ns);
  r.added_by = b.added_by;
  r.reason = b.reason;
  r.version = b.version;
  r.added_at_ms = block_added_ms_[key];
  return store_->putBlock(r);
}

Result<void> ConsoleServiceImpl::auditLocked(const std::string& actor, const std::string& action,
                                             const std::string& target,
                                             const std::string& details) {
  AuditRecord a;
  a.at_ms = wall_();
  a.actor = actor;
  a.action = action;
  a.target = target;
  a.details = details;
  SG_READ(id, store_->appendAudit(a));
  a.id = *id;
  liveAudit(a);
  return Ok{};
}

Result<void> ConsoleServiceImpl::requireRole(const Actor& who, Role needed,
                                             const char* action) const {
  if (static_cast<int>(who.role) >= static_cast<int>(needed)) return Ok{};
  return makeError(Errc::kPermissionDenied, std::string(action) + " needs the " + roleName(needed) +
                                                " role ('" + who.name + "' is " +
                                                roleName(who.role) + ")");
}

}  // namespace sg::console
