// The offset between an agent's monotonic clock and the console's, measured
// over the link as NTP does: a ping sent at console time t0, answered at agent
// time ta, its pong received at console time t1 gives rtt = t1 - t0 and
// offset = ta - (t0 + rtt / 2), wrong by at most rtt / 2. Of the last
// kSamples samples, the one with the smallest RTT is used (queueing only ever
// adds delay). Before any pong, one-way readings (an agent time received at a
// console time) give a coarse estimate, off by the one-way delay.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>

namespace sg::console {

class ClockOffset {
 public:
  static constexpr size_t kSamples = 8;

  void addRoundTrip(uint64_t t0_ns, uint64_t agent_ns, uint64_t t1_ns);
  void addOneWay(uint64_t agent_ns, uint64_t console_recv_ns);
  // agent clock - console clock; nullopt before any sample.
  std::optional<int64_t> offsetNs() const;
  // RTT of the sample in use; nullopt while only one-way readings exist.
  std::optional<uint64_t> rttNs() const;

 private:
  struct Sample {
    int64_t offset;
    uint64_t rtt;
  };
  std::deque<Sample> samples_;
  std::optional<int64_t> one_way_;
};

}  // namespace sg::console
