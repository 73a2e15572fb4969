#include "win/wfp_enforcer.h"

namespace sg::win {
namespace {

// Adds every filter of `plan`; on a failure, removes those added and fails.
Result<std::vector<uint64_t>> addAll(WfpEngine* engine, const std::vector<FilterSpec>& plan) {
  std::vector<uint64_t> ids;
  for (const FilterSpec& f : plan) {
    auto id = engine->addFilter(f);
    if (!id.ok()) {
      for (uint64_t added : ids) (void)engine->deleteFilter(added);
      return id.error();
    }
    ids.push_back(*id);
  }
  return ids;
}

}  // namespace

Result<void> WfpEnforcer::block(const BlockSpec& spec) {
  return add(keyPrefix(spec.key, spec.v6_prefix), spec.ttl);
}

Result<void> WfpEnforcer::unblock(const Address& key, uint8_t v6_prefix) {
  return remove(keyPrefix(key, v6_prefix));
}

Result<void> WfpEnforcer::blockPrefix(const Prefix& prefix, Nanos ttl) { return add(prefix, ttl); }

Result<void> WfpEnforcer::unblockPrefix(const Prefix& prefix) { return remove(prefix); }

Result<void> WfpEnforcer::add(const Prefix& p, Nanos ttl) {
  const uint64_t expires = clock_->nowNs() + static_cast<uint64_t>(ttl.count());
  auto it = blocks_.find(p.str());
  if (it != blocks_.end()) {  // a refresh: the filters stay, the expiry moves
    it->second.expires_ns = expires;
    return Ok{};
  }
  auto ids = addAll(&engine_, planBlock(p));
  if (!ids.ok()) return ids.error().context("blocking " + p.str());
  blocks_.emplace(p.str(), Entry{p, std::move(*ids), expires});
  return Ok{};
}

Result<void> WfpEnforcer::remove(const Prefix& p) {
  auto it = blocks_.find(p.str());
  if (it == blocks_.end()) return Ok{};
  auto r = removeIds(&it->second.ids);
  if (!r.ok()) return r.error().context("unblocking " + p.str());
  blocks_.erase(it);
  return Ok{};
}

Result<void> WfpEnforcer::removeIds(std::vector<uint64_t>* ids) {
  while (!ids->empty()) {
    auto r = engine_.deleteFilter(ids->back());
    if (!r.ok()) return r;  // the rest stay listed: the next sweep retries
    ids->pop_back();
  }
  return Ok{};
}

Result<void> WfpEnforcer::setAllowlist(const std::vector<Prefix>& allow) {
  auto r = removeIds(&allow_ids_);
  if (!r.ok()) return r.error().context("replacing the allowlist");
  auto ids = addAll(&engine_, planAllow(allow));
  if (!ids.ok()) return ids.error().context("adding the allowlist");
  allow_ids_ = std::move(*ids);
  return Ok{};
}

Result<std::vector<Prefix>> WfpEnforcer::sweepExpired() {
  const uint64_t now = clock_->nowNs();
  std::vector<Prefix> gone;
  for (auto it = blocks_.begin(); it != blocks_.end();) {
    if (it->second.expires_ns > now) {
      ++it;
      continue;
    }
    auto r = removeIds(&it->second.ids);
    if (!r.ok()) return r.error().context("expiring " + it->second.prefix.str());
    gone.push_back(it->second.prefix);
    it = blocks_.erase(it);
  }
  return gone;
}

std::vector<uint64_t> WfpEnforcer::filterIds(const Prefix& p) const {
  auto it = blocks_.find(p.str());
  return it == blocks_.end() ? std::vector<uint64_t>{} : it->second.ids;
}

Result<void> WfpIsolation::isolate(const IsolationSpec& spec) {
  if (auto v = validateIsolationSpec(spec); !v.ok()) return v;
  auto ids = addAll(engine_, planIsolation(spec));
  if (!ids.ok()) return ids.error().context("isolating");
  // The new set is in place before the old one goes: no gap in isolation.
  for (uint64_t id : ids_) (void)engine_->deleteFilter(id);
  ids_ = std::move(*ids);
  spec_ = spec;
  isolated_ = true;
  return Ok{};
}

Result<void> WfpIsolation::release() {
  while (!ids_.empty()) {
    auto r = engine_->deleteFilter(ids_.back());
    if (!r.ok()) return r.error().context("releasing the isolation");
    ids_.pop_back();
  }
  isolated_ = false;
  spec_ = IsolationSpec{};
  return Ok{};
}

}  // namespace sg::win
