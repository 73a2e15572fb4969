// Challenged sources (bpf/sg_challenge.h) in the agent's BlockBook: armed
// through the ChallengePort once known (event or reconcile), named
// "response": "challenge" in events and `blocks`, disarmed when they end or
// the kernel turns them into a block.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "agent/block_book.h"
#include "agent/block_book_fixture.h"
#include "core/address.h"
#include "sg_handshake.h"
#include "test_helpers.h"

namespace sg::agent {
namespace {

class FakeChallenges final : public ChallengePort {
 public:
  std::vector<std::string> calls;
  bool fail = false;
  Result<void> arm(const sg_addr& key, uint64_t expires_ns) override {
    if (fail) return Error(Errc::kIo, "nft down");
    calls.push_back("arm " + Address{key}.str() + " " + std::to_string(expires_ns));
    return Ok{};
  }
  Result<void> disarm(const sg_addr& key) override {
    calls.push_back("disarm " + Address{key}.str());
    return Ok{};
  }
};

constexpr uint64_t kDur = 60'000'000'000;

sg_event challengeEvent(const sg_addr& src, uint64_t ts) {
  sg_event e = blockEvent(src, ts, kDur);
  e.type = SG_EV_CHALLENGED;
  e.reason = SG_REASON_HALF_OPEN;
  return e;
}

TEST(BlockBookChallenge, AChallengeIsArmedNamedAndDisarmedWhenItEnds) {
  Fixture f;
  FakeChallenges ch;
  BlockBook book(f.sensor, nullptr, f.log, f.clock, f.config, [](uint32_t) { return "eth0"; });
  book.setChallenges(&ch);
  const sg_addr src = v4(198, 51, 100, 8);
  const uint64_t t = f.clock.nowNs();
  f.sensor.blocks.push_back(
      {src, {t, t + kDur, 0, 201, 8080, 0, SG_BLK_CHALLENGE | SG_BLK_HALF_OPEN}});
  book.onKernelEvent(challengeEvent(src, t));
  ASSERT_EQ(ch.calls, std::vector<std::string>{"arm 198.51.100.8 " + std::to_string(t + kDur)});
  EXPECT_EQ(book.armedChallenges(), 1u);
  const std::string text = f.logText();
  EXPECT_NE(text.find("\"response\":\"challenge\""), std::string::npos) << text;
  auto blocks = book.blocksJson();
  ASSERT_OK(blocks);
  ASSERT_EQ(blocks->size(), 1u);
  EXPECT_EQ((*blocks)[0].value("response", ""), "challenge");
  EXPECT_EQ((*blocks)[0].value("enforced_by", ""), "xdp");
  // A sweep changes nothing while it lasts; after its end it is disarmed.
  book.sweep();
  EXPECT_EQ(ch.calls.size(), 1u);
  f.clock.advance(kDur + 1);
  book.sweep();
  ASSERT_EQ(ch.calls.size(), 2u);
  EXPECT_EQ(ch.calls[1], "disarm 198.51.100.8");
  EXPECT_EQ(book.armedChallenges(), 0u);
}

TEST(BlockBookChallenge, AChallengeTheKernelTurnedIntoABlockIsDisarmed) {
  Fixture f;
  FakeChallenges ch;
  BlockBook book(f.sensor, nullptr, f.log, f.clock, f.config, [](uint32_t) { return "eth0"; });
  book.setChallenges(&ch);
  const sg_addr src = v4(198, 51, 100, 9);
  const uint64_t t = f.clock.nowNs();
  f.sensor.blocks.push_back({src, {t, t + kDur, 0, 201, 8080, 0, SG_BLK_CHALLENGE}});
  book.onKernelEvent(challengeEvent(src, t));
  // Completions past the connection threshold: the kernel's block event.
  f.clock.advance(1'000'000'000);
  const uint64_t t2 = f.clock.nowNs();
  f.sensor.blocks[0].block = {t2, t2 + kDur, 1, 9, 8080, 0, SG_BLK_XDP_DROP | SG_BLK_CONNECTIONS};
  sg_event up = blockEvent(src, t2, kDur);
  up.reason = SG_REASON_CONNECTIONS;
  book.onKernelEvent(up);
  ASSERT_EQ(ch.calls.size(), 2u);
  EXPECT_EQ(ch.calls[1], "disarm 198.51.100.9");
  auto blocks = book.blocksJson();
  ASSERT_OK(blocks);
  ASSERT_EQ(blocks->size(), 1u);
  EXPECT_EQ((*blocks)[0].value("response", ""), "block");
  EXPECT_EQ((*blocks)[0].value("threshold", ""), "connections");
}

TEST(BlockBookChallenge, AFailedArmingIsLoggedCountedAndRetriedByTheSweep) {
  Fixture f;
  FakeChallenges ch;
  ch.fail = true;
  BlockBook book(f.sensor, nullptr, f.log, f.clock, f.config, [](uint32_t) { return "eth0"; });
  book.setChallenges(&ch);
  const sg_addr src = v4(198, 51, 100, 10);
  const uint64_t t = f.clock.nowNs();
  f.sensor.blocks.push_back({src, {t, t + kDur, 0, 201, 8080, 0, SG_BLK_CHALLENGE}});
  book.onKernelEvent(challengeEvent(src, t));
  EXPECT_EQ(book.armedChallenges(), 0u);
  EXPECT_EQ(book.counters().challenge_errors, 1u);
  EXPECT_NE(f.logText().find("arming a challenge"), std::string::npos);
  ch.fail = false;
  book.sweep();
  EXPECT_EQ(book.armedChallenges(), 1u);
}

}  // namespace
}  // namespace sg::agent
