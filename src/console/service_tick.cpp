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
  std::lock_guard<std::mutex> lock(mu_);
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
  flushDirty();
  liveEndpoints();  // "online" also changes with time alone
  liveBlocks();     // acked/pending counts follow the endpoints' acks: once a second
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
  for (uint64_t id : reap) dropLink(links_.find(id));
}

void ConsoleServiceImpl::flushDirty() {
  std::vector<std::pair<std::string, std::string>> stale;
  for (auto it = dirty_.begin(); it != dirty_.end();) {
    auto stored = storeLinkState(it->first, it->second);
    if (!stored) {
      ++counters_.store_errors;
      ++it;  // tried again at the next tick
      continue;
    }
    if (!*stored) stale.emplace_back(it->first, it->second);
    it = dirty_.erase(it);
  }
  // Revoked or enrolled again on another console since: its link goes.
  for (const auto& [name, credential] : stale) refuseStaleLink(name, credential);
}

}  // namespace sg::console
