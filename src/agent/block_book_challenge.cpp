// BlockBook: challenged sources (challenge instead of block,
// bpf/sg_challenge.h). The kernel marks a source challenged in its block
// table; the book arms it through the ChallengePort (SYNPROXY first, then the
// XDP program) once it knows of it — from the event, or from the reconcile
// when the event budget was spent — and disarms it once it is no longer a
// live challenge: expired, unblocked, or turned into a block by the kernel
// at the connection threshold.
#include "agent/block_book.h"

namespace sg::agent {

const char* BlockBook::responseName(const sg_block& b) {
  return (b.flags & SG_BLK_CHALLENGE) ? "challenge" : "block";
}

void BlockBook::syncChallenges() {
  if (challenges_ == nullptr) return;
  const uint64_t now = clock_.nowNs();
  auto live = [&](const sg_addr& key) -> const sg_block* {
    auto k = known_.find(key);
    if (k == known_.end() || !(k->second.block.flags & SG_BLK_CHALLENGE) ||
        k->second.block.expires_ns <= now) {
      return nullptr;
    }
    return &k->second.block;
  };
  for (auto it = armed_.begin(); it != armed_.end();) {
    if (live(it->first) != nullptr) {
      ++it;
      continue;
    }
    if (auto r = challenges_->disarm(it->first); !r) {
      noteFailure(challenge_errors_, counters_.challenge_errors, "disarming a challenge",
                  r.error().message(), {{"src", source(it->first)}});
      ++it;  // tried again at the next sweep
      continue;
    }
    it = armed_.erase(it);
  }
  for (const auto& [key, k] : known_) {
    const sg_block* b = live(key);
    if (b == nullptr) continue;
    if (auto a = armed_.find(key); a != armed_.end() && a->second == b->expires_ns) continue;
    if (auto r = challenges_->arm(key, b->expires_ns); !r) {
      noteFailure(challenge_errors_, counters_.challenge_errors, "arming a challenge",
                  r.error().message(),
                  {{"src", source(key)},
                   {"effect", "its SYNs reach the stack unanswered until it is armed"}});
      continue;
    }
    noteSuccess(challenge_errors_, "arming a challenge");
    armed_[key] = b->expires_ns;
  }
}

}  // namespace sg::agent
