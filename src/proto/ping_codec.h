// ping and pong travel both ways; one parser and encoder for both directions.
#pragma once

#include <nlohmann/json.hpp>

#include "proto/field_reader.h"
#include "proto/messages.h"

namespace sg::proto {

Result<Ping> parsePing(FieldReader& r);
Result<Pong> parsePong(FieldReader& r);
nlohmann::json toJson(const Ping& p);
nlohmann::json toJson(const Pong& p);

}  // namespace sg::proto
