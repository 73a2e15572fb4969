// ReflectionWatch: the agent's side of SYN-ACK reflection (bpf/sg_reflect.h)
// and verified sources (bpf/sg_verified.h). apply() pushes both features'
// knobs to the sensor; every harvest tick, onTick() reads the unmatched
// SYN-ACK counter and the reflectors the kernel saw, runs the
// ReflectionDetector (core/reflection.h), logs `reflection_detected` /
// `reflection_ended`, and turns the kernel's drop of unmatched SYN-ACKs on
// while a reflection lasts (when reflection_drop is on and the agent is not
// detect-only). Shown in `status`,
// counted in metrics.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "agent/event_log.h"
#include "agent/sensor_port.h"
#include "core/reflection.h"

namespace sg::agent {

struct ReflectionCounters {
  uint64_t detected = 0;  // reflection_detected events
  uint64_t ended = 0;     // reflection_ended events
};

class ReflectionWatch {
 public:
  ReflectionWatch(SensorPort& sensor, EventLog& log, const ReflectionOptions& reflection)
      : sensor_(sensor), log_(log), detector_(reflection) {}

  // Pushes the options to the sensor (live: no reload); `verified_ttl_ns`
  // in the program's time base (the same length as verified.ttl).
  // `detect_only` (--enforcer none): reflections are reported, never dropped,
  // whatever reflection.drop says.
  void apply(const ReflectionOptions& reflection, const VerifiedOptions& verified,
             bool detect_only);
  // One harvest at `now_ns`; returns whether anything is going on (unmatched
  // SYN-ACKs arrived, or a reflection lasts).
  bool onTick(uint64_t now_ns);

  nlohmann::json statusJson();
  std::string metricsText() const;
  const ReflectionCounters& counters() const { return counters_; }
  bool active() const { return detector_.active().has_value(); }

 private:
  SensorPort& sensor_;
  EventLog& log_;
  ReflectionDetector detector_;
  VerifiedOptions verified_;
  ReflectionCounters counters_;
  uint64_t last_unmatched_ = 0;
  bool dropping_ = false;
};

}  // namespace sg::agent
