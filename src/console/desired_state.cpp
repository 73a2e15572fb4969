#include "console/desired_state.h"

#include <algorithm>

#include "proto/field_reader.h"

namespace sg::console {

namespace {

std::string rejectionKey(const std::string& op, const std::string& target) {
  return op + " " + target;
}

}  // namespace

DesiredState::DesiredState(DesiredStateOptions options, Clock& clock, uint64_t version)
    : options_(std::move(options)),
      clock_(clock),
      version_(std::max<uint64_t>(version, 1)),
      global_version_(version_),
      resolver_(options_.default_policy),
      log_(options_.change_log_capacity, version_) {}

Result<EndpointState*> DesiredState::mutableEndpoint(const std::string& name) {
  auto it = endpoints_.find(name);
  if (it == endpoints_.end()) return makeError(Errc::kNotFound, "no endpoint '" + name + "'");
  return &it->second;
}

const EndpointState* DesiredState::endpoint(const std::string& name) const {
  auto it = endpoints_.find(name);
  return it == endpoints_.end() ? nullptr : &it->second;
}

uint64_t DesiredState::desiredVersion(const std::string& name) const {
  const EndpointState* ep = endpoint(name);
  return std::max(global_version_, ep ? ep->own_version : 0);
}

Result<void> DesiredState::upsertEndpoint(const std::string& name, const Labels& labels) {
  SG_TRY(validateLabels(labels));
  auto [it, fresh] = endpoints_.try_emplace(name);
  EndpointState& ep = it->second;
  ep.labels = labels;
  const proto::PolicyParams policy = resolver_.resolve(name, labels);
  if (fresh) {
    ep.policy = policy;  // a new endpoint starts from a snapshot: nothing to log
  } else if (policy != ep.policy) {
    const uint64_t v = bump();
    ep.policy = policy;
    ep.own_version = v;
    proto::DeltaOp op;
    op.kind = proto::OpKind::kPolicySet;
    op.policy = policy;
    logOne(v, name, op);
  }
  return Ok{};
}

Result<void> DesiredState::setConnected(const std::string& name, bool connected) {
  SG_READ(ep, mutableEndpoint(name));
  (*ep)->connected = connected;
  return Ok{};
}

void DesiredState::removeEndpoint(const std::string& name) { endpoints_.erase(name); }

void DesiredState::logAll(uint64_t version, proto::DeltaOp op, std::optional<uint64_t> expires_at) {
  log_.append(Change{version, "", std::move(op), expires_at});
}

void DesiredState::logOne(uint64_t version, const std::string& name, proto::DeltaOp op) {
  log_.append(Change{version, name, std::move(op), std::nullopt});
}

Result<uint64_t> DesiredState::addBlock(const Prefix& source, std::optional<Nanos> ttl,
                                        const std::string& added_by, const std::string& reason) {
  if (ttl && ttl->count() <= 0) return makeError(Errc::kInvalidArgument, "ttl must be above 0");
  const std::string key = proto::prefixText(source);
  auto it = blocks_.find(key);
  if (it != blocks_.end() && !it->second.expires_at_ns && !ttl) return it->second.version;
  if (it == blocks_.end() && blocks_.size() >= options_.max_blocks) {
    return makeError(Errc::kResourceExhausted,
                     "global blocks full (" + std::to_string(options_.max_blocks) + ")");
  }
  const uint64_t v = bump();
  std::optional<uint64_t> expires_at;
  if (ttl) expires_at = clock_.nowNs() + static_cast<uint64_t>(ttl->count());
  blocks_[key] = GlobalBlock{source, expires_at, added_by, reason, v};
  global_version_ = v;
  proto::DeltaOp op;
  op.kind = proto::OpKind::kBlockAdd;
  op.block.source = source;
  logAll(v, op, expires_at);
  return v;
}

Result<uint64_t> DesiredState::removeBlock(const Prefix& source) {
  const std::string key = proto::prefixText(source);
  if (blocks_.erase(key) == 0) return version_;
  const uint64_t v = bump();
  global_version_ = v;
  for (auto& [name, ep] : endpoints_) ep.rejected.erase(rejectionKey("block_add", key));
  proto::DeltaOp op;
  op.kind = proto::OpKind::kBlockRemove;
  op.block.source = source;
  logAll(v, op);
  return v;
}

std::vector<Prefix> DesiredState::expireBlocks() {
  const uint64_t now = clock_.nowNs();
  std::vector<Prefix> expired;
  for (const auto& [key, b] : blocks_) {
    if (b.expires_at_ns && *b.expires_at_ns <= now) expired.push_back(b.source);
  }
  if (expired.empty()) return expired;
  const uint64_t v = bump();
  global_version_ = v;
  for (const Prefix& p : expired) {
    const std::string key = proto::prefixText(p);
    blocks_.erase(key);
    for (auto& [name, ep] : endpoints_) ep.rejected.erase(rejectionKey("block_add", key));
    proto::DeltaOp op;
    op.kind = proto::OpKind::kBlockRemove;
    op.block.source = p;
    logAll(v, op);
  }
  return expired;
}

Result<uint64_t> DesiredState::isolate(const std::string& name, std::vector<Prefix> peers) {
  if (peers.size() > proto::kMaxPeers) {
    return makeError(Errc::kInvalidArgument, "more than 256 allowed peers");
  }
  SG_READ(ep, mutableEndpoint(name));
  if ((*ep)->isolated && (*ep)->allowed_peers == peers) return desiredVersion(name);
  const uint64_t v = bump();
  (*ep)->isolated = true;
  (*ep)->allowed_peers = peers;
  (*ep)->own_version = v;
  (*ep)->rejected.erase(rejectionKey("isolate", ""));
  proto::DeltaOp op;
  op.kind = proto::OpKind::kIsolate;
  op.allowed_peers = std::move(peers);
  logOne(v, name, op);
  return v;
}

Result<uint64_t> DesiredState::release(const std::string& name) {
  SG_READ(ep, mutableEndpoint(name));
  if (!(*ep)->isolated) return desiredVersion(name);
  const uint64_t v = bump();
  (*ep)->isolated = false;
  (*ep)->allowed_peers.clear();
  (*ep)->own_version = v;
  (*ep)->rejected.erase(rejectionKey("isolate", ""));
  proto::DeltaOp op;
  op.kind = proto::OpKind::kRelease;
  logOne(v, name, op);
  return v;
}

bool DesiredState::reresolve(uint64_t version) {
  bool changed = false;
  for (auto& [name, ep] : endpoints_) {
    proto::PolicyParams p = resolver_.resolve(name, ep.labels);
    if (p == ep.policy) continue;
    ep.policy = p;
    ep.own_version = version;
    proto::DeltaOp op;
    op.kind = proto::OpKind::kPolicySet;
    op.policy = std::move(p);
    logOne(version, name, op);
    changed = true;
  }
  return changed;
}

Result<uint64_t> DesiredState::setPolicy(Policy policy) {
  SG_TRY(validatePolicy(policy));
  policy.profile.name = policy.name;
  const Policy* old = resolver_.find(policy.name);
  if (old && old->selector == policy.selector && old->profile == policy.profile) {
    return old->revision;
  }
  policy.revision = bump();
  const uint64_t v = policy.revision;
  SG_TRY(resolver_.set(std::move(policy)));
  reresolve(v);
  return v;
}

Result<uint64_t> DesiredState::deletePolicy(const std::string& name) {
  if (resolver_.find(name) == nullptr) return version_;
  const uint64_t v = bump();
  resolver_.remove(name);
  reresolve(v);
  return v;
}

Result<void> DesiredState::restoreBlock(GlobalBlock block) {
  if (blocks_.size() >= options_.max_blocks) {
    return makeError(Errc::kResourceExhausted, "global blocks full");
  }
  block.version = std::min(block.version, version_);
  blocks_[proto::prefixText(block.source)] = std::move(block);
  return Ok{};
}

Result<void> DesiredState::restorePolicy(Policy policy) {
  SG_TRY(resolver_.set(std::move(policy)));
  for (auto& [name, ep] : endpoints_) ep.policy = resolver_.resolve(name, ep.labels);
  return Ok{};
}

Result<void> DesiredState::restoreIsolation(const std::string& name, std::vector<Prefix> peers) {
  SG_READ(ep, mutableEndpoint(name));
  (*ep)->isolated = true;
  (*ep)->allowed_peers = std::move(peers);
  return Ok{};
}

std::optional<uint64_t> DesiredState::expiresInMs(const std::optional<uint64_t>& at_ns,
                                                  uint64_t now) {
  if (!at_ns) return std::nullopt;
  // Rounded up, so an agent never drops a block before the console does.
  return *at_ns <= now ? 0 : (*at_ns - now + 999'999) / 1'000'000;
}

proto::Snapshot DesiredState::makeSnapshot(const std::string& name, const EndpointState& ep,
                                           uint64_t now) const {
  proto::Snapshot s;
  s.version = desiredVersion(name);
  s.blocks.reserve(blocks_.size());
  for (const auto& [key, b] : blocks_) {
    s.blocks.push_back({b.source, expiresInMs(b.expires_at_ns, now)});
  }
  s.isolation = proto::Isolation{ep.isolated, ep.allowed_peers};
  s.policy = ep.policy;
  return s;
}

Result<proto::Snapshot> DesiredState::snapshot(const std::string& name) const {
  const EndpointState* ep = endpoint(name);
  if (ep == nullptr) return makeError(Errc::kNotFound, "no endpoint '" + name + "'");
  return makeSnapshot(name, *ep, clock_.nowNs());
}

Result<std::optional<proto::ConsoleMessage>> DesiredState::catchUp(
    const std::string& name, uint64_t applied, std::optional<uint64_t> now_ns) const {
  const EndpointState* ep = endpoint(name);
  if (ep == nullptr) return makeError(Errc::kNotFound, "no endpoint '" + name + "'");
  const uint64_t now = now_ns ? *now_ns : clock_.nowNs();
  const uint64_t desired = desiredVersion(name);
  using Out = std::optional<proto::ConsoleMessage>;
  if (options_.delta_only_from_own_acks && applied != ep->link_acked_version) {
    return Out{makeSnapshot(name, *ep, now)};
  }
  if (applied == desired) return Out{};
  auto changes = applied < desired ? log_.since(name, applied, desired) : std::nullopt;
  if (!changes || changes->size() > proto::kMaxOps) return Out{makeSnapshot(name, *ep, now)};
  proto::Delta d{applied, desired, {}};
  for (const Change* c : *changes) {
    d.ops.push_back(c->op);
    if (c->op.kind == proto::OpKind::kBlockAdd) {
      d.ops.back().block.expires_in_ms = expiresInMs(c->expires_at_ns, now);
    }
  }
  return Out{std::move(d)};
}

Result<void> DesiredState::onAck(const std::string& name, uint64_t version) {
  SG_TRY(restoreAck(name, version));
  EndpointState& ep = endpoints_.at(name);
  ep.link_acked_version = std::max(ep.link_acked_version, version);
  return Ok{};
}

Result<void> DesiredState::restoreAck(const std::string& name, uint64_t version) {
  SG_READ(ep, mutableEndpoint(name));
  if (version > desiredVersion(name)) {
    return makeError(Errc::kInvalidArgument,
                     "ack for version " + std::to_string(version) + ", never sent to " + name);
  }
  (*ep)->acked_version = std::max((*ep)->acked_version, version);  // a stale ack changes nothing
  return Ok{};
}

uint64_t DesiredState::bump() {
  if (options_.next_version) {
    // Shared (several consoles on one database): every version is a number
    // the database's counter handed out, so two consoles never give out the
    // same one. Taking max(own + 1, counter) did: a console whose own version
    // ran ahead of the counter used own + 1, which the counter later gave to
    // another console too. Numbers at or below this console's own are
    // skipped (bounded); 0 is a store failure, whose write fails as well.
    for (int i = 0; i < 64; ++i) {
      const uint64_t v = options_.next_version();
      if (v == 0) break;
      if (v > version_) return version_ = v;
    }
  }
  return ++version_;
}

Result<void> DesiredState::onNack(const std::string& name, const proto::Nack& nack) {
  SG_TRY(onAck(name, nack.version));
  EndpointState* ep = *mutableEndpoint(name);
  for (const auto& item : nack.items) {
    ep->rejected[rejectionKey(item.op, item.target)] = {item.reason, nack.version};
  }
  return Ok{};
}

namespace {

// One endpoint's standing on the block of version v: rejected (its allowlist
// refused it, since that version), acked, pending (connected, not yet), or
// none of them (offline and behind).
template <class Endpoint>
void countEndpoint(BlockStatus& st, const Endpoint& ep, const std::string& rejection, uint64_t v) {
  auto r = ep.rejected.empty() ? ep.rejected.end() : ep.rejected.find(rejection);
  if (r != ep.rejected.end() && r->second.second >= v) {
    ++st.rejected;
  } else if (ep.acked_version >= v) {
    ++st.acked;
  } else if (ep.connected) {
    ++st.pending;
  }
}

}  // namespace

BlockStatus DesiredState::blockStatus(const Prefix& source) const {
  BlockStatus st;
  const std::string key = proto::prefixText(source);
  auto b = blocks_.find(key);
  if (b == blocks_.end()) return st;
  const uint64_t v = b->second.version;
  const std::string rejection = rejectionKey("block_add", key);  // once, not per endpoint
  for (const auto& [name, ep] : endpoints_) countEndpoint(st, ep, rejection, v);
  return st;
}

std::map<std::string, BlockStatus> DesiredState::blockStatuses() const {
  // Blocks by version: an endpoint without rejections acked every block up
  // to its acked version and, when connected, has the later ones pending,
  // so it adds one at a cut; the sums over the cuts give the counts.
  std::vector<std::pair<uint64_t, const std::string*>> order;
  order.reserve(blocks_.size());
  for (const auto& [key, b] : blocks_) order.emplace_back(b.version, &key);
  std::sort(order.begin(), order.end());
  std::vector<size_t> acked_cut(order.size() + 1), pending_cut(order.size() + 1);
  std::map<std::string, BlockStatus> out;
  for (const auto& [key, b] : blocks_) out[key];
  for (const auto& [name, ep] : endpoints_) {
    if (!ep.rejected.empty()) {  // rare: classified block by block
      for (const auto& [v, key] : order) {
        countEndpoint(out[*key], ep, rejectionKey("block_add", *key), v);
      }
      continue;
    }
    // The first block it has not acked.
    const size_t cut = static_cast<size_t>(
        std::upper_bound(order.begin(), order.end(), ep.acked_version,
                         [](uint64_t a, const auto& e) { return a < e.first; }) -
        order.begin());
    ++acked_cut[cut];
    if (ep.connected) ++pending_cut[cut];
  }
  // Block i is acked by every endpoint cut after it, pending on the
  // connected ones cut at or before it.
  size_t acked = 0;
  for (size_t i = order.size(); i-- > 0;) {
    acked += acked_cut[i + 1];
    out[*order[i].second].acked += acked;
  }
  size_t pending = 0;
  for (size_t i = 0; i < order.size(); ++i) {
    pending += pending_cut[i];
    out[*order[i].second].pending += pending;
  }
  return out;
}

}  // namespace sg::console
