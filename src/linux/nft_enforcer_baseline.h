// The benchmarks' comparison point: a kernel-only per-source SYN rate limiter
// written as plain nftables rules (dynamic sets with a `limit` meter per
// source), with no agent at all. It mirrors the agent's policy as closely as
// nftables can: a token bucket of `threshold` packets refilled at
// threshold/window per second stands in for the sliding window; an offending
// source (IPv6: its /v6_prefix) goes into a block set for `block`.
#pragma once

#include <cstdint>
#include <string>

#include "core/duration.h"
#include "core/result.h"

namespace sg {

struct NftBaselineParams {
  std::string table = "syn_guard_baseline";  // inet table the script creates (replaces)
  uint32_t threshold = 200;                  // SYNs per window before a block (1..1e6)
  Nanos window = std::chrono::seconds(5);    // window length (1ms..1h)
  Nanos block = std::chrono::seconds(60);    // block length (1ms..24h)
  uint8_t v6_prefix = 64;                    // IPv6 sources counted per prefix (1..128)
  uint32_t max_sources = 65536;              // size of each meter and block set
};

// An nft script (for `nft -f` or nft_run_cmd_from_buffer) that replaces the
// table with the rate limiter; an error naming the bad parameter otherwise.
// The rate is threshold/window rounded to whole packets per second, minute,
// hour or day (the finest unit that gives at least 1).
Result<std::string> nftMeterBaselineRules(const NftBaselineParams& p);

}  // namespace sg
