// The XDP program on a host without the conntrack kfuncs (nf_conntrack a
// module not loaded): syn_guard_nokfunc is the program built with kfunc
// names no kernel has (SG_CK_ABSENT_KFUNCS, bpf/sg_syncookie.h), so libbpf
// leaves them unresolved as it would there. The program must still load (the
// kfuncs are weak, their calls pruned behind bpf_ksym_exists) and an ACK to
// a cookie port must reach the stack instead of a conntrack lookup.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
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

TEST(SynCookieNoKfuncs, TheProgramLoadsAndAnAckToACookiePortGoesToTheStack) {
  SG_REQUIRE_ROOT();
  std::unique_ptr<syn_guard_nokfunc, SkelDeleter> skel(syn_guard_nokfunc__open_and_load());
  ASSERT_NE(skel, nullptr) << "the program did not load without bpf_xdp_ct_lookup: "
                           << std::strerror(errno);
  const uint32_t zero = 0;
  const sg_config cfg = toKernelConfig(AgentConfig{});
  ASSERT_EQ(bpf_map_update_elem(bpf_map__fd(skel->maps.sg_config_map), &zero, &cfg, BPF_ANY), 0);
  const uint32_t port = 8080;
  const uint8_t mode = SG_COOKIE_ANY_ADDR;
  ASSERT_EQ(bpf_map_update_elem(bpf_map__fd(skel->maps.sg_cookie_ports), &port, &mode, BPF_ANY), 0);
  skel->data_cookie->sg_cookie.ports = 1;
  const int prog = bpf_program__fd(skel->progs.syn_guard_xdp);

  PacketSpec ack = synFrom("198.51.100.7", 8080);
  ack.tcp_flags = kAck;
  EXPECT_EQ(testRun(prog, buildPacket(ack)), static_cast<uint32_t>(XDP_PASS));
  EXPECT_EQ(counter(skel.get(), SG_CNT_COOKIE_UNHANDLED), 1u);
  // The rest of the cookie path works: a SYN still gets its SYN-ACK.
  EXPECT_EQ(testRun(prog, buildPacket(synFrom("198.51.100.8", 8080))),
            static_cast<uint32_t>(XDP_TX));
}

}  // namespace
}  // namespace sg::test
