#include "win/attempt_pipeline.h"

#include <gtest/gtest.h>

#include "core/tracker_test_util.h"
#include "test_helpers.h"
#include "win/etw_decode.h"
#include "win/etw_test_payloads.h"

namespace sg::win {
namespace {

// Records every call, in order.
class RecordingEnforcer final : public Enforcer {
 public:
  const char* name() const override { return "recording"; }
  Result<void> block(const BlockSpec& spec) override {
    if (fail) return Error(Errc::kIo, "injected");
    calls.push_back("block " + spec.key.str() + " " + std::to_string(spec.ttl.count()));
    return Ok{};
  }
  Result<void> unblock(const Address& key, uint8_t) override {
    calls.push_back("unblock " + key.str());
    return Ok{};
  }
  Result<void> blockPrefix(const Prefix& p, Nanos) override {
    calls.push_back("blockPrefix " + p.str());
    return Ok{};
  }
  Result<void> unblockPrefix(const Prefix& p) override {
    calls.push_back("unblockPrefix " + p.str());
    return Ok{};
  }
  std::vector<std::string> calls;
  bool fail = false;
};

AgentConfig config(uint32_t threshold) {
  AgentConfig c;
  c.threshold = threshold;
  return c;
}

std::vector<uint8_t> acceptFrom(uint8_t last_octet, uint16_t port_seq) {
  std::vector<uint8_t> b = test::kAcceptV4;
  b[31] = last_octet;  // RemoteAddress's last byte
  b[26] = static_cast<uint8_t>(port_seq >> 8);
  b[27] = static_cast<uint8_t>(port_seq);
  b[52] = static_cast<uint8_t>(port_seq);  // Tcb
  return b;
}

TEST(AttemptPipeline, AFloodOfAcceptsBecomesOneBlockCall) {
  RecordingEnforcer enforcer;
  AttemptPipeline pipeline(config(10), &enforcer);
  const TcpipDecoder decoder(builtinTcpipTemplates());
  std::vector<sg_event> events;
  uint64_t now = sg::test::kT0;
  for (uint16_t i = 0; i < 30; i++) {
    auto bytes = acceptFrom(7, i);
    auto ev = decoder.decode(EtwRecordView{1017, 0, true, bytes});
    ASSERT_OK(ev);
    pipeline.onAttempt(ev->attempt, now, &events);
    now += 1'000'000;
  }
  ASSERT_EQ(enforcer.calls.size(), 1u);
  EXPECT_EQ(enforcer.calls[0], "block 198.51.100.7 60000000000");
  ASSERT_EQ(pipeline.blocks().size(), 1u);
  EXPECT_EQ(pipeline.blocks()[0].prefix.str(), "198.51.100.7/32");
  EXPECT_EQ(pipeline.blocks()[0].port, 443);
  EXPECT_EQ(pipeline.lastBlockCallNs(), sg::test::kT0 + 10'000'000);
  pipeline.expire(sg::test::kT0 + 61'000'000'000ull);
  EXPECT_TRUE(pipeline.blocks().empty());
}

TEST(AttemptPipeline, LoopbackAndTheAllowlistAreNeverBlocked) {
  RecordingEnforcer enforcer;
  AgentConfig c = config(5);
  c.allow.push_back(*parsePrefix("198.51.100.0/24"));
  AttemptPipeline pipeline(c, &enforcer);
  std::vector<sg_event> events;
  for (uint32_t i = 0; i < 50; i++) {
    pipeline.onAttempt(sg::test::syn(sg::test::v4(0xc6336407)), sg::test::kT0 + i, &events);
    pipeline.onAttempt(sg::test::syn(sg::test::v4(0x7f000001)), sg::test::kT0 + i, &events);
  }
  EXPECT_TRUE(enforcer.calls.empty());
  EXPECT_EQ(effectiveAllowlist(c).size(), 3u);
}

// The issue's "the allowlist (loopback, the host's own addresses, --allow)
// always wins": a host connecting to its own address is never blocked, and
// the own addresses reach the WFP permits through allowlist().
TEST(AttemptPipeline, TheHostsOwnAddressesAreNeverBlocked) {
  RecordingEnforcer enforcer;
  const std::vector<Address> own = {*parseAddress("198.51.100.7"), *parseAddress("2001:db8::7"),
                                    *parseAddress("127.0.0.1")};
  AttemptPipeline pipeline(config(5), &enforcer, own);
  std::vector<sg_event> events;
  for (uint32_t i = 0; i < 50; i++) {
    pipeline.onAttempt(sg::test::syn(sg::test::v4(0xc6336407)), sg::test::kT0 + i, &events);
  }
  EXPECT_TRUE(enforcer.calls.empty());
  std::vector<std::string> allow;
  for (const Prefix& p : pipeline.allowlist()) allow.push_back(p.str());
  // Loopback once (127.0.0.1 is inside 127.0.0.0/8), each own address a host prefix.
  EXPECT_EQ(allow, (std::vector<std::string>{"127.0.0.0/8", "::1/128", "198.51.100.7/32",
                                             "2001:db8::7/128"}));
  // Another source of the same /24 is still counted and blocked.
  for (uint32_t i = 0; i < 50; i++) {
    pipeline.onAttempt(sg::test::syn(sg::test::v4(0xc6336408)), sg::test::kT0 + i, &events);
  }
  EXPECT_EQ(enforcer.calls.size(), 1u);
}

TEST(AttemptPipeline, AFailedBlockCallIsCountedNotListed) {
  RecordingEnforcer enforcer;
  enforcer.fail = true;
  AttemptPipeline pipeline(config(3), &enforcer);
  std::vector<sg_event> events;
  for (uint32_t i = 0; i < 10; i++) {
    pipeline.onAttempt(sg::test::syn(sg::test::v4(0xc0000207)), sg::test::kT0 + i, &events);
  }
  EXPECT_EQ(pipeline.enforceErrors(), 1u);
  EXPECT_EQ(pipeline.lastError(), "injected");
  EXPECT_TRUE(pipeline.blocks().empty());
}

TEST(AttemptPipeline, ManualBlocksAndUnblocks) {
  RecordingEnforcer enforcer;
  AttemptPipeline pipeline(config(10), &enforcer);
  ASSERT_OK(pipeline.block(*parsePrefix("203.0.113.0/24"), 0, sg::test::kT0));
  ASSERT_OK(pipeline.block(*parsePrefix("192.0.2.9"), 5'000'000'000, sg::test::kT0));
  ASSERT_EQ(pipeline.blocks().size(), 2u);
  pipeline.expire(sg::test::kT0 + 6'000'000'000);
  ASSERT_EQ(pipeline.blocks().size(), 1u);  // the permanent one stays
  EXPECT_EQ(pipeline.blocks()[0].until_ns, 0u);
  auto gone = pipeline.unblock(*parsePrefix("203.0.113.0/24"));
  ASSERT_OK(gone);
  EXPECT_TRUE(*gone);
  EXPECT_EQ(enforcer.calls.back(), "unblockPrefix 203.0.113.0/24");
}

}  // namespace
}  // namespace sg::win
