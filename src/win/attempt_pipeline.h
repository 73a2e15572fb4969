// AttemptPipeline: the Windows agent's decision path. Attempts (the accept
// events' and the TCP table's half-open connections, as sg_pkt) go through
// the core's Tracker — the XDP program's arithmetic, unchanged — and a
// crossing becomes a block through the Enforcer (WFP on Windows, a fake in
// tests). Manual and console blocks take the same road. Plain C++: replays
// and unit tests run it on Linux too.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/enforcer.h"
#include "core/tracker.h"

namespace sg::win {

struct BlockRow {
  Prefix prefix;
  uint64_t until_ns = 0;  // 0: permanent
  uint32_t count = 0;     // attempts in the window when detected (0: manual)
  uint16_t port = 0;      // most targeted port
  uint8_t level = 0;      // repeat-offender level
  bool manual = false;
};

class AttemptPipeline {
 public:
  // `own`: the host's own addresses, allowed as loopback is.
  AttemptPipeline(const AgentConfig& config, Enforcer* enforcer, std::vector<Address> own = {});

  // One attempt seen at now_ns. Appends the Tracker's events (a block or a
  // flag) to `events`, after the block call for a block.
  void onAttempt(const sg_pkt& attempt, uint64_t now_ns, std::vector<sg_event>* events);

  // A block from the control pipe or the console: ttl_ns 0 = permanent.
  Result<void> block(const Prefix& p, uint64_t ttl_ns, uint64_t now_ns);
  // Returns whether there was one.
  Result<bool> unblock(const Prefix& p);
  // Forgets blocks whose time is up (the enforcer removes its own).
  void expire(uint64_t now_ns);
  std::vector<BlockRow> blocks() const;

  const sg_counters& counters() const { return tracker_.counters(); }
  uint64_t enforceErrors() const { return enforce_errors_; }
  const std::string& lastError() const { return last_error_; }
  // now_ns of the last attempt and of the last block call (latency checks).
  uint64_t lastBlockCallNs() const { return last_block_call_ns_; }
  // The allowlist in force (effectiveAllowlist with the own addresses): the
  // WFP permits and the console applier's check use this same list.
  const std::vector<Prefix>& allowlist() const { return allow_; }

 private:
  AgentConfig config_;
  std::vector<Prefix> allow_;
  Enforcer* enforcer_;
  Tracker tracker_;
  std::map<std::string, BlockRow> blocks_;  // by Prefix::str()
  uint64_t enforce_errors_ = 0;
  std::string last_error_;
  uint64_t last_block_call_ns_ = 0;
};

// The allowlist the Tracker and the WFP permits use: the configured one plus
// loopback and the host's own addresses (each a host prefix), always allowed
// as on Linux; no duplicates.
std::vector<Prefix> effectiveAllowlist(const AgentConfig& config,
                                       const std::vector<Address>& own = {});

}  // namespace sg::win
