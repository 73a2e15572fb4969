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

// A BlockBook over the shared Fixture (block_book_fixture.h) that arms
// challenges through `ch_`.
class BlockBookChallenge : public ::testing::Test {
 protected:
  void SetUp() override { book_.setChallenges(&ch_); }

  // The kernel challenged `src` now (its table entry with `flags`, then the
  // event); returns the time.
  uint64_t challenge(const sg_addr& src, uint8_t flags = SG_BLK_CHALLENGE) {
    const uint64_t t = f_.clock.nowNs();
    f_.sensor.blocks.push_back({src, {t, t + kDur, 0, 201, 8080, 0, flags}});
    sg_event e = blockEvent(src, t, kDur);
    e.type = SG_EV_CHALLENGED;
    e.reason = SG_REASON_HALF_OPEN;
    book_.onKernelEvent(e);
    return t;
  }

  Fixture f_;
  FakeChallenges ch_;
  BlockBook book_{f_.sensor, nullptr, f_.log, f_.clock, f_.config, [](uint32_t) { return "eth0"; }};
};

TEST_F(BlockBookChallenge, AChallengeIsArmedNamedAndDisarmedWhenItEnds) {
  const uint64_t t = challenge(v4(198, 51, 100, 8), SG_BLK_CHALLENGE | SG_BLK_HALF_OPEN);
  ASSERT_EQ(ch_.calls, std::vector<std::string>{"arm 198.51.100.8 " + std::to_string(t + kDur)});
  EXPECT_EQ(book_.armedChallenges(), 1u);
  const std::string text = f_.logText();
  EXPECT_NE(text.find("\"response\":\"challenge\""), std::string::npos) << text;
  auto blocks = book_.blocksJson();
  ASSERT_OK(blocks);
  ASSERT_EQ(blocks->size(), 1u);
  EXPECT_EQ((*blocks)[0].value("response", ""), "challenge");
  EXPECT_EQ((*blocks)[0].value("enforced_by", ""), "xdp");
  // A sweep changes nothing while it lasts; after its end it is disarmed.
  book_.sweep();
  EXPECT_EQ(ch_.calls.size(), 1u);
  f_.clock.advance(kDur + 1);
  book_.sweep();
  ASSERT_EQ(ch_.calls.size(), 2u);
  EXPECT_EQ(ch_.calls[1], "disarm 198.51.100.8");
  EXPECT_EQ(book_.armedChallenges(), 0u);
}

TEST_F(BlockBookChallenge, AChallengeTheKernelTurnedIntoABlockIsDisarmed) {
  const sg_addr src = v4(198, 51, 100, 9);
  challenge(src);
  // Completions past the connection threshold: the kernel's block event.
  f_.clock.advance(1'000'000'000);
  const uint64_t t2 = f_.clock.nowNs();
  f_.sensor.blocks[0].block = {t2, t2 + kDur, 1, 9, 8080, 0, SG_BLK_XDP_DROP | SG_BLK_CONNECTIONS};
  sg_event up = blockEvent(src, t2, kDur);
  up.reason = SG_REASON_CONNECTIONS;
  book_.onKernelEvent(up);
  ASSERT_EQ(ch_.calls.size(), 2u);
  EXPECT_EQ(ch_.calls[1], "disarm 198.51.100.9");
  auto blocks = book_.blocksJson();
  ASSERT_OK(blocks);
  ASSERT_EQ(blocks->size(), 1u);
  EXPECT_EQ((*blocks)[0].value("response", ""), "block");
  EXPECT_EQ((*blocks)[0].value("threshold", ""), "connections");
}

TEST_F(BlockBookChallenge, AFailedArmingIsLoggedCountedAndRetriedByTheSweep) {
  ch_.fail = true;
  challenge(v4(198, 51, 100, 10));
  EXPECT_EQ(book_.armedChallenges(), 0u);
  EXPECT_EQ(book_.counters().challenge_errors, 1u);
  EXPECT_NE(f_.logText().find("arming a challenge"), std::string::npos);
  ch_.fail = false;
  book_.sweep();
  EXPECT_EQ(book_.armedChallenges(), 1u);
}

}  // namespace
}  // namespace sg::agent
