// Challenge instead of block on a host without the conntrack kfuncs
// (syn_guard_nokfunc, tests/bpf/nokfunc_fixture.h): the ACK check cannot run
// there, so a source over the threshold is blocked, not challenged, and the
// program counts the fallback (challenges_fallback_total; the agent says so
// at start).
#include <linux/bpf.h>

#include "bpf/nokfunc_fixture.h"
#include "core/config.h"

namespace sg::test {
namespace {

class ChallengeNoKfuncs : public NoKfuncTest {};

TEST_F(ChallengeNoKfuncs, ACrossingIsBlockedInsteadAndTheFallbackCounted) {
  AgentConfig ac;
  ac.threshold = 5;
  ac.source_response = SourceResponse::kChallenge;
  const sg_config cfg = toKernelConfig(ac);
  ASSERT_EQ(cfg.source_response, SG_RESPONSE_CHALLENGE);
  setConfig(cfg);
  int dropped = 0;
  for (uint32_t i = 0; i < 6; i++) {
    PacketSpec s = synFrom("198.51.100.7", 8080);
    s.seq = 1000 + i;
    dropped += send(s) == XDP_DROP ? 1 : 0;
  }
  EXPECT_EQ(dropped, 1) << "the crossing SYN is dropped: a block, not a challenge";
  EXPECT_EQ(counter(SG_CNT_CHAL_FALLBACK), 1u);
  EXPECT_EQ(counter(SG_CNT_CHAL_ADDED), 0u);
  EXPECT_EQ(counter(SG_CNT_BLOCKS_ADDED), 1u);
}

}  // namespace
}  // namespace sg::test
