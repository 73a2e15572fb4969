// The REST API's port floods (docs/api.md "Port floods"): the JSON of a port
// flood and of the fleet view, and the GET /v1/port-floods handler.
#pragma once

#include <nlohmann/json.hpp>

#include "console/service.h"
#include "net/http_types.h"

namespace sg::console::api {

nlohmann::json portFloodJson(const PortFloodView& v);
nlohmann::json portFleetJson(const PortFleetView& f);

// GET /v1/port-floods[?all=true] -> PortFloodList + "fleet".
Result<nlohmann::json> listPortFloods(ConsoleService& s, const Actor& who,
                                      const net::HttpRequest& req);

}  // namespace sg::console::api
