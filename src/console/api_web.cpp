// The REST routes the dashboard added (docs/dashboard.md "New and extended
// routes"): searchable, paged audit and incidents; acknowledging a flood; a
// block's per-endpoint detail; the policy preview; the rate timeline.
#include <algorithm>
#include <cctype>

#include "console/api_body.h"
#include "console/api_json.h"
#include "console/api_route.h"
#include "proto/field_reader.h"

namespace sg::console::api {

namespace {

using net::HttpRequest;
using nlohmann::json;

constexpr size_t kMaxQueryText = 256;

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// q, after | before, limit (docs/dashboard.md).
struct Paging {
  std::string q;
  uint64_t after = 0;
  std::optional<uint64_t> before;
  size_t limit = kDefaultPageLimit;
};

Result<Paging> parsePaging(const HttpRequest& req) {
  SG_READ(q, parseQuery(req.query, {"after", "before", "limit", "q"}));
  Paging p;
  if (auto it = q->find("after"); it != q->end()) {
    SG_READ(a, parseUint(it->second, "after", UINT64_MAX));
    p.after = *a;
  }
  if (auto it = q->find("before"); it != q->end()) {
    if (q->count("after") != 0) {
      return makeError(Errc::kInvalidArgument, "before: not with after");
    }
    SG_READ(b, parseUint(it->second, "before", UINT64_MAX));
    p.before = *b;
  }
  if (auto it = q->find("limit"); it != q->end()) {
    SG_READ(l, parseUint(it->second, "limit", kMaxPageLimit));
    if (*l == 0) return makeError(Errc::kInvalidArgument, "limit: must be at least 1");
    p.limit = *l;
  }
  if (auto it = q->find("q"); it != q->end()) {
    if (it->second.size() > kMaxQueryText) {
      return makeError(Errc::kInvalidArgument, "q: over 256 bytes");
    }
    p.q = it->second;
  }
  return p;
}

json pageJson(const char* kind, uint64_t version, json items, bool more) {
  json out = listJson(kind, version, std::move(items));
  out["more"] = more;
  return out;
}

Result<json> listAudit(ConsoleService& s, const Actor&, const HttpRequest& req) {
  SG_READ(p, parsePaging(req));
  const uint64_t v = s.resourceVersion();
  SG_READ(page, s.auditPage(AuditQuery{p->q, p->after, p->before, p->limit}));
  json items = json::array();
  for (const auto& a : page->items) items.push_back(auditJson(a));
  return pageJson("AuditList", v, std::move(items), page->more);
}

Result<json> listIncidents(ConsoleService& s, const Actor&, const HttpRequest& req) {
  SG_READ(p, parsePaging(req));
  const uint64_t v = s.resourceVersion();
  SG_READ(all, s.incidents());
  const std::string needle = lower(p->q);
  auto matches = [&](const IncidentRecord& i) {
    if (needle.empty()) return true;
    for (const std::string* field : {&i.note, &i.created_by, &i.webhook_status}) {
      if (lower(*field).find(needle) != std::string::npos) return true;
    }
    auto f = s.flood(i.flood_id);
    return f.ok() && proto::prefixText(f->flood.source).find(needle) != std::string::npos;
  };
  std::vector<const IncidentRecord*> picked;
  bool more = false;
  auto take = [&](const IncidentRecord& i) {
    if (!matches(i)) return true;
    if (picked.size() == p->limit) {
      more = true;
      return false;
    }
    picked.push_back(&i);
    return true;
  };
  if (p->before) {  // newest first
    const uint64_t bound = *p->before == 0 ? UINT64_MAX : *p->before;
    for (auto it = all->rbegin(); it != all->rend(); ++it) {
      if (it->id < bound && !take(*it)) break;
    }
  } else {
    for (const auto& i : *all) {
      if (i.id > p->after && !take(i)) break;
    }
  }
  json items = json::array();
  for (const IncidentRecord* i : picked) items.push_back(incidentJson(*i));
  return pageJson("IncidentList", v, std::move(items), more);
}

Result<json> acknowledge(ConsoleService& s, const Actor& who, const HttpRequest& req) {
  SG_TRY(noQuery(req));
  SG_READ(id, floodId(req));
  SG_READ(note, parseAcknowledgeBody(req.body));
  SG_READ(ack, s.acknowledge(who, *id, *note));
  return json{{"flood_id", ack->flood_id},
              {"acknowledged_by", ack->by},
              {"acknowledged_at", rfc3339Ms(ack->at_ms)}};
}

Result<json> getBlock(ConsoleService& s, const Actor&, const HttpRequest& req) {
  SG_TRY(noQuery(req));
  SG_READ(text, capture(req, "source"));
  auto source = parsePrefix(*text);
  if (!source) return source.error().context("source");
  SG_READ(d, s.blockDetail(*source));
  json out = blockJson(d->view);
  out["applied_endpoints"] = d->applied;
  out["pending_endpoints"] = d->pending;
  json rejected = json::array();
  for (const auto& [name, reason] : d->rejected) {
    rejected.push_back(json{{"endpoint", name}, {"reason", reason}});
  }
  out["rejected_endpoints"] = std::move(rejected);
  return out;
}

Result<json> policyPreview(ConsoleService& s, const Actor&, const HttpRequest& req) {
  SG_TRY(noQuery(req));
  SG_READ(body, parsePolicyPreviewBody(req.body));
  std::optional<Policy> policy;
  if (!body->remove) policy = body->policy;
  SG_READ(preview, s.previewPolicy(body->name, policy));
  json affected = json::array();
  for (const auto& c : preview->affected) {
    affected.push_back(json{{"endpoint", c.endpoint}, {"from", c.from}, {"to", c.to}});
  }
  return json{{"name", preview->name},
              {"affected", std::move(affected)},
              {"unchanged", preview->unchanged}};
}

json rateOrNull(const std::optional<RatePoint>& r, double RatePoint::*field) {
  return r ? json((*r).*field) : json(nullptr);
}

Result<json> timeline(ConsoleService& s, const Actor&, const HttpRequest& req) {
  SG_READ(q, parseQuery(req.query, {"endpoint"}));
  std::string endpoint;
  if (auto it = q->find("endpoint"); it != q->end()) {
    if (it->second.empty()) return makeError(Errc::kInvalidArgument, "endpoint: empty");
    endpoint = it->second;
  }
  SG_READ(t, s.timeline(endpoint));
  json points = json::array();
  for (const TimelinePoint& p : t->points) {
    points.push_back(json{{"at", rfc3339Ms(p.at_ms)},
                          {"attempts_per_s", rateOrNull(p.rate, &RatePoint::attempts_per_s)},
                          {"dropped_per_s", rateOrNull(p.rate, &RatePoint::dropped_per_s)}});
  }
  json marks = json::array();
  for (const TimelineMark& m : t->marks) {
    marks.push_back(json{{"at", rfc3339Ms(m.at_ms)},
                         {"kind", m.kind},
                         {"text", m.text},
                         {"flood_id", m.flood_id ? json(*m.flood_id) : json(nullptr)}});
  }
  return json{{"kind", "Timeline"},
              {"endpoint", endpoint.empty() ? json(nullptr) : json(endpoint)},
              {"step", "5s"},
              {"points", std::move(points)},
              {"marks", std::move(marks)}};
}

}  // namespace

const std::vector<RouteSpec>& webRoutes() {
  static const std::vector<RouteSpec> kRoutes = {
      {"GET", "/v1/incidents", Need::kViewer, 200, listIncidents},
      {"GET", "/v1/audit", Need::kViewer, 200, listAudit},
      {"GET", "/v1/blocks/{source}", Need::kViewer, 200, getBlock},
      {"GET", "/v1/timeline", Need::kViewer, 200, timeline},
      {"POST", "/v1/policy-preview", Need::kViewer, 200, policyPreview},
      {"POST", "/v1/floods/{id}/acknowledge", Need::kOperator, 200, acknowledge},
  };
  return kRoutes;
}

}  // namespace sg::console::api
