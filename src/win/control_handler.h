// The control protocol of the Windows agent's named pipe: the Linux control
// socket's (src/agent/control_protocol.h: one JSON request per line, one JSON
// response per line) with the same response fields, answered from the
// AttemptPipeline. The pipe itself is control_pipe.h; this part is plain C++.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/config.h"
#include "win/attempt_pipeline.h"
#include "win/net_event_counts.h"

namespace sg::win {

class ControlHandler {
 public:
  // `pipeline` is used under the caller's lock; `started_ns` is the clock's
  // reading at start (uptime).
  ControlHandler(AttemptPipeline* pipeline, const AgentConfig& config, Clock* clock,
                 uint64_t started_ns, uint32_t pid)
      : pipeline_(pipeline), config_(config), clock_(clock), started_ns_(started_ns), pid_(pid) {}

  // One request line in, one response line out (without the newline).
  std::string handle(std::string_view line);
  // `status` then shows the WFP net events' counts (wfp_net_events).
  void setNetEvents(const NetEventCounts* counts) { net_events_ = counts; }

 private:
  AttemptPipeline* pipeline_;
  AgentConfig config_;
  Clock* clock_;
  uint64_t started_ns_;
  uint32_t pid_;
  const NetEventCounts* net_events_ = nullptr;
};

}  // namespace sg::win
