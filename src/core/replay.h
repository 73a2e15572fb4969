// Replay: a capture's packets through a Tracker (the kernel program's twin,
// modelling one CPU), with the capture's own timestamps as the clock. Pure: no
// I/O, no clock. With `exact`, through an ExactTracker instead: every source
// counted exactly in a true sliding window, no sketch, no slot bound
// (forensics; core/exact_tracker.h). The summary says which mode answered.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/address.h"
#include "core/pcap.h"
#include "core/port_flood.h"
#include "core/replay_ports.h"
#include "core/replay_reflect.h"
#include "core/result.h"
#include "core/tracker.h"
#include "sg_shared.h"

namespace sg {

struct ReplayOptions {
  sg_config cfg{};               // toKernelConfig(AgentConfig)
  uint32_t max_sources = 65536;  // slots of exact per-source state (rounded up, 2-way sets)
  uint32_t max_blocks = 16384;   // bound on concurrent blocks
  std::vector<Prefix> allow;     // never blocked
  bool exact = false;            // ExactTracker instead of the kernel's twin
  // sg_addr_hash's key: which sources share a slot set or a sketch line. The
  // kernel draws its own at each load, so a replay reproduces one kernel run
  // only given that run's key; the default is a fixed one.
  sg_hash_key hash_key = kDefaultHashKey;
  // Port floods (destination side, core/replay_ports.h): what the agent's
  // detector would have flagged and the response it would have taken.
  PortFloodOptions port_flood;
  // SYN-ACK reflection (core/replay_reflect.h): its detector's options.
  ReflectionOptions reflection;
};

// The first packet is replayed at this monotonic time (an epoch start, so
// the per-second budgets line up with the capture's first second).
inline constexpr uint64_t kReplayStartNs = uint64_t{16} << SG_EPOCH_SHIFT;

struct Detection {
  std::string source;     // formatSource(): "198.51.100.7", "2001:db8:1:2::/64"
  uint16_t dst_port = 0;  // most targeted port
  uint32_t count = 0;     // attempts in the window when flagged
  uint64_t at_ns = 0;     // since the capture's first packet
  uint64_t block_ns = 0;  // block duration applied
  uint8_t level = 0;      // repeat-offender level
  bool enforced = true;   // false: detect-only (FLAGGED)
  uint8_t reason = 0;     // the threshold crossed: enum sg_reason (bpf/sg_handshake.h)
};

struct ReplaySummary {
  bool exact = false;                          // which mode answered (ReplayOptions::exact)
  uint64_t packets = 0;                        // frames in the capture
  uint64_t outgoing = 0;                       // frames the host sent (SLL/SLL2): not replayed
  uint64_t attempts = 0;                       // SYN without ACK/RST, as parsed
  uint64_t distinct_sources = 0;               // distinct counted (masked) sources of attempts
  uint64_t malformed = 0;                      // truncated or inconsistent frames
  uint64_t fragments = 0;                      // non-first IP fragments
  uint64_t non_ip = 0;                         // neither IPv4 nor IPv6
  uint64_t dropped = 0;                        // packets the XDP program would drop
  uint64_t peak_attempts_per_sec = 0;          // in one second of the capture's clock
  uint64_t blocks = 0;                         // blocks added
  uint64_t block_map_full = 0;                 // crossings that found the block map full
  uint64_t duration_ns = 0;                    // last packet - first packet
  std::optional<uint64_t> first_detection_ns;  // since the first packet
  uint64_t max_sources_used = 0;               // peak per-source entries (exact: all sources)
  bool sketch_gated = false;                   // the sketch gated admission at some point
  uint64_t sketch_gated_attempts = 0;
  // Handshakes completed (core/handshake_match.h), and whether their ACKs
  // were checked against the host's SYN-ACKs (a capture holding them) or
  // could not be (a one-direction capture: "completions unverified").
  uint64_t completions = 0;
  bool completions_verified = false;
  uint64_t acks_not_completing = 0;  // bare ACKs of an awaited attempt that did not complete it
  sg_counters counters{};            // the tracker's kernel counters at the end
};

struct ReplayResult {
  std::vector<Detection> detections;
  std::vector<ReplayPortFlood> port_floods;  // in order of detection
  ReflectionStory reflection;                // SYN-ACKs for handshakes never started
  ReplaySummary summary;
};

// "--hash-seed": 32 hex digits, k0 then k1, each most significant first.
Result<sg_hash_key> parseHashKey(const std::string& hex);

// Packets (from readCapture) through a Tracker or an ExactTracker. Fails only on a link type
// that cannot be turned into Ethernet (the error names the packet).
Result<ReplayResult> replayPackets(std::span<const CapturedPacket> packets,
                                   const ReplayOptions& options);
// readCapture + replayPackets.
Result<ReplayResult> replayCapture(std::span<const uint8_t> file, const ReplayOptions& options);

}  // namespace sg
