// The XDP program on a host without the conntrack kfuncs (syn_guard_nokfunc,
// tests/bpf/nokfunc_fixture.h): it must still load (the kfuncs are weak,
// their calls pruned behind bpf_ksym_exists; the fixture's SetUp fails if it
// does not) and an ACK to a cookie port must reach the stack instead of a
// conntrack lookup.
#include <bpf/bpf.h>
#include <linux/bpf.h>

#include "bpf/nokfunc_fixture.h"
#include "core/config.h"

namespace sg::test {
namespace {

class SynCookieNoKfuncs : public NoKfuncTest {};

TEST_F(SynCookieNoKfuncs, TheProgramLoadsAndAnAckToACookiePortGoesToTheStack) {
  setConfig(toKernelConfig(AgentConfig{}));
  const uint32_t port = 8080;
  const uint8_t mode = SG_COOKIE_ANY_ADDR;
  ASSERT_EQ(bpf_map_update_elem(bpf_map__fd(skel_->maps.sg_cookie_ports), &port, &mode, BPF_ANY),
            0);
  skel_->data_cookie->sg_cookie.ports = 1;

  PacketSpec ack = synFrom("198.51.100.7", 8080);
  ack.tcp_flags = kAck;
  EXPECT_EQ(send(ack), static_cast<uint32_t>(XDP_PASS));
  EXPECT_EQ(counter(SG_CNT_COOKIE_UNHANDLED), 1u);
  // The rest of the cookie path works: a SYN still gets its SYN-ACK.
  EXPECT_EQ(send(synFrom("198.51.100.8", 8080)), static_cast<uint32_t>(XDP_TX));
}

}  // namespace
}  // namespace sg::test
