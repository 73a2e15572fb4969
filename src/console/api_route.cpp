#include "console/api_route.h"

#include "console/api_body.h"
#include "console/api_json.h"
#include "console/web_session.h"

namespace sg::console::api {

using net::HttpRequest;
using nlohmann::json;

namespace {

net::HttpResponse ok(const json& body, int status) {
  return net::HttpResponse{status, dumpJson(body), "application/json"};
}

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

}  // namespace

net::HttpResponse fromError(const Error& e) {
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

net::HttpResponse answer(ConsoleService& service, WebSessions* sessions, const RouteSpec& route,
                         const HttpRequest& req) {
  auto authed = authenticateRequest(service, sessions, req);
  if (auto* refused = std::get_if<net::HttpResponse>(&authed)) return std::move(*refused);
  const Actor* who = &std::get<Authenticated>(authed).actor;
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
  auto decoded = percentDecode(it->second);
  if (!decoded) return decoded.error().context(name);
  return *decoded;
}

Result<uint64_t> floodId(const HttpRequest& req) {
  SG_READ(text, capture(req, "id"));
  return parseUint(*text, "id", UINT64_MAX);
}

Result<void> noQuery(const HttpRequest& req) {
  SG_TRY(parseQuery(req.query, {}));
  return Ok{};
}

}  // namespace sg::console::api
