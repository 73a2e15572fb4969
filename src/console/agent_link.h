// The agents' side of the console's server: the enrollment route and the
// WebSocket route of the agent link, both over a ConsoleService (which must
// outlive the server they are added to).
#pragma once

#include "console/service.h"
#include "net/router.h"
#include "net/server.h"

namespace sg::console {

// POST /v1/enroll  {"token": "sgE_...", "csr": PEM, "name": "web-1"}
//   -> 200 {"endpoint": "web-1", "cert": PEM, "ca": PEM}
// Errors: 400 bad body/CSR/name, 401 unknown or malformed token, 403 used or
// expired token, 409 name already enrolled; {"error","message"} each.
void addEnrollRoute(net::Router& router, ConsoleService& service);

// The /v1/agent WebSocket route: client certificate required, checked
// against the endpoint's record before the upgrade.
net::WsRoute agentRoute(ConsoleService& service);

// Errc -> HTTP status (400, 401, 403, 404, 409, 503, else 500).
int httpStatusFor(Errc code);

}  // namespace sg::console
