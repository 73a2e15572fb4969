#include "console/clock_offset.h"

namespace sg::console {

void ClockOffset::addRoundTrip(uint64_t t0_ns, uint64_t agent_ns, uint64_t t1_ns) {
  if (t1_ns < t0_ns) return;  // not our ping, or a broken echo: ignore
  const uint64_t rtt = t1_ns - t0_ns;
  const auto mid = static_cast<int64_t>(t0_ns + rtt / 2);
  samples_.push_back({static_cast<int64_t>(agent_ns) - mid, rtt});
  if (samples_.size() > kSamples) samples_.pop_front();
}

void ClockOffset::addOneWay(uint64_t agent_ns, uint64_t console_recv_ns) {
  // The agent's reading is older than its arrival: the largest offset seen
  // is the closest to the truth.
  const int64_t o = static_cast<int64_t>(agent_ns) - static_cast<int64_t>(console_recv_ns);
  if (!one_way_ || o > *one_way_) one_way_ = o;
}

std::optional<int64_t> ClockOffset::offsetNs() const {
  if (samples_.empty()) return one_way_;
  const Sample* best = &samples_.front();
  for (const auto& s : samples_) {
    if (s.rtt < best->rtt) best = &s;
  }
  return best->offset;
}

std::optional<uint64_t> ClockOffset::rttNs() const {
  if (samples_.empty()) return std::nullopt;
  uint64_t best = samples_.front().rtt;
  for (const auto& s : samples_) best = s.rtt < best ? s.rtt : best;
  return best;
}

}  // namespace sg::console
