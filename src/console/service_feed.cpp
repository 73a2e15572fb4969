// ConsoleService: several consoles on one PostgreSQL serving one fleet
// (docs/architecture.md, "Scale-out"). Each console holds the links of its
// own agents; the store is the truth they share:
//  - versions: every desired-state change takes the store's counter
//    "desired_version", so no two consoles number two changes alike;
//  - changes: the writes of another console arrive on the change feed, are
//    read back from the store into this console's logic and fanned out to its
//    own agents; after a lost feed connection everything is read again;
//  - floods: the first console to see a source claims a flood id for it in
//    the store, the others join that flood, and each merges the sightings the
//    others stored (Correlator::mergeFlood).
#include <algorithm>
#include <chrono>

#include "console/service_impl.h"
#include "proto/field_reader.h"

namespace sg::console {

namespace {

constexpr const char* kVersionCounter = "desired_version";
constexpr const char* kFloodCounter = "flood_id";

std::string floodClaimKey(const Prefix& source) {
  return "flood_source:" + proto::prefixText(source);
}

std::optional<uint64_t> parseId(const std::string& text) {
  try {
    size_t used = 0;
    const uint64_t v = std::stoull(text, &used);
    if (used == text.size() && v > 0) return v;
  } catch (const std::exception&) {
  }
  return std::nullopt;
}

}  // namespace

Result<void> ConsoleServiceImpl::startFeed() {
  FeedHooks hooks;
  hooks.on_change = [this](const FeedChange& c) { onFeedChange(c); };
  hooks.on_resync = [this] { onFeedResync(); };
  SG_READ(feed, startStoreFeed(*store_, std::move(hooks)));
  std::lock_guard<std::mutex> lock(mu_);
  feed_ = std::move(*feed);
  shared_ = feed_ != nullptr;
  options_.desired.next_version = [this] { return takeVersion(); };
  options_.desired.delta_only_from_own_acks = shared_;
  return Ok{};
}

uint64_t ConsoleServiceImpl::takeVersion() {
  auto v = store_->nextCounter(kVersionCounter);
  if (v) return *v;
  ++counters_.store_errors;  // the change's own write fails the same way
  return 0;                  // DesiredState goes on from its own version
}

// ---- floods -------------------------------------------------------------------

void ConsoleServiceImpl::prepareFloods(const proto::Report& report) {
  if (!shared_) return;
  if (!flood_counter_seeded_) {
    uint64_t top = 0;
    for (const Flood* f : correlator_->active()) top = std::max(top, f->id);
    for (const Flood& f : correlator_->history()) top = std::max(top, f.id);
    flood_counter_seeded_ = store_->claimMeta(kFloodCounter, std::to_string(top)).ok();
  }
  const TimeBase base = timeBase();
  for (const proto::Event& e : report.events) {
    if (correlator_->activeFor(e.source) != nullptr) continue;
    const std::string key = floodClaimKey(e.source);
    for (int attempt = 0; attempt < 2; ++attempt) {
      auto id = store_->nextCounter(kFloodCounter);
      if (!id) break;
      auto claimed = store_->claimMeta(key, std::to_string(*id));
      if (!claimed) break;
      const std::optional<uint64_t> cid = parseId(*claimed);
      if (!cid) break;
      auto stored = store_->getFlood(*cid);
      if (!stored) {  // claimed, not yet stored (or just now by us): join it
        correlator_->startFlood(e.source, *cid);
        break;
      }
      if (stored->active) {
        if (auto f = floodFromJsonText(stored->body, base)) (void)correlator_->mergeFlood(*f);
        break;
      }
      (void)store_->putMeta(key, "");  // the claim of a flood that ended: a new one starts
    }
    // On a store error the correlator numbers the flood itself (counted).
    if (correlator_->activeFor(e.source) == nullptr) ++counters_.store_errors;
  }
}

void ConsoleServiceImpl::reloadFlood(uint64_t id) {
  reloadAck(id);
  auto stored = store_->getFlood(id);
  if (!stored) return;
  const TimeBase base = timeBase();
  auto f = floodFromJsonText(stored->body, base);
  if (!f || !correlator_->mergeFlood(*f)) return;
  liveFlood(f->id);
  const Flood* mine = correlator_->activeFor(f->source);
  if (mine != nullptr && !saveFlood(mine->id, base)) ++counters_.store_errors;
}

// ---- desired state --------------------------------------------------------------

void ConsoleServiceImpl::reloadBlock(const std::string& key,
                                     const std::vector<GlobalBlockRecord>& all) {
  auto prefix = parsePrefix(key);
  if (!prefix) return;
  auto it = std::find_if(all.begin(), all.end(),
                         [&](const GlobalBlockRecord& b) { return b.source == key; });
  if (it == all.end()) {
    if (desired_->blocks().count(key) != 0) (void)desired_->removeBlock(*prefix);
    block_added_ms_.erase(key);
    return;
  }
  std::optional<Nanos> ttl;
  if (it->expires_at_ms) {
    ttl = std::chrono::milliseconds(std::max<int64_t>(1, *it->expires_at_ms - wall_()));
  }
  auto local = desired_->blocks().find(key);
  const bool same = local != desired_->blocks().end() && local->second.added_by == it->added_by &&
                    local->second.reason == it->reason &&
                    local->second.expires_at_ns.has_value() == it->expires_at_ms.has_value();
  if (!same) (void)desired_->addBlock(*prefix, ttl, it->added_by, it->reason);
  block_added_ms_[key] = it->added_at_ms;
}

void ConsoleServiceImpl::reloadPolicy(const std::string& name, const std::vector<Policy>& all) {
  auto it = std::find_if(all.begin(), all.end(), [&](const Policy& p) { return p.name == name; });
  if (it == all.end()) {
    (void)desired_->deletePolicy(name);
  } else {
    (void)desired_->setPolicy(*it);  // unchanged: no new version
  }
}

void ConsoleServiceImpl::reloadEndpoint(const EndpointRecord& r) {
  const std::string& name = r.name;
  auto it = records_.find(name);
  const bool known = it != records_.end();
  const bool was_revoked = known && it->second.revoked;
  if (!known || link_of_.count(name) == 0) {
    records_[name] = r;  // another console's agent: its record as that console wrote it
    dirty_.erase(name);
  } else {  // linked here: this console writes its liveness; take the operator's fields
    EndpointRecord& mine = it->second;
    mine.labels = r.labels;
    mine.credential_hash = r.credential_hash;
    mine.revoked = r.revoked;
    mine.isolated = r.isolated;
    mine.allowed_peers = r.allowed_peers;
  }
  if (r.revoked) {
    if (!was_revoked) {
      if (auto l = link_of_.find(name); l != link_of_.end()) {
        dropLink(links_.find(l->second), kClosePolicy, "endpoint revoked");
      }
      desired_->removeEndpoint(name);
      liveBlocks();  // its acks leave the blocks' counts
      updateFleetSize();
    }
    return;
  }
  const EndpointState* ep = desired_->endpoint(name);
  if (ep == nullptr || ep->labels != r.labels) {
    (void)desired_->upsertEndpoint(name, r.labels);
    updateFleetSize();
    ep = desired_->endpoint(name);
  }
  if (ep == nullptr || ep->isolated == r.isolated) return;
  if (r.isolated) {
    std::vector<Prefix> peers;
    for (const auto& text : r.allowed_peers) {
      if (auto p = parsePrefix(text)) peers.push_back(*p);
    }
    (void)desired_->isolate(name, std::move(peers));
  } else {
    (void)desired_->release(name);
  }
}

// ---- the feed's thread ------------------------------------------------------------

void ConsoleServiceImpl::onFeedChange(const FeedChange& c) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!desired_) return;  // before restore(): it reads this change itself
  if (c.kind == "block") {
    if (auto all = store_->listBlocks()) reloadBlock(c.key, *all);
  } else if (c.kind == "policy") {
    if (auto all = store_->listPolicies()) reloadPolicy(c.key, *all);
  } else if (c.kind == "endpoint") {
    if (auto r = store_->getEndpoint(c.key)) reloadEndpoint(*r);
  } else if (c.kind == "flood") {
    if (auto id = parseId(c.key)) reloadFlood(*id);
    return;
  } else if (c.kind == "port_flood") {
    reloadPortFlood(c.key);
    return;
  } else if (c.kind == "incident" || c.kind == "audit") {  // to the dashboard's live stream
    if (auto id = parseId(c.key)) c.kind == "audit" ? reloadAudit(*id) : reloadIncident(*id);
    return;
  } else {
    return;  // tokens, meta: read from the store when asked
  }
  fanOut();
}

void ConsoleServiceImpl::onFeedResync() {
  std::lock_guard<std::mutex> lock(mu_);
  if (!desired_) return;
  if (auto all = store_->listBlocks()) {
    std::set<std::string> keys;
    for (const auto& [key, b] : desired_->blocks()) keys.insert(key);
    for (const auto& b : *all) keys.insert(b.source);
    for (const auto& key : keys) reloadBlock(key, *all);
  }
  if (auto all = store_->listPolicies()) {
    std::set<std::string> names;
    for (const Policy& p : desired_->policies().list()) names.insert(p.name);
    for (const Policy& p : *all) names.insert(p.name);
    for (const auto& name : names) reloadPolicy(name, *all);
  }
  if (auto all = store_->listEndpoints()) {
    for (const auto& r : *all) reloadEndpoint(r);
  }
  if (auto floods = store_->listFloods(false)) {
    for (const auto& f : *floods) reloadFlood(f.id);
  }
  liveIncidents();  // (audit entries written meanwhile are in the store, not streamed)
  fanOut();
}

}  // namespace sg::console
