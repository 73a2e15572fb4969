// ConsoleService::tick(): the work time drives. Run every ~second by the
// caller: TTL blocks expire (stored, then removed from every agent), quiet
// floods end (stored), links are pinged (RTT and clock offset) and silent
// ones closed (the endpoint shows offline), heartbeat and ack state written
// back to the store.
#include "console/service_impl.h"
#include "proto/field_reader.h"

namespace sg::console {

namespace {

constexpr uint64_t kPingEveryNs = 10'000'000'000;

}  // namespace

void ConsoleServiceImpl::tick() {
  std::unique_lock<std::mutex> lock(mu_);
  const std::vector<Prefix> expired = desired_->expireBlocks();
  if (!expired.empty()) {
    bool stored = saveVersion().ok();
    for (const Prefix& p : expired) {
      const std::string key = proto::prefixText(p);
      block_added_ms_.erase(key);
      stored = store_->deleteBlock(key).ok() && stored;
      stored = auditLocked("console", "block_expired", key, "").ok() && stored;
    }
    if (!stored) ++counters_.store_errors;  // restored at the next start, expired again then
    fanOut();
  }
  const std::vector<uint64_t> ended = correlator_->endQuiet();
  if (!ended.empty()) {
    const TimeBase base = timeBase();
    for (uint64_t id : ended) {
      if (!saveFlood(id, base)) ++counters_.store_errors;
    }
  }
  endQuietPortFloods();
  pingAndReap();
  // "online" changes with time alone when a silent link is reaped (above,
  // dropLink marks it); "heartbeat_late" here. Not every view: a heartbeat
  // that changes nothing an operator sees renders nothing.
  liveLateHeartbeats();
  // No block view here: acked/pending move only with an endpoint's hello,
  // ack or nack, its link dropping (dropLink, a reaped one above too) or
  // its revocation, and each of those marks them itself.
  // The acks and heartbeats since the last tick are written without the
  // lock: after a fan-out that is every endpoint, and the links' acks of the
  // next one must not wait for 10,000 updates. Each write only raises what
  // is stored, so one racing a report's write of the same endpoint is safe.
  std::vector<EndpointLinkUpdate> batch = takeDirty();
  if (batch.empty()) return;
  lock.unlock();
  auto stored = store_->updateEndpointLinks(batch);
  lock.lock();
  afterDirtyWrite(batch, stored);
}

void ConsoleServiceImpl::pingAndReap() {
  const uint64_t now = clock_.nowNs();
  const auto silent = static_cast<uint64_t>(options_.offline_after.count());
  std::vector<uint64_t> reap;
  for (auto& [id, link] : links_) {
    if (now - link.last_in_ns >= silent) {
      reap.push_back(id);
      continue;
    }
    if (link.session->active() && now - link.last_ping_ns >= kPingEveryNs) {
      link.last_ping_ns = now;
      send(link, link.session->ping());
    }
  }
  for (uint64_t id : reap)
    dropLink(links_.find(id), kCloseNormal, "no message from the agent in time");
}

void ConsoleServiceImpl::flushDirty() {
  std::vector<EndpointLinkUpdate> batch = takeDirty();
  if (batch.empty()) return;
  afterDirtyWrite(batch, store_->updateEndpointLinks(batch));
}

std::vector<EndpointLinkUpdate> ConsoleServiceImpl::takeDirty() {
  // One batch (one transaction on SQLite): after a fan-out every link has
  // acknowledged, and a write each held the lock for as many transactions.
  std::vector<EndpointLinkUpdate> batch;
  batch.reserve(dirty_.size());
  for (const auto& [name, credential] : dirty_) {
    auto rec = records_.find(name);
    if (rec == records_.end()) continue;  // unknown: nothing to write (as flushReports)
    const EndpointRecord& r = rec->second;
    batch.push_back({name, credential,
                     EndpointLinkState{r.applied_version, r.last_report_seq, r.last_heartbeat_ms}});
  }
  dirty_.clear();
  return batch;
}

void ConsoleServiceImpl::afterDirtyWrite(const std::vector<EndpointLinkUpdate>& batch,
                                         const Result<std::vector<bool>>& stored) {
  if (!stored) {
    ++counters_.store_errors;
    // Tried again at the next tick (a newer change of one since wins).
    for (const EndpointLinkUpdate& u : batch) dirty_.emplace(u.name, u.credential_hash);
    return;
  }
  // Revoked or enrolled again on another console since: its link goes.
  for (size_t i = 0; i < batch.size(); ++i) {
    if (!(*stored)[i]) refuseStaleLink(batch[i].name, batch[i].credential_hash);
  }
}

}  // namespace sg::console
