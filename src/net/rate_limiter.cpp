#include "net/rate_limiter.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

namespace sg::net {

std::string rateKeyForAddress(const std::string& ip) {
  in6_addr a6{};
  if (ip.find(':') == std::string::npos || inet_pton(AF_INET6, ip.c_str(), &a6) != 1) return ip;
  char text[INET6_ADDRSTRLEN] = {};
  if (IN6_IS_ADDR_V4MAPPED(&a6)) {
    in_addr a4{};
    std::memcpy(&a4, &a6.s6_addr[12], sizeof a4);
    return inet_ntop(AF_INET, &a4, text, sizeof text) != nullptr ? std::string(text) : ip;
  }
  std::memset(&a6.s6_addr[8], 0, 8);  // the interface half: one /64, one key
  if (inet_ntop(AF_INET6, &a6, text, sizeof text) == nullptr) return ip;
  return std::string(text) + "/64";
}

void RateLimiter::refill(Bucket& b, uint64_t now) const {
  if (now > b.last_ns) {
    double add = static_cast<double>(now - b.last_ns) * 1e-9 * limit_.per_second;
    b.tokens = std::min(limit_.burst, b.tokens + add);
  }
  b.last_ns = now;
}

bool RateLimiter::allow(const std::string& key) {
  uint64_t now = clock_.nowNs();
  std::lock_guard<std::mutex> lock(mu_);
  auto it = index_.find(key);
  if (it == index_.end()) {
    if (index_.size() >= std::max<size_t>(limit_.max_tracked, 1)) {
      // The least recently used key goes: the one idle longest.
      index_.erase(lru_.back().key);
      lru_.pop_back();
    }
    lru_.push_front(Bucket{key, limit_.burst, now});
    it = index_.emplace(lru_.front().key, lru_.begin()).first;
  } else if (it->second != lru_.begin()) {
    lru_.splice(lru_.begin(), lru_, it->second);  // iterators stay valid
  }
  Bucket& b = *it->second;
  refill(b, now);
  if (b.tokens < 1.0) return false;
  b.tokens -= 1.0;
  return true;
}

size_t RateLimiter::tracked() const {
  std::lock_guard<std::mutex> lock(mu_);
  return index_.size();
}

}  // namespace sg::net
