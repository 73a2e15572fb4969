// What of the agent's port floods goes to the console (protocol version 2,
// report.port_floods): the watch's port_flood_detected / port_flood_ended log
// lines, and, with each heartbeat, an `updated` of every flood still going on
// (the watch's status) — at most one per flood per heartbeat, and the queue
// keeps only the newest waiting update of a flood. Pure
// (console_link_port_floods_test.cpp).
//
// A flood is named on its agent by its target and first_ns (its estimated
// start on the agent's CLOCK_MONOTONIC): the reporter remembers first_ns from
// the detection, so the update and end messages of one flood carry the same.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "proto/messages.h"

namespace sg::agent {

class PortFloodReporter {
 public:
  // nullopt for any other event, and for fields that do not name a target.
  std::optional<proto::PortFloodReport> fromLog(const std::string& event,
                                                const nlohmann::json& fields, uint64_t now_ns);
  // `status`: PortFloodWatch::statusJson(); one `updated` per active flood.
  std::vector<proto::PortFloodReport> updates(const nlohmann::json& status, uint64_t now_ns);

 private:
  std::optional<proto::PortFloodReport> parse(const nlohmann::json& f, uint64_t now_ns,
                                              uint64_t since_ms);
  std::map<std::string, uint64_t> first_ns_;  // "dst:port" -> first_ns of its flood
};

}  // namespace sg::agent
