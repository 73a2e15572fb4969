// Port-flood detection: floods keyed by target (local address and port)
// rather than by source, from the destination-side counters' harvests
// (core/dst_table.h). Pure: the caller gives the time of each harvest.
//
// A port is flooded when its attempt rate (attempts over the last
// `rate_window`, per second) reaches `floor` AND either
//   - `factor` times its learned normal rate, or
//   - its completion ratio (handshakes completed / attempts, same window)
//     has collapsed below `collapse` times its learned normal ratio.
// While a port is young (its first `warmup`) there is no normal to compare
// with: over the floor it is flagged only when under `collapse` of its
// attempts complete (a busy service completes its handshakes; a spoofed
// flood completes none), or on the rate alone when handshakes are not
// visible at all (no tracepoint).
//
// A port whose handshakes complete out of the agent's sight — DNAT-published
// to a container or pod (Docker -p, NodePort): its SYNs are counted here, its
// handshakes complete in another network namespace, so its ratio reads 0 —
// is never judged on its ratio. The ListenerProbe tells: no listening socket
// for the port in the agent's namespace. Young, such a port is flagged only
// at `factor` times the floor (no normal, no ratio to read); after its
// warm-up, by its rate against its normal. Asked only when the ratio would
// decide, and again at most every kListenerRecheck.
//
// The normal rate and ratio are moving averages (time constant
// `learn_window`) of the port's quiet time: they never learn a flood.
// A flood ends when the same test, with the floor and the factor halved
// (hysteresis), has failed for `end_after`.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/address.h"
#include "core/dst_table.h"
#include "core/port_flood_options.h"

namespace sg {

struct PrefixShare {
  Prefix prefix;
  uint64_t attempts = 0;  // guaranteed (Space-Saving's count - err), in the window
  double share = 0;       // of the window's attempts
};

// One flood as last measured.
struct PortFlood {
  sg_addr dst{};
  uint16_t dst_port = 0;
  std::string reason;     // "rate" or "completion_ratio"
  uint64_t first_ns = 0;  // the flood's first sample interval (its estimated start)
  uint64_t detected_ns = 0;
  uint64_t ended_ns = 0;  // set on port_flood_ended
  double rate = 0;        // attempts/s over the window, at detection (then latest)
  double peak_rate = 0;
  double normal_rate = 0;               // learned, at detection
  uint64_t distinct_sources = 0;        // HyperLogLog estimate over the window
  uint64_t peak_distinct_sources = 0;   // highest window estimate
  uint64_t total_distinct_sources = 0;  // estimate over the whole flood so far
  double completion_ratio = 0;  // over the window (ended: over the whole flood); 1: no attempt
  std::vector<PrefixShare> top_prefixes;  // by guaranteed attempts, at most 8
  uint64_t attempts = 0;                  // attempts since first_ns
  uint64_t completions = 0;               // handshakes completed since first_ns
  std::string response = "none";          // what the agent engaged (or would: replay)
  std::vector<Prefix> response_prefixes;
  bool in_warmup = false;  // detected in the port's warm-up (no normal yet)
};

// Whether handshakes to a local address and port complete where the agent
// sees them: a socket listens for it in the agent's network namespace.
class ListenerProbe {
 public:
  virtual ~ListenerProbe() = default;
  virtual bool listening(const sg_addr& dst, uint16_t port) = 0;
};

struct PortFloodEvent {
  enum class Kind { kDetected, kEnded };
  Kind kind = Kind::kDetected;
  PortFlood flood;
};

class PortFloodDetector {
 public:
  // `handshakes_visible`: completions are counted (the tracepoint attached;
  // replay: the capture shows the clients' ACKs).
  PortFloodDetector(PortFloodOptions options, bool handshakes_visible);

  // One harvest at `now_ns` (every destination the table holds).
  std::vector<PortFloodEvent> onSamples(uint64_t now_ns, const std::vector<DstSample>& samples);
  std::vector<PortFlood> active() const;
  // The learned normal rate of a destination (0 when unknown), for tests and status.
  double normalRate(const sg_addr& dst, uint16_t port) const;
  const PortFloodOptions& options() const { return options_; }
  // Replaces the options (live reload); learned state is kept.
  void setOptions(const PortFloodOptions& o) { options_ = o; }
  // Where ports' handshakes are visible; none (replay, tests): every port's.
  void setListenerProbe(ListenerProbe* probe) { probe_ = probe; }

  // How often a port without a listener is asked again (a service that
  // starts listening after its port was first seen).
  static constexpr uint64_t kListenerRecheck = 10'000'000'000;

 private:
  struct Tick {
    uint64_t start_ns = 0, ns = 0;  // the harvest interval (start_ns, ns]
    uint64_t attempts = 0, completions = 0;
    uint32_t bank_attempts = 0;
    std::array<uint8_t, SG_HLL_REGS> hll{};
    std::array<sg_hh_entry, SG_HH_SLOTS> hh{};
  };
  struct Port {
    sg_addr dst{};
    uint16_t port = 0;
    uint64_t first_seen_ns = 0, last_ns = 0, last_seen_ns = 0;
    bool seen = false;     // in this harvest
    double learned_s = 0;  // quiet time learned from
    uint64_t last_attempts = 0, last_completions = 0;
    std::deque<Tick> ticks;  // within rate_window
    double normal_rate = 0, normal_ratio = 0;
    bool ratio_known = false;
    uint64_t quiet_since_ns = 0;  // while flooded: when its test began failing (0: holds)
    std::optional<PortFlood> flood;
    std::array<uint8_t, SG_HLL_REGS> flood_hll{};  // every source of the flood so far
    bool ratio_visible = true;                     // its handshakes complete in the agent's sight
    uint64_t probed_ns = 0;                        // when the probe was last asked (0: never)
  };
  struct Window {
    double rate = 0, ratio = 1;
    uint64_t attempts = 0;
    uint64_t distinct = 0;
    std::vector<PrefixShare> top;
  };
  // Attempts a window needs before its completion ratio is learned.
  static constexpr uint64_t kRatioMinAttempts = 20;

  Window measure(const Port& p) const;
  // The flood test; `scale` < 1 relaxes it (the end's hysteresis). Returns the reason or "".
  std::string exceeds(const Port& p, const Window& w, uint64_t now_ns, double scale) const;
  // Asks the probe about `p` when its ratio could decide (over half the
  // floor, under `collapse` completing) and it is due.
  void probe(Port& p, const Window& w, uint64_t now_ns);
  void learn(Port& p, const Tick& t, double dt_s);
  void step(Port& p, uint64_t now_ns, std::vector<PortFloodEvent>* out);

  PortFloodOptions options_;
  bool handshakes_visible_;
  ListenerProbe* probe_ = nullptr;
  uint64_t last_harvest_ns_ = 0;
  std::map<std::pair<std::array<uint8_t, 16>, uint16_t>, Port> ports_;
};

// "192.0.2.10:25565", "[2001:db8::1]:443".
std::string formatTarget(const sg_addr& dst, uint16_t port);

}  // namespace sg
