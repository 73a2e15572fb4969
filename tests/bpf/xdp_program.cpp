#include "bpf/xdp_program.h"

#include <bpf/bpf.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace sg::test {

Result<TestRun> XdpProgram::run(const std::vector<uint8_t>& frame, uint32_t repeat) const {
  std::vector<uint8_t> out(frame.size() + 256);
  LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame.data(), .data_out = out.data(),
              .data_size_in = static_cast<uint32_t>(frame.size()),
              .data_size_out = static_cast<uint32_t>(out.size()),
              .repeat = static_cast<int>(repeat));
  if (bpf_prog_test_run_opts(fd_, &opts) != 0) {
    return makeError(Errc::kIo, "BPF_PROG_TEST_RUN of a " + std::to_string(frame.size()) +
                                    "-byte frame failed: " + std::strerror(errno));
  }
  return TestRun{opts.retval, opts.duration};
}

uint32_t XdpProgram::verdict(const std::vector<uint8_t>& frame) const {
  auto r = run(frame);
  if (!r.ok()) {
    std::fprintf(stderr, "XdpProgram: %s\n", r.error().message().c_str());
    std::abort();
  }
  return r->verdict;
}

}  // namespace sg::test
