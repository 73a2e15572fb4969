// BlockBook's challenges when arming or lifting fails (reviews s17 M1, L1):
// no fallback leaves a source in an unarmed challenge, a trial arm decides
// when the kernel challenges again, and failed lifts are retried at sweeps.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "agent/block_book.h"
#include "agent/block_book_challenge_fixture.h"
#include "agent/block_book_fixture.h"
#include "core/address.h"
#include "sg_challenge.h"
#include "test_helpers.h"

namespace sg::agent {
namespace {

// Review s17 M1: leaving the fallback only asked repair() whether the
// SYNPROXY table was there; when it was and arming still failed (a set or
// chain deleted by hand, a full sg_challenged, libnftables refusing the
// batch), the kernel was told "challenge" again at each retry, and every
// source that crossed meanwhile sat in an unarmed challenge (its SYNs passed
// uncounted) for the whole grace before the next fallback: a fail-open window
// every backoff. The kernel now keeps blocking until a trial arm works.
TEST(BlockBookChallengeFailures, ArmingThatKeepsFailingOpensNoUnarmedWindowAfterAFallback) {
  Fixture f;
  f.config.source_response = SourceResponse::kChallenge;
  FakeChallenges ch;
  ch.broken = true;  // the table is there (repair: Ok(false)), arming fails all the same
  BlockBook book(f.sensor, nullptr, f.log, f.clock, f.config, [](uint32_t) { return "eth0"; });
  book.setChallenges(&ch);
  const sg_addr src = v4(198, 51, 100, 31);
  bool fell_back = false;
  int unarmed_seconds_after_fallback = 0;
  for (int i = 0; i < 300; i++) {
    // The flood goes on: while the kernel is told to challenge, the source
    // crosses again and is challenged.
    const bool kernel_challenges =
        !fell_back || f.sensor.config.source_response == SG_RESPONSE_CHALLENGE;
    if (kernel_challenges && f.sensor.blocks.empty()) {
      const uint64_t t = f.clock.nowNs();
      f.sensor.blocks.push_back({src, {t, t + kDur, 0, 201, 8080, 0, SG_BLK_CHALLENGE}});
      book.onKernelEvent(challengeEvent(src, t));
    }
    f.clock.advance(1'000'000'000);
    book.sweep();
    if (!book.challengesUsable()) fell_back = true;
    const bool unarmed = !f.sensor.blocks.empty() &&
                         (f.sensor.blocks[0].block.flags & SG_BLK_CHALLENGE) &&
                         book.armedChallenges() == 0;
    if (fell_back && unarmed) unarmed_seconds_after_fallback++;
  }
  ASSERT_TRUE(fell_back);
  EXPECT_EQ(unarmed_seconds_after_fallback, 0)
      << "after the first fallback, with arming still failing, the source sat in an unarmed "
         "challenge (SYNs passed uncounted) for "
      << unarmed_seconds_after_fallback << " of 300 s";
  EXPECT_EQ(f.sensor.config.source_response, SG_RESPONSE_BLOCK);
  EXPECT_GE(ch.repairs, 4) << "the retries went on, backing off";
}

// Arms of the trial source (0.0.0.0) work once `broken` is off; arms of any
// other source fail while `refuse_real`.
class TrialOnlyChallenges final : public ChallengePort {
 public:
  bool broken = true;
  bool refuse_real = true;
  int trials = 0;
  Result<void> arm(const std::vector<ChallengeArm>& batch, size_t* armed) override {
    *armed = 0;
    if (broken) return Error(Errc::kIo, "nft down");
    for (const ChallengeArm& a : batch) {
      const bool trial = Address{a.key}.str() == "0.0.0.0";
      if (!trial && refuse_real) return Error(Errc::kIo, "set full");
      trials += trial ? 1 : 0;
      ++*armed;
    }
    return Ok{};
  }
  Result<void> disarm(const std::vector<sg_addr>&) override { return Ok{}; }
  Result<bool> repair() override { return false; }
};

// Review s17 M1: out of the fallback (the trial arm worked), an arm that
// fails falls back at once, with no new grace: the source is lifted and the
// kernel blocks again within the same event batch.
TEST(BlockBookChallengeFailures, AnArmThatFailsRightAfterLeavingTheFallbackFallsBackAtOnce) {
  Fixture f;
  f.config.source_response = SourceResponse::kChallenge;
  TrialOnlyChallenges ch;
  BlockBook book(f.sensor, nullptr, f.log, f.clock, f.config, [](uint32_t) { return "eth0"; });
  book.setChallenges(&ch);
  const sg_addr src = v4(198, 51, 100, 32);
  auto cross = [&] {
    const uint64_t t = f.clock.nowNs();
    f.sensor.blocks.push_back({src, {t, t + kDur, 0, 201, 8080, 0, SG_BLK_CHALLENGE}});
    book.onKernelEvent(challengeEvent(src, t));
  };
  cross();
  for (int i = 0; i < 5; i++) {  // past the grace
    f.clock.advance(1'000'000'000);
    book.sweep();
  }
  ASSERT_FALSE(book.challengesUsable());
  ASSERT_TRUE(f.sensor.blocks.empty());
  ch.broken = false;  // the trial arm works, real ones still fail
  for (int i = 0; i < 10 && !book.challengesUsable(); i++) {
    f.clock.advance(1'000'000'000);
    book.sweep();
  }
  ASSERT_TRUE(book.challengesUsable());
  EXPECT_EQ(ch.trials, 1);
  EXPECT_EQ(f.sensor.config.source_response, SG_RESPONSE_CHALLENGE);
  cross();
  EXPECT_FALSE(book.challengesUsable()) << "no new grace after leaving the fallback";
  EXPECT_TRUE(f.sensor.blocks.empty()) << "the unarmed challenge is lifted at once";
  EXPECT_EQ(f.sensor.config.source_response, SG_RESPONSE_BLOCK);
  // Once real arms work, the next trial leaves for good and the source is armed.
  ch.refuse_real = false;
  for (int i = 0; i < 20 && !book.challengesUsable(); i++) {
    f.clock.advance(1'000'000'000);
    book.sweep();
  }
  ASSERT_TRUE(book.challengesUsable());
  cross();
  EXPECT_EQ(book.armedChallenges(), 1u);
  f.clock.advance(BlockBook::kChallengeGraceNs);
  book.sweep();
  EXPECT_TRUE(book.challengesUsable());
}

// Review s17 L1: a lift that failed (a map delete error) left the challenge
// in the kernel, unarmed, its source passed uncounted until it expired: the
// sweeps now retry it. Here a pinned challenge restored by an agent that
// cannot arm challenges.
TEST(BlockBookChallengeFailures, AFailedLiftOfAPinnedChallengeIsRetriedAtSweeps) {
  Fixture f;
  const sg_addr src = v4(198, 51, 100, 33);
  const uint64_t t = f.clock.nowNs();
  f.sensor.blocks.push_back({src, {t, t + kDur, 0, 201, 8080, 0, SG_BLK_CHALLENGE}});
  f.sensor.fail_remove = true;
  BlockBook book(f.sensor, nullptr, f.log, f.clock, f.config, [](uint32_t) { return ""; });
  book.restore();
  ASSERT_EQ(f.sensor.blocks.size(), 1u);
  EXPECT_EQ(book.counters().challenge_errors, 1u);
  f.clock.advance(1'000'000'000);
  book.sweep();
  EXPECT_EQ(book.counters().challenge_errors, 2u) << "retried at the sweep";
  f.sensor.fail_remove = false;
  f.clock.advance(1'000'000'000);
  book.sweep();
  EXPECT_TRUE(f.sensor.blocks.empty()) << "the unarmed challenge is still in the kernel";
  EXPECT_EQ(book.counters().challenges_lifted, 1u);
  EXPECT_EQ(book.knownBlocks(), 0u);
}

// Review s17 L1: the same for the lifts of a fallback.
TEST(BlockBookChallengeFailures, AFailedLiftAtAFallbackIsRetriedAtSweeps) {
  Fixture f;
  FakeChallenges ch;
  ch.gone = true;
  ch.unrepairable = true;  // falls back at the first arm
  BlockBook book(f.sensor, nullptr, f.log, f.clock, f.config, [](uint32_t) { return "eth0"; });
  book.setChallenges(&ch);
  const sg_addr src = v4(198, 51, 100, 34);
  const uint64_t t = f.clock.nowNs();
  f.sensor.blocks.push_back({src, {t, t + kDur, 0, 201, 8080, 0, SG_BLK_CHALLENGE}});
  f.sensor.fail_remove = true;
  book.onKernelEvent(challengeEvent(src, t));
  ASSERT_FALSE(book.challengesUsable());
  ASSERT_EQ(f.sensor.blocks.size(), 1u);
  f.sensor.fail_remove = false;
  f.clock.advance(1'000'000'000);
  book.sweep();
  EXPECT_TRUE(f.sensor.blocks.empty()) << "the unarmed challenge is still in the kernel";
  EXPECT_EQ(book.counters().challenges_lifted, 1u);
}

}  // namespace
}  // namespace sg::agent
