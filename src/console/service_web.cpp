// ConsoleService for the dashboard (docs/dashboard.md): sessions' token
// checks, and the live stream's changes. Mutation points only mark what
// changed (liveFlood, liveEndpoints, liveDesired, liveAudit, ...: mu_ held,
// cheap); takeLiveEvents() then renders, outside the lock, the changed
// floods and audit entries and every endpoint, block, policy and incident
// whose JSON differs from what it last sent, so each object is one event
// however often it changed.
#include "console/api_json.h"
#include "console/service_impl.h"
#include "pki/token.h"
#include "proto/field_reader.h"

namespace sg::console {

namespace {

using nlohmann::json;

constexpr uint64_t kRateEveryNs = 1'000'000'000;

Error unauthenticated(const std::string& why) { return makeError(Errc::kUnauthenticated, why); }

json rateJson(const RatePoint& r) {
  return json{{"attempts_per_s", r.attempts_per_s}, {"dropped_per_s", r.dropped_per_s}};
}

// Diffs `now` (key -> JSON text) against `sent`: an event for each new or
// changed one, a removal event for each gone one; `sent` becomes `now`.
// `compare` (optional) gives the text to compare instead, for objects with
// a field that wobbles without changing (a block's expiry, converted from
// the console's clock at each render).
template <typename Key, typename KeyJson>
void diffInto(std::map<Key, std::string>& sent, std::map<Key, std::string> now, bool emit,
              const char* type, const char* removed, KeyJson key_json, std::vector<LiveEvent>& out,
              const std::map<Key, std::string>* compare = nullptr) {
  std::map<Key, std::string> next;
  for (auto& [k, text] : now) {
    const std::string& same = compare != nullptr ? compare->at(k) : text;
    auto it = sent.find(k);
    if (emit && (it == sent.end() || it->second != same)) out.push_back(LiveEvent{type, text});
    next[k] = same;
  }
  if (emit) {
    for (const auto& [k, text] : sent) {
      if (now.count(k) == 0) out.push_back(LiveEvent{removed, api::dumpJson(key_json(k))});
    }
  }
  sent = std::move(next);
}

}  // namespace

Result<TokenIdentity> ConsoleServiceImpl::authenticateToken(const std::string& text) {
  auto token = pki::parseToken(text);
  if (!token || token->kind != pki::TokenKind::kApi) {
    ++counters_.auth_failures;
    return unauthenticated("not an API token");
  }
  const std::string hash = pki::secretHash(token->secret);
  auto who = actorOfTokenHash(hash);
  if (!who) return who.error();
  return TokenIdentity{*who, hash};
}

Result<Actor> ConsoleServiceImpl::actorOfTokenHash(const std::string& hash) {
  std::lock_guard<std::mutex> lock(mu_);
  auto record = store_->findApiToken(hash);
  if (!record) {
    ++counters_.auth_failures;
    if (record.error().code() == Errc::kNotFound) return unauthenticated("unknown API token");
    return record.error();
  }
  if (!pki::constantTimeEqual(record->token_hash, hash) || record->revoked) {
    ++counters_.auth_failures;
    return unauthenticated("unknown API token");
  }
  return Actor{record->name, record->role};
}

// ---- marks (mu_ held)

void ConsoleServiceImpl::liveFlood(uint64_t id) {
  live_.floods.insert(id);
  live_.endpoints = true;  // their state follows the floods
  const Flood* f = correlator_->find(id);
  if (f == nullptr) return;
  const TimeBase base = timeBase();
  const std::string source = proto::prefixText(f->source);
  auto seen = flood_marks_.find(id);
  if (f->active && seen == flood_marks_.end()) {
    // Marks at the real times: the detection (the earliest crossing of the
    // first report that named the flood: each sighting's newest event is its
    // first then) and, apart, the estimated attack start (earliest first
    // attempt: up to a window before the detection).
    std::string names;
    uint64_t detected = f->last_seen_ns;
    for (const auto& [name, s] : f->endpoints) {
      names += (names.empty() ? "" : ", ") + name;
      if (s.attempts) detected = std::min(detected, s.last_detected_ns);
    }
    if (f->started_ns < detected) {
      timeline_.mark(
          TimelineMark{base.toWallMs(f->started_ns), "start", source + " estimated start", id, ""});
    }
    timeline_.mark(TimelineMark{base.toWallMs(detected), "detect",
                                source + (names.empty() ? "" : " on " + names), id, ""});
    seen = flood_marks_.emplace(id, FloodMarks{}).first;
  }
  if (seen == flood_marks_.end()) return;
  for (const auto& [name, s] : f->endpoints) {
    // A sighting whose action is BLOCK: its newest event is that block.
    if (s.action == EndpointAction::kBlocked && seen->second.blocked.insert(name).second) {
      timeline_.mark(TimelineMark{base.toWallMs(s.last_detected_ns), "block",
                                  source + " blocked on " + name, id, name});
    }
  }
  if (!f->active) {
    timeline_.mark(TimelineMark{base.toWallMs(f->ended_ns), "end", source + " ended", id, ""});
    flood_marks_.erase(seen);
  }
}

void ConsoleServiceImpl::liveDesired() {
  live_.endpoints = true;
  live_.blocks = true;
  live_.policies = true;
}

void ConsoleServiceImpl::liveHeartbeat(const std::string& endpoint, const proto::Heartbeat& hb) {
  liveEndpoint(endpoint);
  auto counter = [&hb](const char* name) {
    auto it = hb.counters.find(name);
    return it == hb.counters.end() ? uint64_t{0} : it->second;
  };
  auto rate = timeline_.heartbeat(endpoint, wall_(), hb.agent_time_ns, counter("attempts_total"),
                                  counter("dropped_total"));
  if (rate) live_.rates[endpoint] = *rate;
}

void ConsoleServiceImpl::liveBlockVersions(uint64_t after, uint64_t upto) {
  if (after >= upto) return;
  live_.blocks_after = std::min(live_.blocks_after, after);
  live_.blocks_upto = std::max(live_.blocks_upto, upto);
}

uint64_t ConsoleServiceImpl::ackedVersion(const std::string& endpoint) const {
  const EndpointState* ep = desired_->endpoint(endpoint);
  return ep == nullptr ? 0 : ep->acked_version;
}

void ConsoleServiceImpl::liveAudit(const AuditRecord& entry) {
  live_.audit.push_back(entry);
  if (entry.actor == "console" || entry.actor.rfind("agent:", 0) == 0) return;
  timeline_.mark(TimelineMark{
      entry.at_ms, "action",
      entry.actor + ": " + entry.action + (entry.target.empty() ? "" : " " + entry.target),
      std::nullopt, ""});
}

std::map<std::string, std::string> ConsoleServiceImpl::floodRoles() const {
  std::map<std::string, std::string> roles;
  for (const Flood* f : correlator_->active()) {
    for (const auto& [name, s] : f->endpoints) {
      std::string& role = roles[name];
      if (s.action == EndpointAction::kBlocked) {
        role = "blocking";
      } else if (role.empty()) {
        role = "detecting";
      }
    }
  }
  return roles;
}

void ConsoleServiceImpl::fillWebFields(EndpointView& v,
                                       const std::map<std::string, std::string>& roles) const {
  if (auto r = timeline_.latest(v.name)) v.attempts_per_s = r->attempts_per_s;
  if (!v.online) {
    v.state = "offline";
  } else if (v.isolated) {
    v.state = "isolated";
  } else if (auto it = roles.find(v.name); it != roles.end()) {
    v.state = it->second;
  } else {
    v.state = "quiet";
  }
}

// ---- rendering

std::vector<LiveEvent> ConsoleServiceImpl::takeLiveEvents(bool watched) {
  LiveDirty dirty;
  json rate;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const uint64_t now = clock_.nowNs();
    const bool rate_due = !live_.rates.empty() &&
                          (live_last_rate_ns_ == 0 || now - live_last_rate_ns_ >= kRateEveryNs);
    std::map<std::string, RatePoint> rates = std::move(live_.rates);
    if (rate_due) {
      RatePoint fleet;
      json eps = json::object();
      for (const auto& [name, r] : rates) eps[name] = rateJson(r);
      for (const auto& [name, rec] : records_) {
        if (auto r = timeline_.latest(name); r && !rec.revoked) {
          fleet.attempts_per_s += r->attempts_per_s;
          fleet.dropped_per_s += r->dropped_per_s;
        }
      }
      rate = json{{"at", api::rfc3339Ms(wall_())}, {"fleet", rateJson(fleet)}, {"endpoints", eps}};
      live_last_rate_ns_ = now;
      rates.clear();
    }
    dirty = std::move(live_);
    live_ = LiveDirty{};
    live_.rates = std::move(rates);  // not due yet: kept for the next rate event
  }
  std::lock_guard<std::mutex> sent_lock(live_sent_mu_);
  const bool prime = !live_sent_.primed;
  if (prime) dirty.endpoints = dirty.blocks = dirty.policies = dirty.incidents = true;
  if (!watched && !prime) {
    // Nobody to send them to: a fan-out's acks would rebuild a view per
    // agent. What changed is diffed in full at the next watched call.
    live_sent_.endpoints_stale |= dirty.endpoints || !dirty.endpoint_names.empty();
    dirty.endpoints = false;
    dirty.endpoint_names.clear();
    live_sent_.blocks_stale |= dirty.blocks || dirty.blocks_after < dirty.blocks_upto;
    dirty.blocks = false;
    dirty.blocks_upto = 0;
  } else if (watched) {
    dirty.endpoints |= std::exchange(live_sent_.endpoints_stale, false);
    dirty.blocks |= std::exchange(live_sent_.blocks_stale, false);
  }
  // The views an agent's own messages touched, built under the lock; only
  // those: 10,000 acks of a fan-out must not rebuild 10,000 views each pump.
  std::vector<EndpointView> named;
  if (!dirty.endpoints && !dirty.endpoint_names.empty()) {
    std::lock_guard<std::mutex> lock(mu_);
    named = endpointViews(&dirty.endpoint_names);
  }
  std::vector<LiveEvent> out;
  for (uint64_t id : dirty.floods) {
    if (auto f = flood(id)) out.push_back(LiveEvent{"flood", api::dumpJson(api::floodJson(*f))});
  }
  if (dirty.endpoints) {
    if (auto all = endpoints()) {
      std::map<std::string, std::string> now;
      for (const auto& e : *all) now[e.name] = api::dumpJson(api::endpointJson(e));
      diffInto(
          live_sent_.endpoints, std::move(now), !prime, "endpoint", "endpoint_removed",
          [](const std::string& k) {
            return json{{"name", k}};
          },
          out);
    }
  } else if (!dirty.endpoint_names.empty()) {
    // Only the named ones are rendered (an agent's own messages touch only it).
    for (const auto& e : named) {
      std::string text = api::dumpJson(api::endpointJson(e));
      std::string& sent = live_sent_.endpoints[e.name];
      if (sent != text) out.push_back(LiveEvent{"endpoint", text});
      sent = std::move(text);
    }
  }
  if (dirty.blocks || dirty.blocks_after < dirty.blocks_upto) {
    // All of them diffed, or only those whose status an ack moved (a
    // fan-out's acks must not render every block each pump).
    std::optional<std::pair<uint64_t, uint64_t>> versions;
    if (!dirty.blocks) versions.emplace(dirty.blocks_after, dirty.blocks_upto);
    std::map<std::string, std::string> now;
    std::map<std::string, std::string> compare;  // without expires_at's wobble
    const std::vector<BlockView> views = blockViews(versions);
    counters_.live_block_views += views.size();
    for (const auto& b : views) {
      const std::string key = proto::prefixText(b.block.source);
      json j = api::blockJson(b);
      now[key] = api::dumpJson(j);
      j.erase("expires_at");
      j["ttl"] = b.block.expires_at_ns ? json(true) : json(false);
      compare[key] = api::dumpJson(j);
    }
    if (!versions) {
      diffInto(
          live_sent_.blocks, std::move(now), !prime, "block", "block_removed",
          [](const std::string& k) {
            return json{{"source", k}};
          },
          out, &compare);
    } else {
      for (auto& [key, text] : now) {
        std::string& sent = live_sent_.blocks[key];
        if (sent != compare[key]) out.push_back(LiveEvent{"block", std::move(text)});
        sent = std::move(compare[key]);
      }
    }
  }
  if (dirty.policies) {
    if (auto all = policies()) {
      std::map<std::string, std::string> now;
      for (const auto& p : *all) now[p.name] = api::dumpJson(api::policyJson(p));
      diffInto(
          live_sent_.policies, std::move(now), !prime, "policy", "policy_removed",
          [](const std::string& k) {
            return json{{"name", k}};
          },
          out);
    }
  }
  if (dirty.incidents) {
    if (auto all = incidents()) {
      std::map<uint64_t, std::string> now;
      for (const auto& i : *all) now[i.id] = api::dumpJson(api::incidentJson(i));
      diffInto(
          live_sent_.incidents, std::move(now), !prime, "incident", "incident_removed",
          [](uint64_t k) {
            return json{{"id", k}};
          },
          out);
    }
  }
  live_sent_.primed = true;
  for (const AuditRecord& a : dirty.audit) {
    out.push_back(LiveEvent{"audit", api::dumpJson(api::auditJson(a))});
  }
  if (!dirty.port_floods.empty()) renderPortFloods(dirty.port_floods, out);
  if (!rate.is_null()) out.push_back(LiveEvent{"rate", api::dumpJson(rate)});
  return out;
}

}  // namespace sg::console
