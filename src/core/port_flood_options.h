// The port-flood detector's options (core/port_flood.h): one typed struct
// with a default and a comment per field, part of AgentConfig (TOML keys
// port_flood_*, flags --port-flood-*), validated once at the edge.
#pragma once

#include <chrono>
#include <cstdint>

#include "core/duration.h"
#include "core/result.h"

namespace sg {

struct PortFloodOptions {
  // Detect port floods at all (the destination counters run regardless).
  bool enabled = true;
  // Attempts per second a port must reach to be flooded (1..1e9).
  double floor = 1000;
  // ... and this many times its learned normal rate (1.5..1e6).
  double factor = 10;
  // ... or a completion ratio under this share of its normal one (0..1; 0: off).
  double collapse = 0.5;
  // The rate and the ratio are measured over this window (100ms..60s).
  Nanos rate_window = std::chrono::seconds(1);
  // Time constant of the learned normal rate and ratio (1s..24h).
  Nanos learn_window = std::chrono::minutes(10);
  // A port's first period, with no normal yet (0s..24h).
  Nanos warmup = std::chrono::seconds(30);
  // A flood ends after its test failed this long (100ms..1h).
  Nanos end_after = std::chrono::seconds(3);
  // Block the top source prefixes (/24, /48) when at most `max_prefixes` of
  // them hold this share of the flood's attempts (0.01..1).
  double concentration = 0.8;
  // At most this many prefixes blocked per flood (0..64; 0: never).
  uint32_t max_prefixes = 4;
  // The prefix-block response, switchable.
  bool prefix_blocks = true;
  // Entries of the kernel's destination table (64..65536, rounded up to a
  // power of two; 1360 B each); restart to change.
  uint32_t max_dsts = 1024;
  // The signature-drop response (core/signature.h): drop in XDP the SYNs
  // matching what the flood's SYNs share and the port's normal ones do not.
  bool signature_drop = true;
  // ... engaged when its signatures cover this share of the flood (0.01..1)
  double signature_coverage = 0.5;
  // ... and match at most this share of the port's normal SYNs (0..0.05).
  double signature_normal_share = 0.001;
};

// How often the agent harvests the table (and replay samples a capture)...
inline constexpr Nanos kDstSampleInterval = std::chrono::milliseconds(100);
// ... and while the last harvest found no attempt anywhere and no flood lasts
// (an idle host): a flood that starts then is seen within this long.
inline constexpr Nanos kDstIdleInterval = std::chrono::milliseconds(500);

// Range checks; the error names the field (port_flood_*).
Result<void> validatePortFloodOptions(const PortFloodOptions& o);

}  // namespace sg
