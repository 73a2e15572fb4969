// Internal to the REST API (api.cpp, api_web.cpp): a route's spec, and the
// pieces every handler shares (authentication and role check, Errc -> HTTP,
// path captures).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "console/service.h"
#include "net/http_types.h"

namespace sg::console {
class WebSessions;
}

namespace sg::console::api {

inline constexpr size_t kDefaultPageLimit = 100;
inline constexpr size_t kMaxPageLimit = 1000;

// Errc -> HTTP. An error the caller did not cause (I/O, a broken store) is a
// 500 whose message says nothing of the console's insides.
net::HttpResponse fromError(const Error& e);

// The least role each route needs (docs/api.md "Roles"); the service checks
// its actions' roles again.
enum class Need { kViewer, kOperator, kAdmin };

using Action = Result<nlohmann::json> (*)(ConsoleService&, const Actor&, const net::HttpRequest&);

struct RouteSpec {
  const char* method;
  const char* pattern;
  Need need;
  int status;  // on success
  Action action;
};

// Authenticates (bearer token, or the session cookie with `sessions`),
// checks the role, then runs the route's action: its value is the response
// body, its error is mapped by fromError.
net::HttpResponse answer(ConsoleService& service, WebSessions* sessions, const RouteSpec& route,
                         const net::HttpRequest& req);

// A path capture, percent-decoded ("10.0.0.0%2F8" -> "10.0.0.0/8").
Result<std::string> capture(const net::HttpRequest& req, const char* name);
Result<uint64_t> floodId(const net::HttpRequest& req);
Result<void> noQuery(const net::HttpRequest& req);

// The new routes of docs/dashboard.md (api_web.cpp).
const std::vector<RouteSpec>& webRoutes();

}  // namespace sg::console::api
