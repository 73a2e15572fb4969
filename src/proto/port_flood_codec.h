// JSON of report.port_floods[] (protocol version 2, docs/protocol.md "Port
// floods"). Internal to the codec; tests use it too.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "core/result.h"
#include "proto/messages.h"

namespace sg::proto {

nlohmann::json toJson(const PortFloodReport& p);
Result<PortFloodReport> parsePortFlood(const nlohmann::json& j, const std::string& where);

}  // namespace sg::proto
