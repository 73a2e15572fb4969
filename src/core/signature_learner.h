// SignatureLearner: per target (local address and port), the SYN
// fingerprints the destination table's harvests sampled (bpf/sg_sig.h),
// split into the port's normal baseline and, while it is flooded, the
// flood's samples — the two inputs of chooseSignatures (core/signature.h).
// Pure: the caller gives the harvests' times and the floods' starts.
//
// A harvest's samples are held back for `hold` (longer than the detector's
// window) before they join the baseline: a flood is detected a few harvests
// after it began (its estimated start, PortFlood::first_ns, lies up to a
// window back), and the samples of those first harvests are the flood's,
// never the normal's. While a target is flooded its samples go to the flood
// (the latest `max_flood`), none to the baseline. The baseline's weights
// decay with the detector's learn window; it keeps at most `max_baseline`
// distinct fingerprints (the lightest go), and at most `max_targets` targets.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <vector>

#include "core/dst_table.h"
#include "core/duration.h"
#include "core/signature.h"

namespace sg {

struct SignatureLearnerOptions {
  Nanos hold = std::chrono::milliseconds(1500);   // before a sample is normal
  Nanos learn_window = std::chrono::minutes(10);  // the baseline's time constant
  size_t max_baseline = 512;                      // distinct fingerprints per target
  size_t max_flood = 1024;                        // flood samples kept per target
  size_t max_targets = 4096;
};

class SignatureLearner {
 public:
  explicit SignatureLearner(SignatureLearnerOptions options = {}) : options_(options) {}

  void onSamples(uint64_t now_ns, const std::vector<DstSample>& samples);
  // The target's flood began at first_ns (a harvest interval's start): the
  // samples of harvests after it are the flood's from now on.
  void startFlood(const sg_addr& dst, uint16_t port, uint64_t first_ns);
  // It ended: its samples are forgotten; the baseline learns again from the
  // next harvest on (held back as ever).
  void endFlood(const sg_addr& dst, uint16_t port);

  std::vector<WeightedFp> flood(const sg_addr& dst, uint16_t port) const;
  std::vector<WeightedFp> baseline(const sg_addr& dst, uint16_t port) const;
  size_t targets() const { return targets_.size(); }

 private:
  using Words = std::array<uint64_t, 3>;
  using Key = std::pair<std::array<uint8_t, 16>, uint16_t>;
  struct Held {
    uint64_t ns = 0;  // the harvest's time (end of its interval)
    std::vector<WeightedFp> samples;
  };
  struct Target {
    std::deque<Held> held;
    std::map<Words, double> baseline;
    std::deque<WeightedFp> flood;
    bool flooded = false;
    uint64_t last_seen_ns = 0, last_decay_ns = 0;
  };
  static Key keyOf(const sg_addr& dst, uint16_t port);
  void learn(Target& t, const Held& h);

  SignatureLearnerOptions options_;
  std::map<Key, Target> targets_;
};

}  // namespace sg
