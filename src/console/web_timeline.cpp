#include "console/web_timeline.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace sg::console {

namespace {

constexpr float kNone = std::numeric_limits<float>::quiet_NaN();

int64_t stepOf(int64_t ms) {
  return ms >= 0 ? ms / RateTimeline::kStepMs
                 : (ms - RateTimeline::kStepMs + 1) / RateTimeline::kStepMs;
}

size_t slotOf(int64_t step) {
  const auto n = static_cast<int64_t>(RateTimeline::kPoints);
  return static_cast<size_t>(((step % n) + n) % n);
}

}  // namespace

RateTimeline::Series::Series() {
  attempts.fill(kNone);
  dropped.fill(kNone);
}

void RateTimeline::Series::advance(int64_t step) {
  if (step <= newest_step) return;
  const int64_t from = newest_step < 0 || step - newest_step > static_cast<int64_t>(kPoints)
                           ? step - static_cast<int64_t>(kPoints) + 1
                           : newest_step + 1;
  for (int64_t s = from; s <= step; ++s) {
    attempts[slotOf(s)] = kNone;
    dropped[slotOf(s)] = kNone;
  }
  newest_step = step;
  sum_attempts = sum_dropped = 0;
  n = 0;
}

std::optional<RatePoint> RateTimeline::Series::at(int64_t step) const {
  if (step > newest_step || step <= newest_step - static_cast<int64_t>(kPoints))
    return std::nullopt;
  const float a = attempts[slotOf(step)];
  if (std::isnan(a)) return std::nullopt;
  return RatePoint{a, dropped[slotOf(step)]};
}

std::optional<RatePoint> RateTimeline::heartbeat(const std::string& endpoint, int64_t wall_ms,
                                                 uint64_t agent_ns, uint64_t attempts,
                                                 uint64_t dropped) {
  Series& s = series_[endpoint];
  std::optional<RatePoint> rate;
  if (s.have_last && agent_ns > s.last_agent_ns && attempts >= s.last_attempts &&
      dropped >= s.last_dropped) {
    const double secs = static_cast<double>(agent_ns - s.last_agent_ns) / 1e9;
    rate = RatePoint{static_cast<double>(attempts - s.last_attempts) / secs,
                     static_cast<double>(dropped - s.last_dropped) / secs};
  }
  s.have_last = true;
  s.last_agent_ns = agent_ns;
  s.last_attempts = attempts;
  s.last_dropped = dropped;
  s.latest = rate;
  if (!rate) return rate;
  const int64_t step = stepOf(wall_ms);
  if (step < s.newest_step) return rate;  // the wall clock went back: not drawn
  s.advance(step);
  s.sum_attempts += rate->attempts_per_s;
  s.sum_dropped += rate->dropped_per_s;
  ++s.n;
  s.attempts[slotOf(step)] = static_cast<float>(s.sum_attempts / s.n);
  s.dropped[slotOf(step)] = static_cast<float>(s.sum_dropped / s.n);
  return rate;
}

std::optional<RatePoint> RateTimeline::latest(const std::string& endpoint) const {
  auto it = series_.find(endpoint);
  return it == series_.end() ? std::nullopt : it->second.latest;
}

void RateTimeline::forget(const std::string& endpoint) { series_.erase(endpoint); }

void RateTimeline::mark(TimelineMark m) {
  marks_.push_back(std::move(m));
  while (marks_.size() > kMarks) marks_.pop_front();
}

std::vector<TimelinePoint> RateTimeline::points(const std::string& endpoint, int64_t now_ms) const {
  const int64_t last = stepOf(now_ms);
  const int64_t first = last - static_cast<int64_t>(kPoints) + 1;
  std::vector<TimelinePoint> out;
  out.reserve(kPoints);
  for (int64_t step = first; step <= last; ++step) {
    TimelinePoint p;
    p.at_ms = step * kStepMs;
    if (!endpoint.empty()) {
      if (auto it = series_.find(endpoint); it != series_.end()) p.rate = it->second.at(step);
    } else {
      for (const auto& [name, s] : series_) {
        auto r = s.at(step);
        if (!r) continue;
        if (!p.rate) p.rate = RatePoint{};
        p.rate->attempts_per_s += r->attempts_per_s;
        p.rate->dropped_per_s += r->dropped_per_s;
      }
    }
    out.push_back(p);
  }
  return out;
}

std::vector<TimelineMark> RateTimeline::marks(const std::string& endpoint, int64_t now_ms) const {
  const int64_t from = (stepOf(now_ms) - static_cast<int64_t>(kPoints) + 1) * kStepMs;
  std::vector<TimelineMark> out;
  for (const TimelineMark& m : marks_) {
    if (m.at_ms < from) continue;
    if (!endpoint.empty() && !m.endpoint.empty() && m.endpoint != endpoint) continue;
    out.push_back(m);
  }
  // Marks are kept as they were made, at their own times (a block reported
  // late is older than an action made meanwhile): oldest first by time.
  std::stable_sort(out.begin(), out.end(),
                   [](const TimelineMark& a, const TimelineMark& b) { return a.at_ms < b.at_ms; });
  return out;
}

}  // namespace sg::console
