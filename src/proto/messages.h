// The messages of the agent <-> console protocol, as plain values. One parser
// per direction turns bytes into them (codec.h); docs/protocol.md is the
// reference for every field. Times named *_ns are the sender's monotonic clock;
// durations are milliseconds; versions and sequence numbers start at 1 (0:
// none yet).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "core/address.h"
#include "core/config.h"
#include "proto/limits.h"

namespace sg::proto {

// ---- parts ------------------------------------------------------------------

enum class EventKind { kFloodDetected, kBlockAdded, kBlockExpired, kBlockRemoved };

// What an agent saw or did about one source.
struct Event {
  EventKind kind = EventKind::kFloodDetected;
  Prefix source;                  // an address (/32, /128) or the prefix it is counted under
  uint16_t dst_port = 0;          // port of the crossing attempt; 0 if none
  uint32_t count = 0;             // attempts in the window when detected
  uint64_t window_ms = 0;         // the window the count is over
  uint8_t level = 0;              // repeat-offender level (block = base << level)
  uint64_t block_ms = 0;          // block length; 0 = not blocked (detect-only)
  uint64_t first_attempt_ns = 0;  // agent clock: first attempt counted in the window
  uint64_t detected_ns = 0;       // agent clock: the crossing (or the block change)
  // Version 3: attempts per second observed, `count` over the time since the
  // first attempt counted; 0 = not observed (a block change, an older agent).
  uint64_t rate = 0;
  bool operator==(const Event&) const = default;
};

// A global block as an agent applies it.
struct BlockEntry {
  Prefix source;
  std::optional<uint64_t> expires_in_ms;  // from when it is sent; nullopt = permanent
  bool operator==(const BlockEntry&) const = default;
};

struct Isolation {
  bool on = false;
  std::vector<Prefix> allowed_peers;  // besides the console and the agent's allowlist
  bool operator==(const Isolation&) const = default;
};

// The resolved threshold profile an agent runs.
struct PolicyParams {
  std::string name;  // the policy it comes from ("default": none matched)
  uint32_t threshold = 200;
  uint64_t window_ms = 5000;
  uint64_t block_duration_ms = 60000;
  EnforcerKind enforcer = EnforcerKind::kXdp;
  bool operator==(const PolicyParams&) const = default;
};

enum class OpKind { kBlockAdd, kBlockRemove, kIsolate, kRelease, kPolicySet };

// One change of a delta; the fields used depend on kind.
struct DeltaOp {
  OpKind kind = OpKind::kBlockAdd;
  BlockEntry block;                   // block_add (source, expiry), block_remove (source)
  std::vector<Prefix> allowed_peers;  // isolate
  PolicyParams policy;                // policy_set
  bool operator==(const DeltaOp&) const = default;
};

// Why one item of a version was not applied.
struct NackItem {
  std::string op;      // "block_add", "isolate", ...
  std::string target;  // the source, or "" for the endpoint itself
  std::string reason;  // "source on allowlist"
  bool operator==(const NackItem&) const = default;
};

enum class PortFloodKind { kDetected, kUpdated, kEnded };

// Where a port flood's attempts concentrate: a /24 (IPv4) or /48 (IPv6).
struct PortFloodPrefix {
  Prefix prefix;
  uint16_t share_permille = 0;  // of the window's attempts, 0..1000
  bool operator==(const PortFloodPrefix&) const = default;
};

// One port flood (a target: the endpoint's local address and port, flooded
// from many sources) as the agent saw it (protocol version 2). `first_ns`
// identifies the flood on its agent: every message about it carries the same.
struct PortFloodReport {
  PortFloodKind kind = PortFloodKind::kDetected;
  Prefix dst;                           // the local address (a /32 or /128)
  uint16_t dst_port = 0;                // 1..65535
  std::string reason;                   // "rate" | "completion_ratio"
  uint64_t rate = 0;                    // attempts/s over the detection window (ended: the last)
  uint64_t peak_rate = 0;               // highest so far
  uint64_t normal_rate = 0;             // learned attempts/s before the flood
  uint64_t distinct_sources = 0;        // estimate (ended: over the whole flood)
  uint16_t completion_permille = 1000;  // completed handshakes per attempt, 0..1000
  std::vector<PortFloodPrefix> top_prefixes;  // at most kMaxTopPrefixes, by share
  std::string response;   // what the agent engaged: "none", "syncookies+prefix_block", ...
  uint64_t attempts = 0;  // since first_ns
  uint64_t first_ns = 0;  // agent clock: the flood's estimated start
  uint64_t at_ns = 0;     // agent clock: detection, this update, or the end (>= first_ns)
  bool operator==(const PortFloodReport&) const = default;
};

// ---- agent -> console -------------------------------------------------------

struct Hello {
  std::string name;               // endpoint name, [A-Za-z0-9._-]
  std::string agent_version;      // "0.1.0"
  std::string platform;           // "linux" | "windows"
  uint64_t applied_version = 0;   // desired-state version it runs (0: none)
  uint64_t acked_report_seq = 0;  // last report seq the console acknowledged
  // The envelope's "v": the protocol version the agent offers for the link
  // (the parser sets it; encode() stamps it on the hello).
  uint32_t protocol = kProtocolVersion;
  bool operator==(const Hello&) const = default;
};

struct Report {
  uint64_t seq = 0;      // per endpoint, from 1, +1 per report, kept across reconnects
  uint64_t dropped = 0;  // events dropped from the agent's full queue since the last report
  std::vector<Event> events;
  std::vector<PortFloodReport> port_floods;  // version 2; empty on a version-1 link
  bool operator==(const Report&) const = default;
};

struct Ack {
  uint64_t version = 0;  // applied in full
  bool operator==(const Ack&) const = default;
};

// Applied `version` except the items listed (the allowlist always wins).
struct Nack {
  uint64_t version = 0;
  std::vector<NackItem> items;
  bool operator==(const Nack&) const = default;
};

struct Heartbeat {
  uint64_t agent_time_ns = 0;
  uint64_t applied_version = 0;
  uint32_t active_blocks = 0;
  std::map<std::string, uint64_t> counters;
  bool operator==(const Heartbeat&) const = default;
};

// Either side may ping; the other answers with a pong.
struct Ping {
  uint64_t nonce = 0;
  uint64_t time_ns = 0;  // sender's clock
  bool operator==(const Ping&) const = default;
};
struct Pong {
  uint64_t nonce = 0;         // the ping's
  uint64_t time_ns = 0;       // the ping's time_ns, echoed
  uint64_t peer_time_ns = 0;  // the answering side's clock when answering
  bool operator==(const Pong&) const = default;
};

// ---- console -> agent -------------------------------------------------------

struct Welcome {
  uint64_t console_time_ns = 0;
  uint64_t last_report_seq = 0;  // highest report seq the console has stored
  bool operator==(const Welcome&) const = default;
};

struct Snapshot {
  uint64_t version = 0;
  std::vector<BlockEntry> blocks;
  Isolation isolation;
  PolicyParams policy;
  bool operator==(const Snapshot&) const = default;
};

struct Delta {
  uint64_t from_version = 0;
  uint64_t version = 0;
  std::vector<DeltaOp> ops;
  bool operator==(const Delta&) const = default;
};

struct ReportAck {
  uint64_t seq = 0;
  bool operator==(const ReportAck&) const = default;
};

using AgentMessage = std::variant<Hello, Report, Ack, Nack, Heartbeat, Ping, Pong>;
using ConsoleMessage = std::variant<Welcome, Snapshot, Delta, ReportAck, Ping, Pong>;

const char* eventKindName(EventKind kind);
const char* opKindName(OpKind kind);
const char* portFloodKindName(PortFloodKind kind);  // "detected" | "updated" | "ended"

}  // namespace sg::proto
