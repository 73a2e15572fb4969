#include "net/backoff.h"

#include <algorithm>
#include <cmath>

namespace sg::net {

Result<void> BackoffPolicy::validate() const {
  if (initial.count() <= 0)
    return Error(Errc::kInvalidArgument, "backoff initial delay must be > 0");
  if (max < initial) return Error(Errc::kInvalidArgument, "backoff max must be >= initial");
  if (!(multiplier >= 1.0)) return Error(Errc::kInvalidArgument, "backoff multiplier must be >= 1");
  if (!(jitter >= 0.0 && jitter <= 1.0)) {
    return Error(Errc::kInvalidArgument, "backoff jitter must be in [0, 1]");
  }
  return Ok{};
}

Backoff::Backoff(BackoffPolicy policy, Random random)
    : policy_(policy), random_(std::move(random)) {}

std::chrono::milliseconds Backoff::next() {
  double base = static_cast<double>(policy_.initial.count()) *
                std::pow(policy_.multiplier, static_cast<double>(std::min(attempt_, 64u)));
  base = std::min(base, static_cast<double>(policy_.max.count()));
  if (attempt_ < 64) ++attempt_;
  double r = std::clamp(random_(), 0.0, 1.0);
  double delay = base * (1.0 - policy_.jitter * r);
  return std::chrono::milliseconds(static_cast<int64_t>(delay));
}

}  // namespace sg::net
