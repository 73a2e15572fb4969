// POST /v1/enroll and the agent WebSocket route (see agent_link.h).
#include <nlohmann/json.hpp>

#include "console/agent_link.h"

namespace sg::console {

namespace {

constexpr size_t kMaxTokenBytes = 256;
constexpr size_t kMaxCsrBytes = 16 * 1024;
constexpr size_t kMaxNameBytes = 64;

const char* errorCode(int status) {
  switch (status) {
    case 400:
      return "bad_request";
    case 401:
      return "unauthenticated";
    case 403:
      return "forbidden";
    case 404:
      return "not_found";
    case 409:
      return "conflict";
    case 503:
      return "unavailable";
    default:
      return "internal";
  }
}

net::HttpResponse failure(const Error& e) {
  const int status = httpStatusFor(e.code());
  return net::errorResponse(status, errorCode(status), e.message());
}

net::HttpResponse badRequest(const std::string& why) {
  return net::errorResponse(400, "bad_request", why);
}

// A string field of at most `max` bytes; "" with `why` set when not.
std::string stringField(const nlohmann::json& body, const char* name, size_t max,
                        std::string& why) {
  auto it = body.find(name);
  if (it == body.end()) {
    why = std::string("missing field '") + name + "'";
  } else if (!it->is_string()) {
    why = std::string("field '") + name + "' must be a string";
  } else if (it->get_ref<const std::string&>().size() > max) {
    why = std::string("field '") + name + "' longer than " + std::to_string(max) + " bytes";
  } else {
    return it->get<std::string>();
  }
  return {};
}

net::HttpResponse handleEnroll(ConsoleService& service, const net::HttpRequest& req) {
  nlohmann::json body = nlohmann::json::parse(req.body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) return badRequest("body must be a JSON object");
  for (const auto& [key, value] : body.items()) {
    if (key != "token" && key != "csr" && key != "name") {
      return badRequest("unknown field '" + key + "'");
    }
  }
  std::string why;
  const std::string token = stringField(body, "token", kMaxTokenBytes, why);
  if (!why.empty()) return badRequest(why);
  const std::string csr = stringField(body, "csr", kMaxCsrBytes, why);
  if (!why.empty()) return badRequest(why);
  const std::string name = stringField(body, "name", kMaxNameBytes, why);
  if (!why.empty()) return badRequest(why);
  auto enrolled = service.enroll(token, csr, name);
  if (!enrolled) return failure(enrolled.error());
  nlohmann::json out{
      {"endpoint", enrolled->endpoint}, {"cert", enrolled->cert_pem}, {"ca", enrolled->ca_pem}};
  return net::HttpResponse{200, out.dump(), "application/json"};
}

}  // namespace

int httpStatusFor(Errc code) {
  switch (code) {
    case Errc::kInvalidArgument:
      return 400;
    case Errc::kUnauthenticated:
      return 401;
    case Errc::kPermissionDenied:
      return 403;
    case Errc::kNotFound:
      return 404;
    case Errc::kAlreadyExists:
      return 409;
    case Errc::kUnavailable:
    case Errc::kResourceExhausted:
      return 503;
    case Errc::kIo:
      return 500;
  }
  return 500;
}

void addEnrollRoute(net::Router& router, ConsoleService& service) {
  router.add("POST", "/v1/enroll",
             [&service](const net::HttpRequest& req) { return handleEnroll(service, req); });
}

net::WsRoute agentRoute(ConsoleService& service) {
  net::WsRoute route;
  route.path = "/v1/agent";
  route.require_client_cert = true;
  route.authorize = [&service](const net::HttpRequest& req) { return service.authorizeAgent(req); };
  route.own_rate_budget = [&service](const net::PeerInfo& peer) {
    return service.agentCertCurrent(peer);
  };
  route.handler = service.agentLink();
  return route;
}

}  // namespace sg::console
