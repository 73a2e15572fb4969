// SYN-ACK reflection detection: SYN-ACKs arriving for connections this host
// never opened (the kernel counts them, bpf/sg_reflect.h; replay finds them
// in a capture, core/replay_reflect.h). Pure: the caller gives the time of
// each harvest, the unmatched SYN-ACKs counted so far and the reflectors
// (source, port) seen since the previous harvest.
//
// A reflection is on while the unmatched rate (over the last `rate_window`,
// per second) exceeds `threshold`; it ends once the rate has stayed at or
// under it for `end_after`. Events name the rate, the peak, the reflecting
// sources and ports that sent most of it, and whether it is dropped.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/address.h"
#include "core/duration.h"
#include "core/result.h"

namespace sg {

struct ReflectionOptions {
  // Look inbound SYN-ACKs up (the kernel's socket lookup) and count the
  // unmatched ones; off: the path is skipped and nothing is detected.
  bool enabled = true;
  // Unmatched SYN-ACKs per second that make a reflection (1..1e9).
  double threshold = 100;
  // Drop unmatched SYN-ACKs while a reflection lasts (else: report only).
  bool drop = true;
  // The rate is measured over this window (100ms..60s).
  Nanos rate_window = std::chrono::seconds(1);
  // A reflection ends after the rate stayed at or under the threshold this long (100ms..1h).
  Nanos end_after = std::chrono::seconds(3);
};

// Verified sources (bpf/sg_verified.h): a source (its exact address) that
// completed a handshake within `ttl` passes the port-flood responses (prefix
// blocks a flood made, XDP SYN cookies, the signature drop); its per-source
// blocks still apply.
struct VerifiedOptions {
  bool enabled = true;
  // How long a completed handshake verifies its source (1s..7d).
  Nanos ttl = std::chrono::minutes(10);
  // Entries of the kernel's LRU table (1024..4M); restart to change.
  uint32_t max_entries = 65536;
  // New verified addresses per /48 (IPv6) or /24 (IPv4) per `ttl` window
  // (1..65536): one prefix has at most twice this many verified at once. An
  // IPv6 /64 takes at most a 16th of them (at least 1), the table at most
  // max_entries / 2 new addresses per window, one IPv6 /32 or IPv4 /16 a 16th
  // of those (bpf/sg_verified.h).
  uint32_t per_prefix = 64;
};

Result<void> validateReflectionOptions(const ReflectionOptions& o);
Result<void> validateVerifiedOptions(const VerifiedOptions& o);

// Unmatched SYN-ACKs from one reflector (address and its port) in a harvest.
struct ReflectorCount {
  Address src;
  uint16_t port = 0;  // the reflector's (source) port
  uint64_t count = 0;
};

struct SourceShare {
  std::string src;  // address, or port as text in top_ports
  uint64_t synacks = 0;
};

struct Reflection {
  uint64_t first_ns = 0;  // the window's first unmatched SYN-ACK sample (estimated start)
  uint64_t detected_ns = 0;
  uint64_t ended_ns = 0;  // set when it ends
  double rate = 0;        // unmatched SYN-ACKs/s over the window, at detection (then latest)
  double peak_rate = 0;
  uint64_t synacks = 0;                  // unmatched SYN-ACKs since first_ns
  uint64_t distinct_reflectors = 0;      // addresses seen (capped at kMaxTracked)
  std::vector<SourceShare> top_sources;  // at most 8, by SYN-ACKs
  std::vector<SourceShare> top_ports;    // reflectors' ports, at most 8
  bool dropped = false;                  // the drop was on for it
};

struct ReflectionEvent {
  enum class Kind { kDetected, kEnded };
  Kind kind = Kind::kDetected;
  Reflection reflection;
};

class ReflectionDetector {
 public:
  // Distinct reflector addresses and ports remembered per reflection.
  static constexpr size_t kMaxTracked = 16384;

  explicit ReflectionDetector(ReflectionOptions options) : options_(options) {}
  // One harvest at `now_ns` (never decreasing): `unmatched_total` is the
  // cumulative count, `seen` the reflectors since the previous harvest.
  std::optional<ReflectionEvent> onSample(uint64_t now_ns, uint64_t unmatched_total,
                                          const std::vector<ReflectorCount>& seen);
  const std::optional<Reflection>& active() const { return active_; }
  // The reflectors harvested within the current rate window, its base
  // sample's included (what a detection is made of).
  std::vector<ReflectorCount> windowReflectors() const;
  double rate() const { return rate_; }
  void setOptions(const ReflectionOptions& o) { options_ = o; }
  const ReflectionOptions& options() const { return options_; }

 private:
  struct Sample {
    uint64_t ns = 0;
    uint64_t total = 0;
    std::vector<ReflectorCount> seen;
  };
  void absorb(const std::vector<ReflectorCount>& seen);
  void summarise();

  ReflectionOptions options_;
  std::deque<Sample> window_;
  std::optional<Reflection> active_;
  double rate_ = 0;
  uint64_t quiet_since_ns_ = 0;  // 0: the rate is over the threshold
  uint64_t base_total_ = 0;      // the counter at the reflection's start
  std::map<std::string, uint64_t> sources_;
  std::map<uint16_t, uint64_t> ports_;
};

// A reflection's event fields (reflection_detected / reflection_ended, replay --json).
nlohmann::json reflectionJson(const Reflection& r, bool ended);

}  // namespace sg
