// Request rate limit: a token bucket per key (burst `burst`, refilled at
// `per_second`). Keys are remote addresses as rateKeyForAddress() words them
// (an IPv4 address, or an IPv6 /64: one host's usual allocation, so an
// attacker holding a /64 gets one budget, not 2^64), or another caller's
// key (a client certificate). The table is bounded: when it is full, the
// bucket used least recently goes, in O(1) (an LRU list), so address churn
// can neither grow memory nor make each new key cost a scan of the table.
// Thread-safe; time from the injected Clock.
#pragma once

#include <cstdint>
#include <list>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/clock.h"

namespace sg::net {

struct RateLimit {
  double per_second = 50;  // sustained requests per second per key
  double burst = 100;      // requests an idle key may send at once
  size_t max_tracked = 65536;
};

// "192.0.2.7" for IPv4 (and IPv4-mapped IPv6), "2001:db8:1:2::/64" for
// IPv6; text that is not an address is returned as it is.
std::string rateKeyForAddress(const std::string& ip);

class RateLimiter {
 public:
  RateLimiter(RateLimit limit, Clock& clock) : limit_(limit), clock_(clock) {}
  // Takes one token for `key`; false when it has none left.
  bool allow(const std::string& key);
  size_t tracked() const;

 private:
  struct Bucket {
    std::string key;
    double tokens;
    uint64_t last_ns;
  };
  using Lru = std::list<Bucket>;  // most recently used first
  void refill(Bucket& b, uint64_t now) const;

  RateLimit limit_;
  Clock& clock_;
  mutable std::mutex mu_;
  Lru lru_;
  std::unordered_map<std::string_view, Lru::iterator> index_;  // views of the list's keys
};

}  // namespace sg::net
