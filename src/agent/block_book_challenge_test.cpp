// Challenged sources (bpf/sg_challenge.h) in the agent's BlockBook: armed
// through the ChallengePort once known (event or reconcile), named
// "response": "challenge" in events and `blocks`, disarmed when they end or
// the kernel turns them into a block.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "agent/block_book.h"
#include "agent/block_book_challenge_fixture.h"
#include "agent/block_book_fixture.h"
#include "core/address.h"
#include "sg_challenge.h"
#include "sg_handshake.h"
#include "test_helpers.h"

namespace sg::agent {
namespace {

// One book a test, made by book() (after the test set f.config or the
// fake's failures); `with_port` false: an agent that cannot arm challenges.
class BlockBookChallenge : public ::testing::Test {
 protected:
  Fixture f;
  FakeChallenges ch;
  std::unique_ptr<BlockBook> book_;
  const uint64_t t = f.clock.nowNs();

  BlockBook& book(bool with_port = true) {
    if (!book_) {
      book_ = std::make_unique<BlockBook>(f.sensor, nullptr, f.log, f.clock, f.config,
                                          [](uint32_t) { return "eth0"; });
      if (with_port) book_->setChallenges(&ch);
    }
    return *book_;
  }
  // 198.51.100.<last> challenged in the kernel's table since `since` (0: t).
  sg_addr pin(uint8_t last, uint8_t flags = SG_BLK_CHALLENGE, uint64_t since = 0) {
    const sg_addr src = v4(198, 51, 100, last);
    const uint64_t at = since != 0 ? since : t;
    f.sensor.blocks.push_back({src, {at, at + kDur, 0, 201, 8080, 0, flags}});
    return src;
  }
  // pin(), then the kernel's event about it handled by the book.
  sg_addr challenge(uint8_t last, uint8_t flags = SG_BLK_CHALLENGE, uint64_t since = 0) {
    const sg_addr src = pin(last, flags, since);
    book().onKernelEvent(challengeEvent(src, since != 0 ? since : t));
    return src;
  }
  std::string armCall(const std::string& src, uint64_t since = 0) const {
    return "arm " + src + " " + std::to_string((since != 0 ? since : t) + kDur);
  }
};

TEST_F(BlockBookChallenge, AChallengeIsArmedNamedAndDisarmedWhenItEnds) {
  challenge(8, SG_BLK_CHALLENGE | SG_BLK_HALF_OPEN);
  ASSERT_EQ(ch.calls, std::vector<std::string>{armCall("198.51.100.8")});
  EXPECT_EQ(book().armedChallenges(), 1u);
  const std::string text = f.logText();
  EXPECT_NE(text.find("\"response\":\"challenge\""), std::string::npos) << text;
  auto blocks = book().blocksJson();
  ASSERT_OK(blocks);
  ASSERT_EQ(blocks->size(), 1u);
  EXPECT_EQ((*blocks)[0].value("response", ""), "challenge");
  EXPECT_EQ((*blocks)[0].value("enforced_by", ""), "xdp");
  // A sweep changes nothing while it lasts; after its end it is disarmed.
  book().sweep();
  EXPECT_EQ(ch.calls.size(), 1u);
  f.clock.advance(kDur + 1);
  book().sweep();
  ASSERT_EQ(ch.calls.size(), 2u);
  EXPECT_EQ(ch.calls[1], "disarm 198.51.100.8");
  EXPECT_EQ(book().armedChallenges(), 0u);
}

TEST_F(BlockBookChallenge, AChallengeTheKernelTurnedIntoABlockIsDisarmed) {
  const sg_addr src = challenge(9);
  // Completions past the connection threshold: the kernel's block event.
  f.clock.advance(1'000'000'000);
  const uint64_t t2 = f.clock.nowNs();
  f.sensor.blocks[0].block = {t2, t2 + kDur, 1, 9, 8080, 0, SG_BLK_XDP_DROP | SG_BLK_CONNECTIONS};
  sg_event up = blockEvent(src, t2, kDur);
  up.reason = SG_REASON_CONNECTIONS;
  book().onKernelEvent(up);
  ASSERT_EQ(ch.calls.size(), 2u);
  EXPECT_EQ(ch.calls[1], "disarm 198.51.100.9");
  auto blocks = book().blocksJson();
  ASSERT_OK(blocks);
  ASSERT_EQ(blocks->size(), 1u);
  EXPECT_EQ((*blocks)[0].value("response", ""), "block");
  EXPECT_EQ((*blocks)[0].value("threshold", ""), "connections");
}

TEST_F(BlockBookChallenge, AFailedArmingIsLoggedCountedAndRetriedByTheSweep) {
  ch.broken = true;
  challenge(10);
  EXPECT_EQ(book().armedChallenges(), 0u);
  EXPECT_EQ(book().counters().challenge_errors, 1u);
  EXPECT_NE(f.logText().find("arming challenges"), std::string::npos);
  ch.broken = false;
  book().sweep();
  EXPECT_EQ(book().armedChallenges(), 1u);
}

// Review s16 H1: a challenge of the pinned table, restored by an agent whose
// enforcer is nftables (challenges need xdp), is not handed to nftables as a
// block: the address was challenged because it may be forged.
TEST_F(BlockBookChallenge, APinnedChallengeIsNotHandedToNftablesAsABlock) {
  FakeEnforcer nft;
  pin(11, SG_BLK_CHALLENGE | SG_BLK_HALF_OPEN);
  BlockBook nft_book(f.sensor, &nft, f.log, f.clock, f.config, [](uint32_t) { return ""; });
  nft_book.restore();
  EXPECT_TRUE(nft.calls.empty()) << "a challenge became an nftables block: " << nft.calls[0];
  EXPECT_TRUE(f.sensor.blocks.empty()) << "lifted: this agent cannot arm it";
}

// Review s16 H1: a challenge of the pinned table restored by an agent that
// cannot arm challenges (source_response now "block", no SYNPROXY table, no
// kfuncs) would pass its source uncounted until it expires: it is lifted, the
// source counted afresh, and the log says so.
TEST_F(BlockBookChallenge, APinnedChallengeIsLiftedByAnAgentThatCannotArmIt) {
  pin(12, SG_BLK_CHALLENGE | SG_BLK_HALF_OPEN);
  book(/*with_port=*/false).restore();
  book().sweep();
  bool unenforced = false;
  for (const auto& e : f.sensor.blocks) {
    if (e.block.flags & SG_BLK_CHALLENGE) unenforced = true;
  }
  EXPECT_FALSE(unenforced) << "an unarmed challenge entry stays: the source is neither "
                              "challenged nor blocked nor counted until it expires";
  EXPECT_EQ(book().knownBlocks(), 0u);
  EXPECT_EQ(book().counters().challenges_lifted, 1u);
  const std::string text = f.logText();
  EXPECT_NE(text.find("\"reason\":\"challenge_unarmed\""), std::string::npos) << text;
}

// A pinned challenge restored by an agent that can arm it is armed at once
// (sg_challenged is not pinned), not at the first sweep.
TEST_F(BlockBookChallenge, APinnedChallengeIsArmedAtRestore) {
  pin(14);
  book().restore();
  EXPECT_EQ(ch.calls, std::vector<std::string>{armCall("198.51.100.14")});
  ASSERT_EQ(f.sensor.blocks.size(), 1u);
}

// Review s16 H1: arming that keeps failing (a repair finds the table in place,
// and still nothing arms) leaves no unarmed challenge for its whole duration:
// after kChallengeGraceNs every challenge is lifted and the kernel told to
// block instead. The retry after the backoff challenges again; the next arm
// that works logs the recovery.
TEST_F(BlockBookChallenge, AChallengeThatCannotBeArmedIsLiftedAndTheKernelBlocksInstead) {
  f.config.source_response = SourceResponse::kChallenge;
  ch.broken = true;
  EXPECT_EQ(book().kernelConfig(f.config).source_response, SG_RESPONSE_CHALLENGE);
  challenge(13);
  for (int i = 0; i < 5; i++) {  // past the grace, every sweep failing
    f.clock.advance(1'000'000'000);
    book().sweep();
  }
  const bool unarmed_challenge =
      f.sensor.blocks.size() == 1 && (f.sensor.blocks[0].block.flags & SG_BLK_CHALLENGE);
  EXPECT_FALSE(unarmed_challenge)
      << "still an unarmed challenge after failed armings: the flooder is neither "
         "answered, dropped nor counted ("
      << book().counters().challenge_errors << " errors)";
  EXPECT_FALSE(book().challengesUsable());
  EXPECT_EQ(f.sensor.config.source_response, SG_RESPONSE_BLOCK) << "the kernel blocks instead";
  EXPECT_EQ(book().kernelConfig(f.config).source_response, SG_RESPONSE_BLOCK)
      << "a reload keeps it so";
  EXPECT_EQ(book().counters().challenges_lifted, 1u);
  EXPECT_NE(f.logText().find("challenges cannot be armed"), std::string::npos);
  // The retry: challenges again, and an arm that works says so.
  ch.broken = false;
  for (int i = 0; i < 10 && !book().challengesUsable(); i++) {
    f.clock.advance(1'000'000'000);
    book().sweep();
  }
  ASSERT_TRUE(book().challengesUsable());
  EXPECT_EQ(f.sensor.config.source_response, SG_RESPONSE_CHALLENGE);
  challenge(13, SG_BLK_CHALLENGE, f.clock.nowNs());
  EXPECT_EQ(book().armedChallenges(), 1u);
  EXPECT_NE(f.logText().find("\"what\":\"arming challenges\""), std::string::npos);
}

// While the table cannot be made again, the retries back off (doubling up to
// kChallengeBackoffMaxNs): a broken nftables costs a few calls a minute.
TEST_F(BlockBookChallenge, RetriesOfAnUnrepairableTableBackOff) {
  ch.gone = true;
  ch.unrepairable = true;
  challenge(17);
  EXPECT_FALSE(book().challengesUsable()) << "a table that cannot be made: no grace";
  EXPECT_TRUE(f.sensor.blocks.empty());
  for (int i = 0; i < 120; i++) {  // two minutes of sweeps
    f.clock.advance(1'000'000'000);
    book().sweep();
  }
  EXPECT_LE(ch.repairs, 6) << "4, 8, 16, 32, 64 s apart";
  EXPECT_GE(ch.repairs, 4);
  const std::string text = f.logText();
  EXPECT_EQ(text.find("challenges cannot be armed"), text.rfind("challenges cannot be armed"))
      << "logged once";
}

// Review s16 H1: `systemctl reload nftables` (Debian's "flush ruleset")
// deletes the SYNPROXY table: the arm that fails finds it gone, has it made
// again and arms; the repair is counted and logged.
TEST_F(BlockBookChallenge, AnArmThatFindsTheTableGoneRepairsItAndArms) {
  ch.gone = true;
  challenge(15);
  EXPECT_EQ(book().armedChallenges(), 1u);
  EXPECT_EQ(book().counters().challenge_repairs, 1u);
  EXPECT_EQ(ch.repairs, 1);
  EXPECT_NE(f.logText().find("SYNPROXY table was gone"), std::string::npos);
  EXPECT_TRUE(book().challengesUsable());
}

// Review s16 H1: sources already armed when the table goes have no SYNPROXY
// behind their cookies: the sweep's check (every kReconcileNs while any is
// armed) puts it back; when it cannot, every challenge is disarmed and
// lifted, and the kernel blocks instead.
TEST_F(BlockBookChallenge, TheSweepPutsBackAGoneTableOrLiftsTheArmedChallenges) {
  f.config.source_response = SourceResponse::kChallenge;
  challenge(16);
  ASSERT_EQ(book().armedChallenges(), 1u);
  ch.gone = true;  // nftables flushed
  f.clock.advance(BlockBook::kReconcileNs);
  book().sweep();
  EXPECT_EQ(book().counters().challenge_repairs, 1u);
  EXPECT_FALSE(ch.gone) << "made again";
  EXPECT_EQ(book().armedChallenges(), 1u);
  // Gone again, and cannot be made.
  ch.gone = true;
  ch.unrepairable = true;
  f.clock.advance(BlockBook::kReconcileNs);
  book().sweep();
  EXPECT_EQ(book().armedChallenges(), 0u);
  EXPECT_EQ(ch.calls.back(), "disarm 198.51.100.16");
  EXPECT_TRUE(f.sensor.blocks.empty()) << "lifted: its source counted afresh";
  EXPECT_EQ(f.sensor.config.source_response, SG_RESPONSE_BLOCK);
}

// Review s16 L5: the challenges a batch of events made are armed in one
// call after the batch; events and sweeps that change no challenge make no
// call; arms that fail are retried at sweeps, not at every event batch.
TEST_F(BlockBookChallenge, ArmsAreBatchedRunOnlyOnChangeAndRetriedAtSweeps) {
  for (uint8_t i = 1; i <= 3; i++) f.sensor.pending.push_back(challengeEvent(pin(i), t));
  const sg_addr blocked = v4(203, 0, 113, 1);
  f.sensor.blocks.push_back({blocked, {t, t + kDur, 0, 201, 8080, 0, SG_BLK_XDP_DROP}});
  f.sensor.pending.push_back(blockEvent(blocked, t, kDur));
  ASSERT_OK(book().pollEvents());
  const std::string e = " " + std::to_string(t + kDur);
  ASSERT_EQ(ch.calls, std::vector<std::string>{"arm 198.51.100.1" + e + ", 198.51.100.2" + e +
                                               ", 198.51.100.3" + e});
  // Nothing changed: no call, nor for a block's event.
  book().sweep();
  const sg_addr other = v4(203, 0, 113, 2);
  f.sensor.blocks.push_back({other, {t, t + kDur, 0, 201, 8080, 0, SG_BLK_XDP_DROP}});
  f.sensor.pending.push_back(blockEvent(other, t, kDur));
  ASSERT_OK(book().pollEvents());
  EXPECT_EQ(ch.calls.size(), 1u);
  // Arming fails: one try (and one repair), then nothing until the sweep.
  ch.broken = true;
  f.sensor.pending.push_back(challengeEvent(pin(9), t));
  ASSERT_OK(book().pollEvents());
  EXPECT_EQ(book().counters().challenge_errors, 1u);
  for (uint8_t i = 10; i < 20; i++) {
    f.sensor.pending.push_back(challengeEvent(pin(i), t));
    ASSERT_OK(book().pollEvents());
  }
  EXPECT_EQ(book().counters().challenge_errors, 1u) << "no retry at each event batch";
  ch.broken = false;
  f.clock.advance(1'000'000);
  book().sweep();
  EXPECT_EQ(book().armedChallenges(), 14u) << "the sweep's retry arms them all";
  EXPECT_EQ(ch.calls.back().rfind("arm ", 0), 0u);
}

}  // namespace
}  // namespace sg::agent
