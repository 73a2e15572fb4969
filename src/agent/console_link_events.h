// What of the agent's log goes to the console as a report event: the block
// book's flood_detected (detect-only), block_added, block_expired and
// block_removed lines, turned into proto::Event. Pure
// (console_link_events_test.cpp).
//
// Times are the agent's CLOCK_MONOTONIC when the line is logged (the link
// reads the same clock for pings and heartbeats). The kernel reports the
// count at the crossing and the span it was counted over (the line's
// span_ms): first_attempt_ns is detected - span, and `rate` the line's
// observed rate. A line without them (a block adopted late) gives the
// window's start (detected - window), the earliest it can have been, and
// rate 0.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "proto/messages.h"

namespace sg::agent {

// nullopt for any other event, for flood_detected of a block (its
// block_added follows), and for fields that do not name a source.
std::optional<proto::Event> reportEventFrom(const std::string& event, const nlohmann::json& fields,
                                            uint64_t now_ns);

}  // namespace sg::agent
