// Prometheus text exposition of the kernel counters (names from the one list
// in bpf/sg_shared.h), the agent's own counters and the gauges; and the
// MetricsExchange through which the metrics thread gets them from the loop.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>

#include "agent/block_book.h"
#include "sg_shared.h"

namespace sg::agent {

struct Gauges {
  size_t active_blocks = 0;
  size_t block_capacity = 0;
  size_t active_prefix_blocks = 0;
  size_t prefix_block_capacity = 0;
  size_t sources = 0;
  size_t source_capacity = 0;
  size_t interfaces = 0;
  long rss_bytes = 0;
};

std::string renderMetrics(const sg_counters& kernel, const BookCounters& book, const Gauges& g);

// Everything one scrape shows, read by the loop at one instant.
struct MetricsValues {
  sg_counters kernel{};
  BookCounters book;
  Gauges gauges;
  std::string extra;  // more exposition text (the console link's metrics)
};
inline std::string renderMetrics(const MetricsValues& v) {
  return renderMetrics(v.kernel, v.book, v.gauges) + v.extra;
}

// How the metrics thread gets figures from the single-threaded event loop
// without touching the loop's state or holding a lock the loop waits on:
//   scrape (server thread): fresh() writes to an eventfd, then waits (at most
//     `wait`) on a condition variable for the next snapshot;
//   loop: the eventfd is one of its descriptors; when readable it reads the
//     sensor and the block book as for any event and calls publish(), which
//     copies the values under the mutex and wakes the waiters.
// The mutex guards only the snapshot (a copy of ~50 numbers), so neither side
// can hold up the other for longer than that copy. A loop that does not answer
// in time (it is busy with a burst of events) gets its previous snapshot
// served; concurrent scrapes share one refresh. An idle agent does no metrics
// work between scrapes.
class MetricsExchange {
 public:
  MetricsExchange();
  ~MetricsExchange();
  MetricsExchange(const MetricsExchange&) = delete;
  MetricsExchange& operator=(const MetricsExchange&) = delete;

  // Loop side: readable when a scrape waits for fresh values.
  int requestFd() const { return event_fd_; }
  // Loop side: stores `values` as the newest snapshot and clears the request.
  void publish(const MetricsValues& values);

  // Any thread: the values the loop publishes after this call, or the newest
  // ones it has if none come within `wait`.
  MetricsValues fresh(std::chrono::milliseconds wait);
  uint64_t generation();

 private:
  int event_fd_;
  std::mutex mu_;
  std::condition_variable published_;
  MetricsValues values_;
  uint64_t generation_ = 0;
};

// The kernel counter names and help texts, in enum order.
const char* counterName(int index);
const char* counterHelp(int index);

}  // namespace sg::agent
