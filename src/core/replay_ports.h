// The aggregate story of a capture: its packets through the destination
// table's twin (DstTable) and the PortFloodDetector, sampled every
// kDstSampleInterval of the capture's clock, as the agent harvests the
// kernel's table. Completed handshakes are the ones replay's HandshakeMatch
// (core/handshake_match.h) sees complete. Pure.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/dst_table.h"
#include "core/port_flood.h"
#include "core/port_flood_response.h"
#include "core/signature.h"
#include "core/signature_learner.h"

namespace sg {

// The signature drop on a replayed flood (core/signature.h): what the agent
// would have chosen, from the samples its harvests would have had, and what
// that drops, counted exactly over the capture's attempts to the target.
struct ReplaySignature {
  std::vector<sg_sig> signatures;     // the last chosen (empty: none)
  std::string why;                    // the chooser's reason (or why not)
  std::optional<uint64_t> chosen_ns;  // first chosen, since the capture's first packet
  double sampled_coverage = 0;        // the chooser's own estimate
  uint64_t attempts_after = 0;        // attempts to the target from the choice to the flood's end
  uint64_t dropped = 0;               // of them, matching the signatures active then
  uint64_t flood_attempts = 0;        // every attempt from the flood's first packet to its end
  uint64_t normal_attempts = 0;       // attempts to the target before its first flood's start
  uint64_t normal_matched = 0;        // of them, matching the last signatures
  // Dropped share of the attempts after the choice, and of the whole flood.
  double dropShare() const {
    return attempts_after ? static_cast<double>(dropped) / static_cast<double>(attempts_after) : 0;
  }
  double floodShare() const {
    return flood_attempts ? static_cast<double>(dropped) / static_cast<double>(flood_attempts) : 0;
  }
  double normalShare() const {
    return normal_attempts
               ? static_cast<double>(normal_matched) / static_cast<double>(normal_attempts)
               : 0;
  }
};

struct ReplayPortFlood {
  PortFlood flood;               // times since the capture's first packet
  uint64_t first_packet_ns = 0;  // the flood's first attempt (at or after flood.first_ns)
  bool ended = false;            // ended within the capture (else: still on at its end)
  ResponsePlan response;         // what the agent would have engaged
  double concentration = 0;      // share of the flood's top max_prefixes prefixes
  ReplaySignature signature;     // the signature drop (when port_flood.signature_drop)
  uint64_t detectionDelayNs() const { return flood.detected_ns - first_packet_ns; }
};

class PortReplay {
 public:
  PortReplay(const PortFloodOptions& options, const sg_hash_key& key, uint8_t v6_prefix_len,
             std::vector<Prefix> allow);
  // Every parsed incoming packet, at `t_ns` since the capture's first one
  // (never decreasing); an attempt with its SYN fingerprint (sg_sig_fp_frame);
  // `completes`: the packet is the ACK completing a handshake (HandshakeMatch).
  void onPacket(const sg_pkt& pkt, uint64_t t_ns, const sg_sig_fp* fp = nullptr,
                bool completes = false);
  // The capture ended at `t_ns`: floods still on are reported as such.
  std::vector<ReplayPortFlood> finish(uint64_t t_ns);

 private:
  using Words = std::array<uint64_t, 3>;
  // Exact fingerprint counts of a target's attempts (bounded).
  struct FpCounts {
    std::map<Words, uint64_t> counts;
    uint64_t total = 0;
    void add(const Words& w, uint64_t n);
    void merge(const FpCounts& other);
  };
  struct SigTarget {
    std::map<uint64_t, FpCounts> recent;  // sample interval -> its attempts, not yet normal
    FpCounts normal;                      // before the target's first flood
    bool flooded = false;                 // it had a flood: later attempts are not normal
    std::vector<sg_sig> active;           // the signatures in force now
    uint64_t next_choice_ns = 0;
  };
  void sampleUntil(uint64_t t_ns);
  void record(const PortFloodEvent& e);
  void chooseFor(ReplayPortFlood& r, SigTarget& t, uint64_t now_ns);
  void countSignature(const sg_pkt& pkt, uint64_t t_ns, const sg_sig_fp& fp);

  PortFloodOptions options_;
  std::vector<Prefix> allow_;
  DstTable table_;
  PortFloodDetector detector_;
  uint64_t next_sample_ns_;
  // The last harvest found no attempt and no flood lasts: nothing can change
  // until the next packet, so sampling skips to it (as the agent's idle
  // interval does) instead of stepping through a gap in the capture's clock
  // one interval at a time (a timestamp years ahead was a hang).
  bool idle_ = true;
  // First attempt per destination in each sample interval (the last few).
  std::map<std::string, std::map<uint64_t, uint64_t>> first_attempts_;
  std::vector<ReplayPortFlood> floods_;
  std::map<std::string, size_t> open_;  // target -> index in floods_
  SignatureLearner learner_;
  std::map<std::string, SigTarget> sig_targets_;  // bounded by the destination table's size
};

}  // namespace sg
