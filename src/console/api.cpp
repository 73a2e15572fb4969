#include "console/api.h"

#include <nlohmann/json.hpp>

#include "console/api_body.h"
#include "console/api_json.h"
#include "proto/field_reader.h"

namespace sg::console {

namespace {

using net::HttpRequest;
using net::HttpResponse;
using nlohmann::json;

constexpr size_t kAuditDefaultLimit = 100;
constexpr size_t kAuditMaxLimit = 1000;

// Errc -> HTTP. An error the caller did not cause (I/O, a broken store) is a
// 500 whose message says nothing of the console's insides.
HttpResponse fromError(const Error& e) {
  switch (e.code()) {
    case Errc::kInvalidArgument:
      return net::errorResponse(400, "invalid_argument", e.message());
    case Errc::kUnauthenticated:
      return net::errorResponse(401, "unauthenticated", e.message());
    case Errc::kPermissionDenied:
      return net::errorResponse(403, "permission_denied", e.message());
    case Errc::kNotFound:
      return net::errorResponse(404, "not_found", e.message());
    case Errc::kAlreadyExists:
      return net::errorResponse(409, "already_exists", e.message());
    case Errc::kResourceExhausted:
      return net::errorResponse(429, "resource_exhausted", e.message());
    case Errc::kUnavailable:
    case Errc::kIo:
      break;
  }
  return net::errorResponse(500, "internal", "internal error");
}

HttpResponse ok(const json& body, int status = 200) {
  return HttpResponse{status, api::dumpJson(body), "application/json"};
}

// The least role each route needs (docs/api.md "Roles"); the service checks
// its actions' roles again.
enum class Need { kViewer, kOperator, kAdmin };

bool allowed(Role role, Need need) {
  switch (need) {
    case Need::kViewer:
      return true;
    case Need::kOperator:
      return role == Role::kOperator || role == Role::kAdmin;
    case Need::kAdmin:
      return role == Role::kAdmin;
  }
  return false;
}

const char* needName(Need need) {
  switch (need) {
    case Need::kViewer:
      return "viewer";
    case Need::kOperator:
      return "operator";
    case Need::kAdmin:
      return "admin";
  }
  return "admin";
}

using Action = Result<json> (*)(ConsoleService&, const Actor&, const HttpRequest&);

struct RouteSpec {
  const char* method;
  const char* pattern;
  Need need;
  int status;  // on success
  Action action;
};

// Authenticates, checks the role, then runs the route's action: its value is
// the response body, its error is mapped by fromError.
HttpResponse answer(ConsoleService& service, const RouteSpec& route, const HttpRequest& req) {
  auto who = service.authenticate(req.authorization);
  if (!who) return fromError(who.error());
  if (!allowed(who->role, route.need)) {
    return net::errorResponse(403, "permission_denied",
                              "this needs the " + std::string(needName(route.need)) +
                                  " role; the token '" + who->name + "' is " + roleName(who->role));
  }
  auto body = route.action(service, *who, req);
  if (!body) return fromError(body.error());
  return ok(*body, route.status);
}

// A path capture, percent-decoded ("10.0.0.0%2F8" -> "10.0.0.0/8").
Result<std::string> capture(const HttpRequest& req, const char* name) {
  auto it = req.params.find(name);
  if (it == req.params.end()) {
    return makeError(Errc::kInvalidArgument, std::string(name) + ": missing");
  }
  auto decoded = api::percentDecode(it->second);
  if (!decoded) return decoded.error().context(name);
  return *decoded;
}

Result<uint64_t> floodId(const HttpRequest& req) {
  SG_READ(text, capture(req, "id"));
  return api::parseUint(*text, "id", UINT64_MAX);
}

Result<void> noQuery(const HttpRequest& req) {
  SG_TRY(api::parseQuery(req.query, {}));
  return Ok{};
}

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

Result<json> listIncidents(ConsoleService& s, const Actor&, const HttpRequest& req) {
  SG_TRY(noQuery(req));
  const uint64_t v = s.resourceVersion();
  return listOf("IncidentList", v, s.incidents(), api::incidentJson);
}

Result<json> listPolicies(ConsoleService& s, const Actor&, const HttpRequest& req) {
  SG_TRY(noQuery(req));
  const uint64_t v = s.resourceVersion();
  return listOf("PolicyList", v, s.policies(), api::policyJson);
}

Result<json> listAudit(ConsoleService& s, const Actor&, const HttpRequest& req) {
  SG_READ(q, api::parseQuery(req.query, {"after", "limit"}));
  uint64_t after = 0;
  uint64_t limit = kAuditDefaultLimit;
  if (auto it = q->find("after"); it != q->end()) {
    SG_READ(a, api::parseUint(it->second, "after", UINT64_MAX));
    after = *a;
  }
  if (auto it = q->find("limit"); it != q->end()) {
    SG_READ(l, api::parseUint(it->second, "limit", kAuditMaxLimit));
    if (*l == 0) return makeError(Errc::kInvalidArgument, "limit: must be at least 1");
    limit = *l;
  }
  const uint64_t v = s.resourceVersion();
  return listOf("AuditList", v, s.audit(after, limit), api::auditJson);
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
    {"GET", "/v1/blocks", Need::kViewer, 200, listBlocks},
    {"GET", "/v1/incidents", Need::kViewer, 200, listIncidents},
    {"GET", "/v1/policies", Need::kViewer, 200, listPolicies},
    {"GET", "/v1/audit", Need::kViewer, 200, listAudit},
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

void addApiRoutes(net::Router& router, ConsoleService& service, ApiCounters* counters) {
  for (const RouteSpec& route : kRoutes) {
    router.add(route.method, route.pattern, [&service, route, counters](const HttpRequest& req) {
      HttpResponse resp = answer(service, route, req);
      if (counters != nullptr) counters->count(resp.status);
      return resp;
    });
  }
}

}  // namespace sg::console
