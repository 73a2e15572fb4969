#include "console/api.h"

#include <nlohmann/json.hpp>

#include "console/api_body.h"
#include "console/api_json.h"
#include "console/api_port_floods.h"
#include "console/api_route.h"
#include "proto/field_reader.h"

namespace sg::console {

namespace {

using api::capture;
using api::floodId;
using api::fromError;
using api::Need;
using api::noQuery;
using api::RouteSpec;
using net::HttpRequest;
using net::HttpResponse;
using nlohmann::json;

// `version` is read before the list, so the list holds at least the state
// at that version.
template <typename View, typename ToJson>
Result<json> listOf(const char* kind, uint64_t version, Result<std::vector<View>> items,
                    ToJson to_json) {
  if (!items) return items.error();
  json out = json::array();
  for (const auto& item : *items) out.push_back(to_json(item));
  return api::listJson(kind, version, std::move(out));
}

// ---- reads

Result<json> listEndpoints(ConsoleService& s, const Actor&, const HttpRequest& req) {
  SG_TRY(noQuery(req));
  const uint64_t v = s.resourceVersion();
  return listOf("EndpointList", v, s.endpoints(), api::endpointJson);
}

Result<json> listFloods(ConsoleService& s, const Actor&, const HttpRequest& req) {
  SG_READ(q, api::parseQuery(req.query, {"all"}));
  bool all = false;
  if (auto it = q->find("all"); it != q->end()) {
    SG_READ(b, api::parseBool(it->second, "all"));
    all = *b;
  }
  const uint64_t v = s.resourceVersion();
  return listOf("FloodList", v, s.floods(all), api::floodJson);
}

Result<json> getFlood(ConsoleService& s, const Actor&, const HttpRequest& req) {
  SG_TRY(noQuery(req));
  SG_READ(id, floodId(req));
  SG_READ(f, s.flood(*id));
  return api::floodJson(*f);
}

Result<json> listBlocks(ConsoleService& s, const Actor&, const HttpRequest& req) {
  SG_TRY(noQuery(req));
  const uint64_t v = s.resourceVersion();
  return listOf("BlockList", v, s.blocks(), api::blockJson);
}

Result<json> listPolicies(ConsoleService& s, const Actor&, const HttpRequest& req) {
  SG_TRY(noQuery(req));
  const uint64_t v = s.resourceVersion();
  return listOf("PolicyList", v, s.policies(), api::policyJson);
}

// ---- actions

Result<json> block(ConsoleService& s, const Actor& who, const HttpRequest& req) {
  SG_TRY(noQuery(req));
  SG_READ(body, api::parseBlockBody(req.body));
  SG_READ(version, s.block(who, body->source, body->ttl, body->reason));
  return json{{"source", proto::prefixText(body->source)}, {"version", *version}};
}

Result<json> unblock(ConsoleService& s, const Actor& who, const HttpRequest& req) {
  SG_TRY(noQuery(req));
  SG_TRY(api::parseEmptyBody(req.body));
  SG_READ(text, capture(req, "source"));
  auto source = parsePrefix(*text);
  if (!source) return source.error().context("source");
  SG_READ(version, s.unblock(who, *source));
  return json{{"source", proto::prefixText(*source)}, {"version", *version}};
}

Result<json> isolate(ConsoleService& s, const Actor& who, const HttpRequest& req) {
  SG_TRY(noQuery(req));
  SG_READ(name, capture(req, "name"));
  SG_READ(reason, api::parseIsolateBody(req.body));
  SG_READ(version, s.isolate(who, *name, *reason));
  return json{{"endpoint", *name}, {"isolated", true}, {"version", *version}};
}

Result<json> release(ConsoleService& s, const Actor& who, const HttpRequest& req) {
  SG_TRY(noQuery(req));
  SG_READ(name, capture(req, "name"));
  SG_TRY(api::parseEmptyBody(req.body));
  SG_READ(version, s.release(who, *name));
  return json{{"endpoint", *name}, {"isolated", false}, {"version", *version}};
}

Result<json> revoke(ConsoleService& s, const Actor& who, const HttpRequest& req) {
  SG_TRY(noQuery(req));
  SG_READ(name, capture(req, "name"));
  SG_TRY(api::parseEmptyBody(req.body));
  SG_TRY(s.revokeEndpoint(who, *name));
  return json{{"endpoint", *name}, {"revoked", true}};
}

Result<json> escalate(ConsoleService& s, const Actor& who, const HttpRequest& req) {
  SG_TRY(noQuery(req));
  SG_READ(id, floodId(req));
  SG_READ(note, api::parseEscalateBody(req.body));
  SG_READ(incident, s.escalate(who, *id, *note));
  return json{{"incident_id", *incident}, {"flood_id", *id}};
}

Result<json> setPolicy(ConsoleService& s, const Actor& who, const HttpRequest& req) {
  SG_TRY(noQuery(req));
  SG_READ(name, capture(req, "name"));
  SG_READ(policy, api::parsePolicyBody(*name, req.body));
  SG_READ(version, s.setPolicy(who, *policy));
  return json{{"name", *name}, {"version", *version}};
}

Result<json> deletePolicy(ConsoleService& s, const Actor& who, const HttpRequest& req) {
  SG_TRY(noQuery(req));
  SG_READ(name, capture(req, "name"));
  SG_TRY(api::parseEmptyBody(req.body));
  SG_READ(version, s.deletePolicy(who, *name));
  return json{{"name", *name}, {"version", *version}};
}

Result<json> createToken(ConsoleService& s, const Actor& who, const HttpRequest& req) {
  SG_TRY(noQuery(req));
  SG_READ(body, api::parseTokenBody(req.body));
  SG_READ(token, s.createApiToken(who, body->name, body->role));
  return json{{"token", *token}, {"name", body->name}, {"role", roleName(body->role)}};
}

Result<json> createEnrollmentToken(ConsoleService& s, const Actor& who, const HttpRequest& req) {
  SG_TRY(noQuery(req));
  SG_READ(body, api::parseEnrollmentTokenBody(req.body));
  SG_READ(token, s.createEnrollmentToken(who, body->labels, body->ttl));
  return json{{"token", *token}};
}

// Every route of docs/api.md.
const RouteSpec kRoutes[] = {
    {"GET", "/v1/endpoints", Need::kViewer, 200, listEndpoints},
    {"GET", "/v1/floods", Need::kViewer, 200, listFloods},
    {"GET", "/v1/floods/{id}", Need::kViewer, 200, getFlood},
    {"GET", "/v1/port-floods", Need::kViewer, 200, api::listPortFloods},
    {"GET", "/v1/blocks", Need::kViewer, 200, listBlocks},
    {"GET", "/v1/policies", Need::kViewer, 200, listPolicies},
    {"POST", "/v1/blocks", Need::kOperator, 200, block},
    {"DELETE", "/v1/blocks/{source}", Need::kOperator, 200, unblock},
    {"POST", "/v1/endpoints/{name}/isolate", Need::kOperator, 200, isolate},
    {"POST", "/v1/endpoints/{name}/release", Need::kOperator, 200, release},
    {"POST", "/v1/floods/{id}/escalate", Need::kOperator, 201, escalate},
    {"PUT", "/v1/policies/{name}", Need::kAdmin, 200, setPolicy},
    {"DELETE", "/v1/policies/{name}", Need::kAdmin, 200, deletePolicy},
    {"POST", "/v1/tokens", Need::kAdmin, 201, createToken},
    {"POST", "/v1/enrollment-tokens", Need::kAdmin, 201, createEnrollmentToken},
    {"POST", "/v1/endpoints/{name}/revoke", Need::kAdmin, 200, revoke},
};

}  // namespace

void addApiRoutes(net::Router& router, ConsoleService& service, ApiCounters* counters,
                  WebSessions* sessions) {
  std::vector<RouteSpec> all(std::begin(kRoutes), std::end(kRoutes));
  for (const RouteSpec& r : api::webRoutes()) all.push_back(r);
  for (const RouteSpec& route : all) {
    router.add(route.method, route.pattern,
               [&service, route, counters, sessions](const HttpRequest& req) {
                 HttpResponse resp = api::answer(service, sessions, route, req);
                 if (counters != nullptr) counters->count(resp.status);
                 return resp;
               });
  }
}

}  // namespace sg::console
