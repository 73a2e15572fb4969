// The XDP program's clock, seen from user space.
//
// The program reads bpf_jiffies64() * ns_per_jiffy (nearly free, one jiffy =
// 1–10 ms resolution). ns_per_jiffy = 1e9 / CONFIG_HZ is a load-time knob, so
// HZ must be known before load: kernelHz() reads it from /proc/config.gz or
// /boot/config-$(uname -r), and measures it when neither exists. The offset
// to CLOCK_MONOTONIC is learnt after load (XdpSensor::calibrateClock()).
#pragma once

#include <chrono>
#include <cstdint>
#include <string_view>

#include "core/clock.h"
#include "core/result.h"

namespace sg {

class XdpSensor;

// CONFIG_HZ of the running kernel: from its config if readable, else measured.
Result<uint32_t> kernelHz();
// CONFIG_HZ from the text of a kernel config ("CONFIG_HZ=250" line).
Result<uint32_t> configHzFromText(std::string_view config);
// Measures HZ by counting jiffies (a two-instruction probe program run with
// BPF_PROG_TEST_RUN) over about `span`, from one tick edge to another, and
// rounds it to the nearest of the kernel's choices.
Result<uint32_t> measureHz(std::chrono::milliseconds span = std::chrono::milliseconds(50));
// The nearest of 100, 250, 300, 1000.
uint32_t roundHz(double measured);

// sg::Clock in the program's time base: what the agent's BlockBook needs to
// write manual blocks and sweep expired ones against the kernel's times.
class KernelClock final : public Clock {
 public:
  explicit KernelClock(const XdpSensor& sensor) : sensor_(sensor) {}
  uint64_t nowNs() override;

 private:
  const XdpSensor& sensor_;
};

}  // namespace sg
