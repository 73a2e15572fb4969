#include "bpf/xdp_program.h"

#include <bpf/bpf.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>

namespace sg::test {

Result<TestRun> XdpProgram::runInto(const std::vector<uint8_t>& frame, uint32_t repeat,
                                    std::vector<uint8_t>& out) const {
  out.resize(frame.size() + 256);
  LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame.data(), .data_out = out.data(),
              .data_size_in = static_cast<uint32_t>(frame.size()),
              .data_size_out = static_cast<uint32_t>(out.size()),
              .repeat = static_cast<int>(repeat));
  if (bpf_prog_test_run_opts(fd_, &opts) != 0) {
    return makeError(Errc::kIo, "BPF_PROG_TEST_RUN of a " + std::to_string(frame.size()) +
                                    "-byte frame failed: " + std::strerror(errno));
  }
  out.resize(opts.data_size_out);
  return TestRun{opts.retval, opts.duration};
}

Result<TestRun> XdpProgram::run(const std::vector<uint8_t>& frame, uint32_t repeat) const {
  std::vector<uint8_t> out;
  return runInto(frame, repeat, out);
}

namespace {

// Test input the kernel refuses is a broken test, not a result.
template <typename T>
T orAbort(Result<T> r) {
  if (!r.ok()) {
    std::fprintf(stderr, "XdpProgram: %s\n", r.error().message().c_str());
    std::abort();
  }
  return std::move(*r);
}

}  // namespace

uint32_t XdpProgram::verdict(const std::vector<uint8_t>& frame) const {
  return orAbort(run(frame)).verdict;
}

TestOutput XdpProgram::output(const std::vector<uint8_t>& frame) const {
  TestOutput o;
  o.verdict = orAbort(runInto(frame, 1, o.frame)).verdict;
  return o;
}

}  // namespace sg::test
