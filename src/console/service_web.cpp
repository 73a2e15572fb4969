// ConsoleService for the dashboard (docs/dashboard.md): sessions' token
// checks, and the live stream's changes. Mutation points only mark what
// changed (liveFlood, liveEndpoints, liveDesired, liveAudit, ...: mu_ held,
// cheap); takeLiveEvents() then renders, outside the lock, the changed
// floods and audit entries and every endpoint, block, policy and incident
// whose JSON differs from what it last sent, so each object is one event
// however often it changed.
#include <algorithm>
#include <type_traits>

#include "console/api_json.h"
#include "console/service_impl.h"
#include "pki/token.h"
#include "proto/field_reader.h"

namespace sg::console {

namespace {

using nlohmann::json;

constexpr uint64_t kRateEveryNs = 1'000'000'000;

Error unauthenticated(const std::string& why) { return makeError(Errc::kUnauthenticated, why); }

// An endpoint's item and the text it is compared by: without its rate (the
// `rate` event carries that) and, while it is online and on time, without
// its last-heartbeat time (each heartbeat moves it; the page shows "on
// time"). A late or offline endpoint's time no longer moves.
std::pair<std::string, std::string> endpointTexts(const EndpointView& v) {
  json j = api::endpointJson(v);
  std::string text = api::dumpJson(j);
  j.erase("attempts_per_s");
  if (v.online && !v.heartbeat_late) j.erase("last_heartbeat");
  return {std::move(text), api::dumpJson(j)};
}

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
  const Flood* f = correlator_->find(id);
  if (f == nullptr) {
    live_.endpoints = true;  // their state follows the floods: which, unknown here
    return;
  }
  // Only the flood's endpoints' state ("blocking", "detecting") follows it.
  for (const auto& [name, s] : f->endpoints) liveEndpoint(name);
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

bool ConsoleServiceImpl::heartbeatLate(const Link& link, uint64_t now_ns) const {
  return link.session->active() && link.heartbeat_ns != 0 &&
         now_ns - link.heartbeat_ns >= static_cast<uint64_t>(options_.heartbeat_late_after.count());
}

void ConsoleServiceImpl::liveHeartbeat(Link& link, const proto::Heartbeat& hb) {
  const std::string& endpoint = link.session->endpoint();
  Liveness& live = liveness_[endpoint];
  // Its time alone is no change: the view shows an online endpoint's
  // heartbeat as on time until the tick finds it late.
  if (link.heartbeat_late || live.active_blocks != hb.active_blocks) liveEndpoint(endpoint);
  live.active_blocks = hb.active_blocks;
  link.heartbeat_ns = clock_.nowNs();
  link.heartbeat_late = false;
  auto counter = [&hb](const char* name) {
    auto it = hb.counters.find(name);
    return it == hb.counters.end() ? uint64_t{0} : it->second;
  };
  auto rate = timeline_.heartbeat(endpoint, wall_(), hb.agent_time_ns, counter("attempts_total"),
                                  counter("dropped_total"));
  if (rate) rate_pending_[endpoint] = *rate;
}

void ConsoleServiceImpl::liveLateHeartbeats() {
  const uint64_t now = clock_.nowNs();
  for (auto& [id, link] : links_) {
    const bool late = heartbeatLate(link, now);
    if (late == link.heartbeat_late) continue;
    link.heartbeat_late = late;
    liveEndpoint(link.session->endpoint());
  }
}

json ConsoleServiceImpl::takeRateEvent() {
  const uint64_t now = clock_.nowNs();
  if (rate_pending_.empty() ||
      (live_last_rate_ns_ != 0 && now - live_last_rate_ns_ < kRateEveryNs)) {
    return nullptr;
  }
  live_last_rate_ns_ = now;
  RatePoint fleet;
  for (const auto& [name, rec] : records_) {
    if (auto r = timeline_.latest(name); r && !rec.revoked) {
      fleet.attempts_per_s += r->attempts_per_s;
      fleet.dropped_per_s += r->dropped_per_s;
    }
  }
  // The endpoints whose rate changed since they were last named, in turn by
  // name from where the last event stopped, up to live_rate_bytes (at least
  // one); the others wait, in their newest rate.
  std::vector<std::string> order;
  const auto from = rate_pending_.upper_bound(rate_cursor_);
  for (auto it = from; it != rate_pending_.end(); ++it) order.push_back(it->first);
  for (auto it = rate_pending_.begin(); it != from; ++it) order.push_back(it->first);
  json eps = json::object();
  size_t bytes = 0;
  for (const std::string& name : order) {
    auto it = rate_pending_.find(name);
    const RatePoint r = it->second;
    auto sent = rate_sent_.find(name);
    if (sent == rate_sent_.end() || sent->second.attempts_per_s != r.attempts_per_s ||
        sent->second.dropped_per_s != r.dropped_per_s) {
      json item = rateJson(r);
      const size_t size = name.size() + api::dumpJson(item).size() + 4;  // "name":{...},
      if (!eps.empty() && bytes + size > options_.live_rate_bytes) break;
      bytes += size;
      eps[name] = std::move(item);
      rate_sent_[name] = r;
      rate_cursor_ = name;
    }
    rate_pending_.erase(it);
  }
  return json{{"at", api::rfc3339Ms(wall_())}, {"fleet", rateJson(fleet)}, {"endpoints", eps}};
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

// Endpoint views: every one diffed (dirty.endpoints: removals too), or
// only those an agent's own messages touched and those a pump before had no
// room for. What changed goes out as one `endpoints` event of at most
// live_endpoint_bytes, round robin by name from where the last one stopped;
// the rest waits in the backlog and is rendered again (newest state, still
// one item per endpoint) at the next pump, a chunk at a time until the
// event is full. So a fan-out's 10,000 acks reach the page as a few dozen
// events at a rate its stream can take.
void ConsoleServiceImpl::liveEndpointEvents(LiveDirty& dirty, bool prime,
                                            std::vector<LiveEvent>& out) {
  constexpr size_t kChunk = 256;  // views rendered per lock of mu_
  std::map<std::string, std::string>& sent = live_sent_.endpoints;
  std::set<std::string>& backlog = live_sent_.endpoint_backlog;
  std::string items;
  bool full = false;
  auto offer = [&](const std::string& name, std::pair<std::string, std::string> texts) {
    auto& [text, compare] = texts;
    auto it = sent.find(name);
    if (prime) {
      sent[name] = std::move(compare);
    } else if (it == sent.end() || it->second != compare) {
      full = full || (!items.empty() && items.size() + text.size() > options_.live_endpoint_bytes);
      if (full) {
        backlog.insert(name);
        return;
      }
      items += (items.empty() ? "" : ",") + text;
      live_sent_.endpoint_cursor = name;
      sent[name] = std::move(compare);
    }
  };
  // Names from the cursor on, then from the start.
  auto roundRobin = [this](const auto& by_name) {
    std::vector<typename std::decay_t<decltype(by_name)>::const_iterator> order;
    const auto from = by_name.upper_bound(live_sent_.endpoint_cursor);
    for (auto it = from; it != by_name.end(); ++it) order.push_back(it);
    for (auto it = by_name.begin(); it != from; ++it) order.push_back(it);
    return order;
  };
  if (dirty.endpoints) {
    auto all = endpoints();
    if (!all) return;  // the backlog and the stale marks stay for the next pump
    counters_.live_endpoint_views += all->size();
    std::map<std::string, std::pair<std::string, std::string>> now;
    for (const auto& e : *all) now[e.name] = endpointTexts(e);
    for (auto it = sent.begin(); it != sent.end();) {
      if (now.count(it->first) != 0) {
        ++it;
        continue;
      }
      if (!prime)
        out.push_back(LiveEvent{"endpoint_removed", api::dumpJson({{"name", it->first}})});
      it = sent.erase(it);
    }
    backlog.clear();
    for (auto it : roundRobin(now)) offer(it->first, std::move(it->second));
  } else {
    std::set<std::string> names = std::move(dirty.endpoint_names);
    names.insert(backlog.begin(), backlog.end());
    backlog.clear();
    const auto order = roundRobin(names);
    for (size_t i = 0; i < order.size(); i += kChunk) {
      const size_t end = std::min(order.size(), i + kChunk);
      if (full) {  // not rendered: still waiting
        for (size_t k = i; k < end; ++k) backlog.insert(*order[k]);
        continue;
      }
      std::set<std::string> chunk;
      for (size_t k = i; k < end; ++k) chunk.insert(*order[k]);
      std::vector<EndpointView> views;
      {
        std::lock_guard<std::mutex> lock(mu_);
        views = endpointViews(&chunk);
      }
      counters_.live_endpoint_views += views.size();
      std::map<std::string, const EndpointView*> by_name;  // offered in turn, not by name
      for (const auto& e : views) by_name[e.name] = &e;
      for (size_t k = i; k < end; ++k) {
        if (auto e = by_name.find(*order[k]); e != by_name.end()) {
          offer(e->first, endpointTexts(*e->second));
        }
      }
    }
  }
  if (!items.empty()) out.push_back(LiveEvent{"endpoints", "{\"items\":[" + items + "]}"});
}

std::vector<LiveEvent> ConsoleServiceImpl::takeLiveEvents(bool watched) {
  LiveDirty dirty;
  json rate;
  {
    std::lock_guard<std::mutex> lock(mu_);
    rate = takeRateEvent();
    dirty = std::move(live_);
    live_ = LiveDirty{};
  }
  std::lock_guard<std::mutex> sent_lock(live_sent_mu_);
  const bool prime = !live_sent_.primed;
  if (prime) dirty.endpoints = dirty.blocks = dirty.policies = dirty.incidents = true;
  const bool render = watched || prime;
  if (!render) {
    // Nobody to send them to: a fan-out's acks would rebuild a view per
    // agent and render its acked blocks. What changed is diffed in full
    // at the next watched call.
    live_sent_.endpoints_stale |=
        dirty.endpoints || !dirty.endpoint_names.empty() || !live_sent_.endpoint_backlog.empty();
    live_sent_.blocks_stale |= dirty.blocks || dirty.blocks_after < dirty.blocks_upto;
    dirty.blocks = false;
    dirty.blocks_upto = 0;
  } else {
    dirty.endpoints |= std::exchange(live_sent_.endpoints_stale, false);
    dirty.blocks |= std::exchange(live_sent_.blocks_stale, false);
  }
  std::vector<LiveEvent> out;
  for (uint64_t id : dirty.floods) {
    if (auto f = flood(id)) out.push_back(LiveEvent{"flood", api::dumpJson(api::floodJson(*f))});
  }
  if (render) liveEndpointEvents(dirty, prime, out);
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
