// Per-IP request rate limit: a token bucket per remote address (burst
// `burst`, refilled at `per_second`). The table is bounded: when it is full,
// buckets that are full again (idle clients) are dropped first, then the one
// idle longest, so spoofed-looking address churn cannot grow memory.
// Thread-safe; time from the injected Clock.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

#include "core/clock.h"

namespace sg::net {

struct RateLimit {
  double per_second = 50;  // sustained requests per second per address
  double burst = 100;      // requests an idle address may send at once
  size_t max_tracked = 65536;
};

class RateLimiter {
 public:
  RateLimiter(RateLimit limit, Clock& clock) : limit_(limit), clock_(clock) {}
  // Takes one token for `ip`; false when it has none left.
  bool allow(const std::string& ip);
  size_t tracked() const;

 private:
  struct Bucket {
    double tokens;
    uint64_t last_ns;
  };
  void refill(Bucket& b, uint64_t now) const;
  void makeRoom(uint64_t now);

  RateLimit limit_;
  Clock& clock_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Bucket> buckets_;
};

}  // namespace sg::net
