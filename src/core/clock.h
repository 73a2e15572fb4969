// The one clock interface. MonotonicClock reads CLOCK_MONOTONIC (the base of
// bpf_ktime_get_ns(), which stamps the kernel's events). The XDP program's own
// time base is jiffies plus an offset learnt at load: whatever is compared with
// or written into its maps uses KernelClock (src/linux/xdp_sensor_clock.h).
// Tests use FakeClock and never sleep.
#pragma once

#include <cstdint>

namespace sg {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual uint64_t nowNs() = 0;  // monotonic nanoseconds
};

class MonotonicClock final : public Clock {
 public:
  uint64_t nowNs() override;
};

class FakeClock final : public Clock {
 public:
  explicit FakeClock(uint64_t start_ns = 1'000'000'000) : now_(start_ns) {}
  uint64_t nowNs() override { return now_; }
  void advance(uint64_t ns) { now_ += ns; }
  void set(uint64_t ns) { now_ = ns; }

 private:
  uint64_t now_;
};

}  // namespace sg
