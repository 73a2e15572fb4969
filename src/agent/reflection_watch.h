// ReflectionWatch: the agent's side of SYN-ACK reflection (bpf/sg_reflect.h)
// and verified sources (bpf/sg_verified.h). apply() pushes both features'
// knobs to the sensor; every harvest tick, onTick() reads the unmatched
// SYN-ACK counter and the reflectors the kernel saw, runs the
// ReflectionDetector (core/reflection.h), logs `reflection_detected` /
// `reflection_ended`, and while a reflection lasts (with reflection_drop)
// lists the busiest reflectors it harvested for the kernel's drop and turns the drop
// on (never when the agent is detect-only): only their unmatched SYN-ACKs are dropped. A sensor
// that cannot tell a NATed connection's SYN-ACK from a reflected one (no conntrack kfuncs) never
// drops; the events say so. Shown in `status`, counted in metrics.
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
  // A reflector (address, port) is listed for the drop only once it sent at
  // least kDropMinRate unmatched SYN-ACKs per second over the rate window,
  // and at least kDropMinSynAcks in it: one connection attempt's SYN-ACK is
  // retransmitted at most once a second (1 s initial timeout, doubling), so
  // a server seen once or twice (another host's connect whose SYN-ACK came
  // here unmatched) is never listed; a reflector that matters sends many.
  static constexpr double kDropMinRate = 5;
  static constexpr uint64_t kDropMinSynAcks = 5;

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
  nlohmann::json eventJson(const Reflection& r, bool ended) const;
  // The reflectors of the detector's rate window over the drop's minimum,
  // busiest first, at most SG_REFLECT_DROPS_MAX.
  std::vector<ReflectorCount> busiestReflectors() const;

  SensorPort& sensor_;
  EventLog& log_;
  ReflectionDetector detector_;
  VerifiedOptions verified_;
  ReflectionCounters counters_;
  uint64_t last_unmatched_ = 0;
  bool dropping_ = false;
};

}  // namespace sg::agent
