// XdpProgram: runs frames through a loaded XDP program with
// BPF_PROG_TEST_RUN (no interface, no traffic). Used by the tests in
// tests/bpf/ and by bench/xdp_cost_bench.cpp.
#pragma once

#include <linux/bpf.h>  // XDP_PASS, XDP_DROP

#include <cstdint>
#include <vector>

#include "core/result.h"

namespace sg::test {

struct TestRun {
  uint32_t verdict = 0;      // XDP_PASS, XDP_DROP, ...
  uint32_t duration_ns = 0;  // the kernel's average per run (with repeat)
};

// One run's verdict and the frame as the program left it (rewritten into a
// reply when it answered XDP_TX).
struct TestOutput {
  uint32_t verdict = 0;
  std::vector<uint8_t> frame;
};

class XdpProgram {
 public:
  explicit XdpProgram(int prog_fd) : fd_(prog_fd) {}

  // One run of `frame` (at least 14 bytes: the kernel refuses shorter test
  // input), repeated `repeat` times by the kernel.
  Result<TestRun> run(const std::vector<uint8_t>& frame, uint32_t repeat = 1) const;
  // The verdict only; aborts the test run on a syscall failure (test input
  // the kernel refuses is a broken test, not a result).
  uint32_t verdict(const std::vector<uint8_t>& frame) const;
  // The verdict and the output frame; aborts as verdict() does.
  TestOutput output(const std::vector<uint8_t>& frame) const;

 private:
  Result<TestRun> runInto(const std::vector<uint8_t>& frame, uint32_t repeat,
                          std::vector<uint8_t>& out) const;
  int fd_;
};

}  // namespace sg::test
