#include "net/rate_limiter.h"

#include <algorithm>

namespace sg::net {

void RateLimiter::refill(Bucket& b, uint64_t now) const {
  if (now > b.last_ns) {
    double add = static_cast<double>(now - b.last_ns) * 1e-9 * limit_.per_second;
    b.tokens = std::min(limit_.burst, b.tokens + add);
  }
  b.last_ns = now;
}

void RateLimiter::makeRoom(uint64_t now) {
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    refill(it->second, now);
    it = it->second.tokens >= limit_.burst ? buckets_.erase(it) : std::next(it);
  }
  if (buckets_.size() < limit_.max_tracked) return;
  auto oldest = std::min_element(
      buckets_.begin(), buckets_.end(),
      [](const auto& a, const auto& b) { return a.second.last_ns < b.second.last_ns; });
  buckets_.erase(oldest);
}

bool RateLimiter::allow(const std::string& ip) {
  uint64_t now = clock_.nowNs();
  std::lock_guard<std::mutex> lock(mu_);
  auto it = buckets_.find(ip);
  if (it == buckets_.end()) {
    if (buckets_.size() >= limit_.max_tracked) makeRoom(now);
    it = buckets_.emplace(ip, Bucket{limit_.burst, now}).first;
  }
  refill(it->second, now);
  if (it->second.tokens < 1.0) return false;
  it->second.tokens -= 1.0;
  return true;
}

size_t RateLimiter::tracked() const {
  std::lock_guard<std::mutex> lock(mu_);
  return buckets_.size();
}

}  // namespace sg::net
