// Reflection in a capture's aggregate story: SYN-ACKs for handshakes the
// capture never saw this host start (no SYN of the reversed 4-tuple before
// them, in either direction the capture holds), through the same
// ReflectionDetector the agent runs, sampled every kDstSampleInterval of the
// capture's clock as the agent harvests the kernel's counters. Pure.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/reflection.h"
#include "sg_parse.h"

namespace sg {

struct ReplayReflection {
  Reflection reflection;  // times since the capture's first packet
  bool ended = false;     // ended within the capture (else: still on at its end)
};

struct ReflectionStory {
  uint64_t synacks = 0;    // SYN-ACKs in the capture
  uint64_t unmatched = 0;  // of them, for no handshake the capture saw start
  std::vector<ReplayReflection> reflections;
};

class ReflectionReplay {
 public:
  explicit ReflectionReplay(const ReflectionOptions& options) : detector_(options) {}
  // Every parsed packet, incoming or outgoing (a SYN the host sent starts a
  // handshake), at `t_ns` since the capture's first one (never decreasing).
  void onPacket(const sg_pkt& pkt, uint64_t t_ns);
  ReflectionStory finish(uint64_t t_ns);

 private:
  void sampleUntil(uint64_t t_ns);

  ReflectionDetector detector_;
  ReflectionStory story_;
  uint64_t next_sample_ns_ = 0;
  bool sampled_ = false;
  std::vector<ReflectorCount> seen_;                 // since the last sample
  std::unordered_map<std::string, size_t> seen_at_;  // reflector -> index in seen_
  std::unordered_set<std::string> started_;          // SYNs' 4-tuples (bounded)
};

}  // namespace sg
