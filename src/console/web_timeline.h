// The connection-attempt rate over the last 30 minutes (docs/dashboard.md
// "GET /v1/timeline"), from heartbeat counters: each heartbeat's
// attempts_total and dropped_total minus the previous one's, over the agent
// time between them. One point per 5 s step (the mean of the rates that
// arrived in it), 360 per endpoint as floats (2.9 KiB), the fleet's summed on
// demand; and the newest 1,000 marks (estimated starts, detections, blocks,
// flood ends, operators' actions), each at its own time. Not thread-safe: the service's lock guards
// it.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace sg::console {

struct RatePoint {
  double attempts_per_s = 0;
  double dropped_per_s = 0;
};

struct TimelineMark {
  int64_t at_ms = 0;
  std::string kind;  // start | detect | block | end | action
  std::string text;
  std::optional<uint64_t> flood_id;
  std::string endpoint;  // the endpoint it concerns, "" for the fleet
};

struct TimelinePoint {
  int64_t at_ms = 0;              // start of the step
  std::optional<RatePoint> rate;  // nullopt: no heartbeat in the step
};

class RateTimeline {
 public:
  static constexpr int64_t kStepMs = 5'000;
  static constexpr size_t kPoints = 360;
  static constexpr size_t kMarks = 1'000;

  // A heartbeat's counters; returns the endpoint's new rate (nullopt for its
  // first heartbeat, or after its counters went back: an agent restart).
  std::optional<RatePoint> heartbeat(const std::string& endpoint, int64_t wall_ms,
                                     uint64_t agent_ns, uint64_t attempts, uint64_t dropped);
  // The newest rate of an endpoint (nullopt before two heartbeats).
  std::optional<RatePoint> latest(const std::string& endpoint) const;
  void forget(const std::string& endpoint);
  void mark(TimelineMark m);

  // The last kPoints steps up to now_ms, oldest first: one endpoint's, or the
  // fleet's (sum over endpoints) when `endpoint` is empty.
  std::vector<TimelinePoint> points(const std::string& endpoint, int64_t now_ms) const;
  // Marks in the window, oldest first (an endpoint's: its own and the fleet's).
  std::vector<TimelineMark> marks(const std::string& endpoint, int64_t now_ms) const;
  bool known(const std::string& endpoint) const { return series_.count(endpoint) != 0; }

 private:
  struct Series {
    std::array<float, kPoints> attempts;  // NaN: no heartbeat in that step
    std::array<float, kPoints> dropped;
    int64_t newest_step = -1;  // step index of the newest slot written
    // the newest step's running mean
    double sum_attempts = 0;
    double sum_dropped = 0;
    uint32_t n = 0;
    // the previous heartbeat
    bool have_last = false;
    uint64_t last_agent_ns = 0;
    uint64_t last_attempts = 0;
    uint64_t last_dropped = 0;
    std::optional<RatePoint> latest;
    Series();
    void advance(int64_t step);  // clears the slots between newest_step and step
    std::optional<RatePoint> at(int64_t step) const;
  };
  std::map<std::string, Series> series_;
  std::deque<TimelineMark> marks_;
};

}  // namespace sg::console
