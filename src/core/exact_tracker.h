// ExactTracker: `replay --exact`, per-source counting for forensics. Every
// source keeps exact state for the whole capture: no slot array (no
// eviction), no sketch (no admission gate), no bound on sources or blocks.
// The window is a true sliding window (the times of a source's attempts in
// the last window_ns), so a detection means "more than threshold attempts
// within window_ns", not the kernel's two-bucket estimate (sg_window.h).
// Blocks, repeat offences (sg_block_plan()), block scope, the allowlist and the enforce
// mode follow the kernel. Memory: at most threshold + 1 times per source.
// The default replay stays on Tracker, which answers as the kernel does.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <unordered_map>
#include <vector>

#include "core/address.h"
#include "core/tracker.h"
#include "sg_parse.h"
#include "sg_shared.h"

namespace sg {

struct ExactOptions {
  sg_config cfg{};            // threshold, window, blocks, enforce, v6 prefix
  std::vector<Prefix> allow;  // never blocked (the effective allowlist)
};

class ExactTracker {
 public:
  explicit ExactTracker(ExactOptions options) : options_(std::move(options)) {}

  // One parsed packet at now_ns (never earlier than the previous call's).
  // Appends a BLOCK_ADDED or FLAGGED event when a source crosses.
  Verdict onPacket(const sg_pkt& pkt, uint64_t now_ns, std::vector<sg_event>* events);

  // Counters in the kernel's names (no SKETCH_GATED, BLOCK_MAP_FULL or slots).
  const sg_counters& counters() const { return counters_; }
  size_t sourceCount() const { return sources_.size(); }
  size_t blockCount() const { return blocks_.size(); }

 private:
  struct AddrHash {
    size_t operator()(const sg_addr& a) const;
  };
  struct AddrEq {
    bool operator()(const sg_addr& a, const sg_addr& b) const;
  };
  struct Attempt {
    uint64_t at_ns;
    uint16_t dst_port;
  };
  struct Source {
    std::deque<Attempt> recent;  // attempts in the window since the last crossing
    sg_offence history{};        // offences and last block end (sg_block_plan/commit)
  };

  Verdict cross(Source* src, const sg_addr& key, uint64_t now, std::vector<sg_event>* events);
  bool allowed(const sg_addr& key) const;

  ExactOptions options_;
  sg_counters counters_{};
  std::unordered_map<sg_addr, Source, AddrHash, AddrEq> sources_;
  std::unordered_map<sg_addr, sg_block, AddrHash, AddrEq> blocks_;
};

}  // namespace sg
