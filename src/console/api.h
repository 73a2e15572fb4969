// The console's REST API (docs/api.md) on the HTTPS server's router: reads
// and operator actions over ConsoleService, each authenticated with an API
// token ("Authorization: Bearer sgA_...") and checked against its role.
#pragma once

#include "console/api_counters.h"
#include "console/service.h"
#include "net/router.h"

namespace sg::console {

class WebSessions;

// Adds every /v1/... route of the REST API to `router`; `service` (and
// `counters`, when given: every answer counted by outcome) must outlive it.
// With `sessions`, a dashboard session cookie authenticates as its token does
// (writes also need its CSRF token: docs/dashboard.md).
void addApiRoutes(net::Router& router, ConsoleService& service, ApiCounters* counters = nullptr,
                  WebSessions* sessions = nullptr);

}  // namespace sg::console
