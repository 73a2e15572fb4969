// NoKfuncTest: a gtest fixture for a host without the conntrack kfuncs
// (nf_conntrack a module not loaded). syn_guard_nokfunc is the XDP program
// built with kfunc names no kernel has (SG_CK_ABSENT_KFUNCS,
// bpf/sg_syncookie.h), so libbpf leaves them unresolved as it would there;
// the fixture loads it (not attached anywhere) and runs frames through it
// with BPF_PROG_TEST_RUN.
#pragma once

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

#include "bpf/packet_builder.h"
#include "bpf/xdp_program.h"
#include "core/kernel_config.h"
#include "sg_challenge.h"  // the skeleton's data sections
#include "sg_syncookie.h"
#include "syn_guard_nokfunc.skel.h"
#include "test_helpers.h"

namespace sg::test {

class NoKfuncTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SG_REQUIRE_ROOT();
    skel_.reset(syn_guard_nokfunc__open_and_load());
    ASSERT_NE(skel_, nullptr) << "the program did not load without the conntrack kfuncs: "
                              << std::strerror(errno);
    prog_ = std::make_unique<XdpProgram>(bpf_program__fd(skel_->progs.syn_guard_xdp));
  }

  void setConfig(const sg_config& cfg) {
    const uint32_t zero = 0;
    ASSERT_EQ(bpf_map_update_elem(bpf_map__fd(skel_->maps.sg_config_map), &zero, &cfg, BPF_ANY), 0)
        << std::strerror(errno);
  }
  uint32_t send(const PacketSpec& spec) { return prog_->verdict(buildPacket(spec)); }
  // A counter summed over the CPUs.
  uint64_t counter(sg_counter which) {
    std::vector<sg_counters> per(static_cast<size_t>(libbpf_num_possible_cpus()));
    const uint32_t zero = 0;
    EXPECT_EQ(bpf_map_lookup_elem(bpf_map__fd(skel_->maps.sg_counters_map), &zero, per.data()), 0);
    uint64_t sum = 0;
    for (const auto& c : per) sum += c.c[which];
    return sum;
  }

  struct SkelDeleter {
    void operator()(syn_guard_nokfunc* s) const { syn_guard_nokfunc__destroy(s); }
  };
  std::unique_ptr<syn_guard_nokfunc, SkelDeleter> skel_;
  std::unique_ptr<XdpProgram> prog_;
};

}  // namespace sg::test
