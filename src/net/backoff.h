// Reconnect delays: exponential from `initial` by `multiplier` up to `max`,
// each drawn uniformly from [base * (1 - jitter), base] so that agents cut
// off together (a console restart) come back spread out, not as a herd.
// Pure: the random source is injected (uniform in [0, 1)).
#pragma once

#include <chrono>
#include <functional>

#include "core/result.h"

namespace sg::net {

struct BackoffPolicy {
  std::chrono::milliseconds initial{500};
  std::chrono::milliseconds max{30'000};
  double multiplier = 2.0;
  double jitter = 0.5;  // 0: no jitter, 1: anywhere in [0, base]

  Result<void> validate() const;
};

class Backoff {
 public:
  using Random = std::function<double()>;  // uniform in [0, 1)
  Backoff(BackoffPolicy policy, Random random);
  // The delay before the next attempt; grows with each call.
  std::chrono::milliseconds next();
  // After a connection that worked: start again from `initial`.
  void reset() { attempt_ = 0; }
  unsigned attempts() const { return attempt_; }

 private:
  BackoffPolicy policy_;
  Random random_;
  unsigned attempt_ = 0;
};

}  // namespace sg::net
