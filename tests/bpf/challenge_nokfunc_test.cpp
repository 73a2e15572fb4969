// Challenge instead of block on a host without the conntrack kfuncs
// (syn_guard_nokfunc: the program built with kfunc names no kernel has,
// bpf/sg_syncookie.h): the ACK check cannot run there, so a source over the
// threshold is blocked, not challenged, and the program counts the fallback
// (challenges_fallback_total; the agent says so at start).
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

#include "bpf/packet_builder.h"
#include "core/config.h"
#include "core/kernel_config.h"
#include "sg_challenge.h"
#include "sg_syncookie.h"
#include "syn_guard_nokfunc.skel.h"
#include "test_helpers.h"

namespace sg::test {
namespace {

struct SkelDeleter {
  void operator()(syn_guard_nokfunc* s) const { syn_guard_nokfunc__destroy(s); }
};

uint32_t testRun(int prog_fd, const std::vector<uint8_t>& in) {
  std::vector<uint8_t> out(512);
  LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in.data(), .data_out = out.data(),
              .data_size_in = static_cast<uint32_t>(in.size()),
              .data_size_out = static_cast<uint32_t>(out.size()));
  EXPECT_EQ(bpf_prog_test_run_opts(prog_fd, &opts), 0) << std::strerror(errno);
  return opts.retval;
}

uint64_t counter(syn_guard_nokfunc* skel, int which) {
  const int ncpu = libbpf_num_possible_cpus();
  std::vector<sg_counters> per(static_cast<size_t>(ncpu));
  const uint32_t zero = 0;
  EXPECT_EQ(bpf_map_lookup_elem(bpf_map__fd(skel->maps.sg_counters_map), &zero, per.data()), 0);
  uint64_t sum = 0;
  for (const auto& c : per) sum += c.c[which];
  return sum;
}

TEST(ChallengeNoKfuncs, ACrossingIsBlockedInsteadAndTheFallbackCounted) {
  SG_REQUIRE_ROOT();
  std::unique_ptr<syn_guard_nokfunc, SkelDeleter> skel(syn_guard_nokfunc__open_and_load());
  ASSERT_NE(skel, nullptr) << std::strerror(errno);
  AgentConfig ac;
  ac.threshold = 5;
  ac.source_response = SourceResponse::kChallenge;
  sg_config cfg = toKernelConfig(ac);
  ASSERT_EQ(cfg.source_response, SG_RESPONSE_CHALLENGE);
  const uint32_t zero = 0;
  ASSERT_EQ(bpf_map_update_elem(bpf_map__fd(skel->maps.sg_config_map), &zero, &cfg, BPF_ANY), 0);
  const int prog = bpf_program__fd(skel->progs.syn_guard_xdp);
  int dropped = 0;
  for (uint32_t i = 0; i < 6; i++) {
    PacketSpec s = synFrom("198.51.100.7", 8080);
    s.seq = 1000 + i;
    dropped += testRun(prog, buildPacket(s)) == XDP_DROP ? 1 : 0;
  }
  EXPECT_EQ(dropped, 1) << "the crossing SYN is dropped: a block, not a challenge";
  EXPECT_EQ(counter(skel.get(), SG_CNT_CHAL_FALLBACK), 1u);
  EXPECT_EQ(counter(skel.get(), SG_CNT_CHAL_ADDED), 0u);
  EXPECT_EQ(counter(skel.get(), SG_CNT_BLOCKS_ADDED), 1u);
}

}  // namespace
}  // namespace sg::test
