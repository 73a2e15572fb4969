// Prometheus text exposition of the kernel counters (names from the one list
// in bpf/sg_shared.h), the agent's own counters and the gauges.
#pragma once

#include <cstddef>
#include <string>

#include "agent/block_book.h"
#include "sg_shared.h"

namespace sg::agent {

struct Gauges {
  size_t active_blocks = 0;
  size_t block_capacity = 0;
  size_t sources = 0;
  size_t source_capacity = 0;
  size_t interfaces = 0;
  long rss_bytes = 0;
};

std::string renderMetrics(const sg_counters& kernel, const BookCounters& book, const Gauges& g);

// The kernel counter names and help texts, in enum order.
const char* counterName(int index);
const char* counterHelp(int index);

}  // namespace sg::agent
