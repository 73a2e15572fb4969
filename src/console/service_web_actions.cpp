// ConsoleService for the dashboard: acknowledgements, a block's detail, the
// policy preview, the audit search and the timeline (docs/dashboard.md).
#include <algorithm>

#include "console/service_impl.h"
#include "proto/field_reader.h"

namespace sg::console {

Result<void> ConsoleServiceImpl::restoreWeb() {
  uint64_t oldest = UINT64_MAX;
  for (const Flood& f : correlator_->history()) oldest = std::min(oldest, f.id);
  for (const Flood* f : correlator_->active()) oldest = std::min(oldest, f->id);
  if (oldest == UINT64_MAX) return Ok{};
  SG_READ(acks, store_->listFloodAcks(oldest));
  for (FloodAckRecord& a : *acks) acks_[a.flood_id] = std::move(a);
  SG_READ(incidents, store_->listIncidents());
  for (const IncidentRecord& i : *incidents) {
    if (i.flood_id >= oldest) flood_incidents_[i.flood_id].push_back(i.id);
  }
  return Ok{};
}

void ConsoleServiceImpl::reloadAck(uint64_t flood_id) {
  if (acks_.count(flood_id) != 0) return;  // the first one holds
  if (auto a = store_->getFloodAck(flood_id)) {
    acks_[flood_id] = *a;
    live_.floods.insert(flood_id);
  }
}

void ConsoleServiceImpl::reloadIncident(uint64_t id) {
  auto all = store_->listIncidents();
  if (!all) return;
  auto it =
      std::find_if(all->begin(), all->end(), [id](const IncidentRecord& i) { return i.id == id; });
  if (it == all->end()) return;
  std::vector<uint64_t>& ids = flood_incidents_[it->flood_id];
  if (std::find(ids.begin(), ids.end(), id) == ids.end()) {
    ids.push_back(id);
    live_.floods.insert(it->flood_id);  // its item lists its incidents
  }
  liveIncidents();
}

void ConsoleServiceImpl::reloadAudit(uint64_t id) {
  auto entries = store_->listAudit(id - 1, 1);
  if (entries && !entries->empty() && entries->front().id == id) liveAudit(entries->front());
}

void ConsoleServiceImpl::fillWebFields(FloodView& v) const {
  if (auto a = acks_.find(v.flood.id); a != acks_.end()) {
    v.acknowledged_by = a->second.by;
    v.acknowledged_at_ms = a->second.at_ms;
  }
  if (auto i = flood_incidents_.find(v.flood.id); i != flood_incidents_.end()) {
    v.incidents = i->second;
  }
}

Result<FloodAckRecord> ConsoleServiceImpl::acknowledge(const Actor& who, uint64_t flood_id,
                                                       const std::string& note) {
  SG_TRY(requireRole(who, Role::kOperator, "acknowledge"));
  std::lock_guard<std::mutex> lock(mu_);
  if (correlator_->find(flood_id) == nullptr) {
    SG_READ(stored, store_->getFlood(flood_id));  // kNotFound: no such flood
  }
  SG_READ(held, store_->acknowledgeFlood(FloodAckRecord{flood_id, who.name, wall_(), note}));
  const bool first = held->by == who.name && acks_.count(flood_id) == 0;
  acks_[flood_id] = *held;
  live_.floods.insert(flood_id);
  SG_TRY(auditLocked(who.name, "acknowledge", std::to_string(flood_id),
                     first ? note : "already acknowledged by " + held->by));
  return *held;
}

Result<BlockDetail> ConsoleServiceImpl::blockDetail(const Prefix& source) {
  std::lock_guard<std::mutex> lock(mu_);
  const std::string key = proto::prefixText(source);
  auto b = desired_->blocks().find(key);
  if (b == desired_->blocks().end()) return makeError(Errc::kNotFound, key + " is not blocked");
  const TimeBase base = timeBase();
  BlockDetail d;
  d.view.block = b->second;
  if (b->second.expires_at_ns) d.view.expires_at_ms = base.toWallMs(*b->second.expires_at_ns);
  auto added = block_added_ms_.find(key);
  d.view.added_at_ms = added == block_added_ms_.end() ? 0 : added->second;
  d.view.status = desired_->blockStatus(source);
  // The same classification as DesiredState::blockStatus, by name.
  const uint64_t v = b->second.version;
  for (const auto& [name, rec] : records_) {
    const EndpointState* ep = rec.revoked ? nullptr : desired_->endpoint(name);
    if (ep == nullptr) continue;
    auto r = ep->rejected.find("block_add " + key);
    if (r != ep->rejected.end() && r->second.second >= v) {
      d.rejected.emplace_back(name, r->second.first);
    } else if (ep->acked_version >= v) {
      d.applied.push_back(name);
    } else if (ep->connected) {
      d.pending.push_back(name);
    }
  }
  return d;
}

Result<PolicyPreview> ConsoleServiceImpl::previewPolicy(const std::string& name,
                                                        const std::optional<Policy>& policy) {
  std::lock_guard<std::mutex> lock(mu_);
  // A copy of the resolver with the change applied; the live one is untouched.
  PolicyResolver after = desired_->policies();
  if (policy) {
    Policy p = *policy;
    p.revision = desired_->version() + 1;  // as the next change would be numbered
    SG_TRY(after.set(std::move(p)));
  } else {
    after.remove(name);
  }
  PolicyPreview out;
  out.name = name;
  for (const auto& [ep_name, rec] : records_) {
    if (rec.revoked) continue;
    const proto::PolicyParams from = desired_->policies().resolve(ep_name, rec.labels);
    const proto::PolicyParams to = after.resolve(ep_name, rec.labels);
    if (from == to) {
      ++out.unchanged;
    } else {
      out.affected.push_back(PolicyPreview::Change{ep_name, from.name, to.name});
    }
  }
  return out;
}

Result<AuditPage> ConsoleServiceImpl::auditPage(const AuditQuery& query) {
  std::lock_guard<std::mutex> lock(mu_);
  return store_->searchAudit(query);
}

Result<TimelineView> ConsoleServiceImpl::timeline(const std::string& endpoint) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!endpoint.empty() && records_.count(endpoint) == 0) {
    return makeError(Errc::kNotFound, "no endpoint '" + endpoint + "'");
  }
  const int64_t now = wall_();
  TimelineView out;
  out.endpoint = endpoint;
  out.points = timeline_.points(endpoint, now);
  out.marks = timeline_.marks(endpoint, now);
  std::stable_sort(out.marks.begin(), out.marks.end(),
                   [](const TimelineMark& a, const TimelineMark& b) { return a.at_ms < b.at_ms; });
  return out;
}

}  // namespace sg::console
