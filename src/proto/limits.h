// Limits of the agent <-> console protocol (docs/protocol.md). Both parsers
// refuse anything past them with an error, before building any list.
#pragma once

#include <cstddef>
#include <cstdint>

namespace sg::proto {

// The newest protocol version this build speaks, and the oldest it still
// accepts. Any change to a message's shape is a new version; see
// docs/protocol.md "Versioning" (version 2: report.port_floods; version 3:
// report.events[].rate).
constexpr uint32_t kProtocolVersion = 3;
constexpr uint32_t kMinProtocolVersion = 1;
// A console refuses a hello in a version it does not speak by closing the
// link with this WebSocket close code (application range) and the parser's
// error as the reason ("unsupported protocol version N ..."). Consoles from
// before it close such a link as after any refused message: code 1000
// (normal), no reason. The agent falls back to an older version only on
// one of these two, seen before the welcome (docs/protocol.md "Versioning").
constexpr uint16_t kCloseUnsupportedVersion = 4001;

// One message, as bytes on the wire (a WebSocket text frame).
constexpr size_t kMaxMessageBytes = 1 << 20;
// Nesting of arrays and objects (the deepest message nests 4).
constexpr size_t kMaxDepth = 8;
// Any string: endpoint names, versions, reasons, counter names.
constexpr size_t kMaxStringBytes = 256;
// A policy's name (it travels in every policy_set op).
constexpr size_t kMaxPolicyNameBytes = 64;

// Items per list. The largest of each still fits kMaxMessageBytes
// (limits_test checks it).
constexpr size_t kMaxEvents = 1024;       // report.events
constexpr size_t kMaxBlocks = 4096;       // snapshot.blocks (= global blocks a console keeps)
constexpr size_t kMaxOps = 4096;          // delta.ops
constexpr size_t kMaxNackItems = 4096;    // nack.items
constexpr size_t kMaxPeers = 256;         // isolation.allowed_peers
constexpr size_t kMaxCounters = 256;      // heartbeat.counters
constexpr size_t kMaxPortFloods = 256;    // report.port_floods
constexpr size_t kMaxTopPrefixes = 8;     // port_floods[].top_prefixes
constexpr size_t kMaxResponseBytes = 64;  // port_floods[].response

// Numbers that a sane peer never exceeds.
constexpr uint64_t kMaxDurationMs = 30ull * 24 * 3600 * 1000;  // 30 days
// An agent's monotonic clock (port_floods[].first_ns, at_ns): 2^62 ns is
// 146 years of uptime, so anything past it is garbage, refused.
constexpr uint64_t kMaxAgentTimeNs = 1ull << 62;
constexpr uint32_t kMaxThreshold = 1'000'000;
// Attempts per second no link can carry (event and port-flood rates): a bound.
constexpr uint64_t kMaxRate = 1'000'000'000;

}  // namespace sg::proto
