// Fakes shared by the tests of BlockBook's challenges
// (block_book_challenge_test.cpp, block_book_challenge_failures_test.cpp): a
// ChallengePort that records its calls and fails on demand, and the kernel's
// event of a challenged source.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "agent/block_book_fixture.h"
#include "agent/challenge_port.h"
#include "core/address.h"
#include "sg_challenge.h"
#include "sg_handshake.h"

namespace sg::agent {

// Records one line a call to arm or disarm: "arm <src> <expiry>[, <src>
// <expiry>...]" (sources in order), "disarm <src>[, <src>...]"; counts the
// repairs. `gone`: the SYNPROXY table was deleted (arming fails until a
// repair); `broken`: arming fails whatever repair does; `unrepairable`:
// repair fails while the table is gone.
class FakeChallenges final : public ChallengePort {
 public:
  std::vector<std::string> calls;
  int repairs = 0;
  bool gone = false;
  bool broken = false;
  bool unrepairable = false;
  Result<void> arm(const std::vector<ChallengeArm>& batch, size_t* armed) override {
    *armed = 0;
    if (broken || gone) return Error(Errc::kIo, "nft down");
    std::set<std::string> items;
    for (const ChallengeArm& a : batch) {
      items.insert(Address{a.key}.str() + " " + std::to_string(a.expires_ns));
      ++*armed;
    }
    calls.push_back("arm" + join(items));
    return Ok{};
  }
  Result<void> disarm(const std::vector<sg_addr>& keys) override {
    std::set<std::string> items;
    for (const sg_addr& k : keys) items.insert(Address{k}.str());
    calls.push_back("disarm" + join(items));
    return Ok{};
  }
  Result<bool> repair() override {
    repairs++;
    if (!gone) return false;
    if (unrepairable) return Error(Errc::kIo, "nft: Operation not supported");
    gone = false;
    return true;
  }

 private:
  static std::string join(const std::set<std::string>& items) {
    std::string out;
    for (const std::string& i : items) out += (out.empty() ? " " : ", ") + i;
    return out;
  }
};

// How long the tests' challenges (and blocks) last.
inline constexpr uint64_t kDur = 60'000'000'000;

// The kernel's event: `src` challenged at `ts` for kDur (half-open attempts).
inline sg_event challengeEvent(const sg_addr& src, uint64_t ts) {
  sg_event e = blockEvent(src, ts, kDur);
  e.type = SG_EV_CHALLENGED;
  e.reason = SG_REASON_HALF_OPEN;
  return e;
}

}  // namespace sg::agent
