// The one clock interface. Production reads CLOCK_MONOTONIC, the same base as
// the kernel's bpf_ktime_get_*ns(); tests use FakeClock and never sleep.
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
