// The aggregate story of a capture: its packets through the destination
// table's twin (DstTable) and the PortFloodDetector, sampled every
// kDstSampleInterval of the capture's clock, as the agent harvests the
// kernel's table. Completed handshakes are the clients' first ACK of a
// 4-tuple whose SYN was seen (captures hold the incoming side). Pure.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/dst_table.h"
#include "core/port_flood.h"
#include "core/port_flood_response.h"

namespace sg {

struct ReplayPortFlood {
  PortFlood flood;               // times since the capture's first packet
  uint64_t first_packet_ns = 0;  // the flood's first attempt (at or after flood.first_ns)
  bool ended = false;            // ended within the capture (else: still on at its end)
  ResponsePlan response;         // what the agent would have engaged
  double concentration = 0;      // share of the flood's top max_prefixes prefixes
  uint64_t detectionDelayNs() const { return flood.detected_ns - first_packet_ns; }
};

class PortReplay {
 public:
  PortReplay(const PortFloodOptions& options, const sg_hash_key& key, uint8_t v6_prefix_len,
             std::vector<Prefix> allow);
  // Every parsed incoming packet, at `t_ns` since the capture's first one (never decreasing).
  void onPacket(const sg_pkt& pkt, uint64_t t_ns);
  // The capture ended at `t_ns`: floods still on are reported as such.
  std::vector<ReplayPortFlood> finish(uint64_t t_ns);

 private:
  void sampleUntil(uint64_t t_ns);
  void record(const PortFloodEvent& e);

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
  // Attempts whose handshake may still complete: 4-tuple -> destination (bounded).
  std::unordered_map<std::string, bool> pending_;
  // First attempt per destination in each sample interval (the last few).
  std::map<std::string, std::map<uint64_t, uint64_t>> first_attempts_;
  std::vector<ReplayPortFlood> floods_;
  std::map<std::string, size_t> open_;  // target -> index in floods_
};

}  // namespace sg
