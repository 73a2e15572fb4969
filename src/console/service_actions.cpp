// ConsoleService: the operator actions. Each one: role check, the change in
// the logic, the store written (state, desired-state version, audit entry),
// then the fan-out to the connected agents. Idempotent: repeating an action
// changes nothing and returns the version that holds it (it is audited again:
// the log records who asked).
//
// The new desired-state version is stored before the change itself: a
// console killed between the two comes back at the new version without the
// change (which it never confirmed nor sent), so every agent behind that
// version gets a snapshot. The other order would restore the change at the
// old version, which agents at the old version would never be sent.
#include <chrono>

#include "console/service_impl.h"
#include "proto/field_reader.h"

namespace sg::console {

namespace {

std::string ttlText(const std::optional<Nanos>& ttl) {
  if (!ttl) return "permanent";
  return "ttl " +
         std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(*ttl).count()) + "ms";
}

std::string selectorText(const Labels& labels) {
  std::string out;
  for (const auto& [k, v] : labels) out += (out.empty() ? "" : ",") + k + "=" + v;
  return out;
}

}  // namespace

Result<uint64_t> ConsoleServiceImpl::block(const Actor& who, const Prefix& source,
                                           std::optional<Nanos> ttl, const std::string& reason) {
  SG_TRY(requireRole(who, Role::kOperator, "block"));
  std::lock_guard<std::mutex> lock(mu_);
  const uint64_t before = desired_->version();
  SG_READ(v, desired_->addBlock(source, ttl, who.name, reason));
  const std::string key = proto::prefixText(source);
  if (desired_->version() != before) {
    const TimeBase base = timeBase();
    block_added_ms_[key] = base.wall_ms;
    SG_TRY(saveVersion());
    SG_TRY(saveBlock(desired_->blocks().at(key), base));
  }
  SG_TRY(auditLocked(who.name, "block", key, ttlText(ttl) + (reason.empty() ? "" : "; " + reason)));
  fanOut();
  return *v;
}

Result<uint64_t> ConsoleServiceImpl::unblock(const Actor& who, const Prefix& source) {
  SG_TRY(requireRole(who, Role::kOperator, "unblock"));
  std::lock_guard<std::mutex> lock(mu_);
  const uint64_t before = desired_->version();
  SG_READ(v, desired_->removeBlock(source));
  const std::string key = proto::prefixText(source);
  if (desired_->version() != before) {
    block_added_ms_.erase(key);
    SG_TRY(saveVersion());
    SG_READ(gone, store_->deleteBlock(key));
  }
  SG_TRY(auditLocked(who.name, "unblock", key, ""));
  fanOut();
  return *v;
}

Error ConsoleServiceImpl::goneElsewhere(const std::string& endpoint) {
  if (auto r = store_->getEndpoint(endpoint)) reloadEndpoint(*r);
  return makeError(Errc::kNotFound, "no endpoint '" + endpoint + "' (revoked)");
}

Result<uint64_t> ConsoleServiceImpl::isolate(const Actor& who, const std::string& endpoint,
                                             const std::string& reason) {
  SG_TRY(requireRole(who, Role::kOperator, "isolate"));
  std::lock_guard<std::mutex> lock(mu_);
  auto rec = records_.find(endpoint);
  if (rec == records_.end() || rec->second.revoked) {
    return makeError(Errc::kNotFound, "no endpoint '" + endpoint + "'");
  }
  const uint64_t before = desired_->version();
  SG_READ(v, desired_->isolate(endpoint, {}));
  if (desired_->version() != before || !rec->second.isolated) {
    rec->second.isolated = true;
    rec->second.allowed_peers.clear();
    SG_TRY(saveVersion());
    SG_READ(found, store_->setEndpointIsolation(endpoint, true, {}));
    if (!*found) return goneElsewhere(endpoint);
  }
  SG_TRY(auditLocked(who.name, "isolate", endpoint, reason));
  fanOut();
  return *v;
}

Result<uint64_t> ConsoleServiceImpl::release(const Actor& who, const std::string& endpoint) {
  SG_TRY(requireRole(who, Role::kOperator, "release"));
  std::lock_guard<std::mutex> lock(mu_);
  auto rec = records_.find(endpoint);
  if (rec == records_.end() || rec->second.revoked) {
    return makeError(Errc::kNotFound, "no endpoint '" + endpoint + "'");
  }
  const uint64_t before = desired_->version();
  SG_READ(v, desired_->release(endpoint));
  if (desired_->version() != before || rec->second.isolated) {
    rec->second.isolated = false;
    rec->second.allowed_peers.clear();
    SG_TRY(saveVersion());
    SG_READ(found, store_->setEndpointIsolation(endpoint, false, {}));
    if (!*found) return goneElsewhere(endpoint);
  }
  SG_TRY(auditLocked(who.name, "release", endpoint, ""));
  fanOut();
  return *v;
}

Result<uint64_t> ConsoleServiceImpl::setPolicy(const Actor& who, Policy policy) {
  SG_TRY(requireRole(who, Role::kAdmin, "policy set"));
  std::lock_guard<std::mutex> lock(mu_);
  const std::string name = policy.name;
  const std::string details = "selector " + selectorText(policy.selector) + "; threshold " +
                              std::to_string(policy.profile.threshold) + ", window " +
                              std::to_string(policy.profile.window_ms) + "ms, block " +
                              std::to_string(policy.profile.block_duration_ms) + "ms";
  const uint64_t before = desired_->version();
  SG_READ(v, desired_->setPolicy(std::move(policy)));
  if (desired_->version() != before) {
    SG_TRY(saveVersion());
    SG_TRY(store_->putPolicy(*desired_->policies().find(name)));
  }
  SG_TRY(auditLocked(who.name, "policy_set", name, details));
  fanOut();
  return *v;
}

Result<uint64_t> ConsoleServiceImpl::deletePolicy(const Actor& who, const std::string& name) {
  SG_TRY(requireRole(who, Role::kAdmin, "policy delete"));
  std::lock_guard<std::mutex> lock(mu_);
  const uint64_t before = desired_->version();
  SG_READ(v, desired_->deletePolicy(name));
  if (desired_->version() != before) {
    SG_TRY(saveVersion());
    SG_READ(gone, store_->deletePolicy(name));
  }
  SG_TRY(auditLocked(who.name, "policy_delete", name, ""));
  fanOut();
  return *v;
}

Result<uint64_t> ConsoleServiceImpl::escalate(const Actor& who, uint64_t flood_id,
                                              const std::string& note) {
  SG_TRY(requireRole(who, Role::kOperator, "escalate"));
  std::optional<IncidentRecord> opened;
  SG_READ(id, escalateLocked(who, flood_id, note, opened));
  if (opened && incident_hook_) incident_hook_(*opened);
  return *id;
}

Result<uint64_t> ConsoleServiceImpl::escalateLocked(const Actor& who, uint64_t flood_id,
                                                    const std::string& note,
                                                    std::optional<IncidentRecord>& opened) {
  std::lock_guard<std::mutex> lock(mu_);
  if (correlator_->find(flood_id) == nullptr) {
    SG_READ(stored, store_->getFlood(flood_id));  // kNotFound: no such flood
  }
  SG_READ(existing, store_->listIncidents());
  for (const IncidentRecord& i : *existing) {
    if (i.flood_id == flood_id) {
      SG_TRY(auditLocked(who.name, "escalate", std::to_string(flood_id),
                         "incident " + std::to_string(i.id) + " already open"));
      return i.id;
    }
  }
  IncidentRecord inc;
  inc.flood_id = flood_id;
  inc.note = note;
  inc.created_by = who.name;
  inc.created_at_ms = wall_();
  inc.webhook_status = "pending";
  SG_READ(id, store_->putIncident(inc));
  SG_TRY(auditLocked(who.name, "escalate", std::to_string(flood_id),
                     "incident " + std::to_string(*id) + (note.empty() ? "" : "; " + note)));
  inc.id = *id;
  flood_incidents_[flood_id].push_back(inc.id);
  liveIncidents();
  liveFlood(flood_id);
  opened = std::move(inc);
  return *id;
}

Result<void> ConsoleServiceImpl::recordWebhook(uint64_t incident_id, const std::string& status) {
  std::lock_guard<std::mutex> lock(mu_);
  SG_READ(all, store_->listIncidents());
  for (IncidentRecord& i : *all) {
    if (i.id != incident_id) continue;
    i.webhook_status = status;
    SG_READ(stored, store_->putIncident(i));
    liveIncidents();
    return auditLocked("console", "webhook", std::to_string(incident_id), status);
  }
  return makeError(Errc::kNotFound, "no incident " + std::to_string(incident_id));
}

Result<void> ConsoleServiceImpl::revokeEndpoint(const Actor& who, const std::string& endpoint) {
  SG_TRY(requireRole(who, Role::kAdmin, "endpoint revoke"));
  std::lock_guard<std::mutex> lock(mu_);
  auto rec = records_.find(endpoint);
  if (rec == records_.end()) return makeError(Errc::kNotFound, "no endpoint '" + endpoint + "'");
  if (!rec->second.revoked) {
    rec->second.revoked = true;
    SG_READ(found, store_->revokeEndpoint(endpoint));
    dirty_.erase(endpoint);
    updateFleetSize();
    liveEndpoint(endpoint);
  }
  // Its link closes now; its certificate opens none again.
  if (auto l = link_of_.find(endpoint); l != link_of_.end()) {
    dropLink(links_.find(l->second), kClosePolicy, "endpoint revoked");
  }
  desired_->removeEndpoint(endpoint);  // after its session went: it no longer counts
  liveBlocks();  // its acks leave the blocks' counts (with no link, dropLink did not mark them)
  SG_TRY(auditLocked(who.name, "endpoint_revoke", endpoint, ""));
  return Ok{};
}

}  // namespace sg::console
