// BlockBook: challenged sources (challenge instead of block,
// bpf/sg_challenge.h). The kernel marks a source challenged in its block
// table; the book arms it through the ChallengePort (SYNPROXY first, then the
// XDP program) once it knows of it — from the event, or from the reconcile
// when the event budget was spent — and disarms it once it is no longer a
// live challenge: expired, unblocked, or turned into a block by the kernel
// at the connection threshold.
//
// A challenge nobody arms would pass its source's SYNs to the stack,
// uncounted, until it expires (the kernel's entry is "enforced elsewhere").
// So it never stays unarmed: without a port it is lifted (the source is
// counted afresh, under the kernel's block response); when arming fails the
// port repairs the SYNPROXY table if it went (`systemctl reload nftables`),
// and while it keeps failing for kChallengeGraceNs the book falls back: every
// challenge lifted, the kernel told to block instead, a retry with a
// doubling backoff. Arms are batched (one nftables transaction for all the
// challenges an event batch or a sweep found) and run only when a challenge
// changed; failed ones are retried at sweeps, not at every event.
#include <algorithm>

#include "agent/block_book.h"
#include "core/kernel_config.h"
#include "sg_challenge.h"

namespace sg::agent {

const char* BlockBook::responseName(const sg_block& b) {
  return (b.flags & SG_BLK_CHALLENGE) ? "challenge" : "block";
}

sg_config BlockBook::kernelConfig(const AgentConfig& config) const {
  sg_config k = toKernelConfig(config);
  if (!challengesUsable()) k.source_response = SG_RESPONSE_BLOCK;
  return k;
}

void BlockBook::pushKernelResponse() {
  if (config_.source_response != SourceResponse::kChallenge) return;
  if (auto r = sensor_.setConfig(kernelConfig(config_)); !r) {
    log_.emit("error", {{"message", "telling the kernel what a source over the threshold gets: " +
                                        r.error().message()}});
  }
}

void BlockBook::noteChallenge(const sg_addr& key, const sg_block& b) {
  if ((b.flags & SG_BLK_CHALLENGE) || armed_.count(key) != 0) chal_dirty_ = true;
}

Result<int> BlockBook::pollEvents() {
  in_event_batch_ = true;
  auto n = sensor_.pollEvents([this](const sg_event& e) { onKernelEvent(e); });
  in_event_batch_ = false;
  syncChallenges();
  return n;
}

// A challenge of the pinned table: never handed to an enforcer (the source
// may be forged: a challenge, not a block, was chosen for it); armed by this
// agent when it can, else lifted (the source counted afresh under the
// current config).
void BlockBook::restoreChallenge(const sg_addr& key, const sg_block& b) {
  if (!challengesUsable()) {
    known_[key] = Known{b, 0};  // should the lift fail, the sweeps retry it
    liftChallenge(key, "this agent cannot arm challenges", "pinned table");
    return;
  }
  known_[key] = Known{b, 0};
  chal_dirty_ = true;
  nlohmann::json f = describe(key, b);
  f["from"] = "pinned table";
  log_.emit("block_restored", f);
}

void BlockBook::liftChallenge(const sg_addr& key, const std::string& why, const char* from) {
  if (auto r = sensor_.removeBlock(key); !r) {
    noteFailure(challenge_errors_, counters_.challenge_errors, "lifting a challenge",
                r.error().message(),
                {{"src", source(key)}, {"effect", "retried at each sweep until it works"}});
    chal_lift_waiting_ = true;  // it stays in known_: the next sweep lifts it again
    return;
  }
  counters_.challenges_lifted++;
  nlohmann::json f{{"src", source(key)},
                   {"reason", "challenge_unarmed"},
                   {"note", why},
                   {"effect", "its source is counted afresh"}};
  if (from != nullptr) f["from"] = from;
  log_.emit("block_removed", f);
  known_.erase(key);
  armed_.erase(key);
}

void BlockBook::syncChallenges(bool sweeping) {
  if (in_event_batch_) return;
  const uint64_t now = clock_.nowNs();
  if (challenges_ != nullptr && chal_fallback_ && sweeping && now >= chal_retry_ns_) {
    tryLeaveChallengeFallback(now);
  }
  if (challengesUsable() && sweeping && !armed_.empty() && now >= chal_check_ns_) {
    checkChallengeTable(now);
  }
  if (challengesUsable()) armChanged(now, sweeping);
  if (challengesUsable() || !(chal_dirty_ || (sweeping && chal_lift_waiting_))) return;
  // Nothing can arm them: every challenge is lifted (those whose lift failed
  // again at each sweep).
  chal_dirty_ = false;
  chal_lift_waiting_ = false;
  std::vector<sg_addr> lift;
  for (const auto& [key, k] : known_) {
    if (k.block.flags & SG_BLK_CHALLENGE) lift.push_back(key);
  }
  const std::string why = challenges_ == nullptr
                              ? "this agent cannot arm challenges"
                              : "arming challenges fails: sources are blocked instead for now";
  for (const sg_addr& key : lift) liftChallenge(key, why);
}

void BlockBook::armChanged(uint64_t now, bool sweeping) {
  if (!chal_dirty_ && !(sweeping && chal_waiting_)) return;
  chal_dirty_ = false;
  auto live = [&](const sg_addr& key) -> const sg_block* {
    auto k = known_.find(key);
    if (k == known_.end() || !(k->second.block.flags & SG_BLK_CHALLENGE) ||
        k->second.block.expires_ns <= now) {
      return nullptr;
    }
    return &k->second.block;
  };
  std::vector<sg_addr> ended;
  for (const auto& [key, expires] : armed_) {
    if (live(key) == nullptr) ended.push_back(key);
  }
  bool failed = false;
  if (!ended.empty()) {
    if (auto r = challenges_->disarm(ended); !r) {
      noteFailure(challenge_errors_, counters_.challenge_errors, "disarming challenges",
                  r.error().message(), {{"sources", ended.size()}});
      failed = true;  // tried again at the next sweep
    } else {
      for (const sg_addr& key : ended) armed_.erase(key);
    }
  }
  std::vector<ChallengeArm> batch;
  for (const auto& [key, k] : known_) {
    const sg_block* b = live(key);
    if (b == nullptr) continue;
    if (auto a = armed_.find(key); a != armed_.end() && a->second == b->expires_ns) continue;
    batch.push_back({key, b->expires_ns});
  }
  chal_waiting_ = failed;
  if (batch.empty()) {
    chal_failing_since_ = 0;  // no challenge waits: a failure run ends with its victims
    return;
  }
  if (chal_failing_since_ != 0 && !sweeping) {
    chal_waiting_ = true;  // arming fails: the next sweep tries, not every event batch
    return;
  }
  armChallenges(batch, now);
}

void BlockBook::armChallenges(const std::vector<ChallengeArm>& batch, uint64_t now) {
  size_t n = 0;
  auto r = challenges_->arm(batch, &n);
  for (size_t i = 0; i < n && i < batch.size(); i++) armed_[batch[i].key] = batch[i].expires_ns;
  if (!r) {
    // Perhaps the SYNPROXY table went (nftables flushed): put it back, try once more.
    auto fixed = challenges_->repair();
    if (!fixed) {
      noteFailure(challenge_errors_, counters_.challenge_errors, "arming challenges",
                  r.error().message(), {{"sources", batch.size() - n}});
      enterChallengeFallback(now, r.error().message() + "; " + fixed.error().message());
      return;
    }
    if (*fixed) {
      counters_.challenge_repairs++;
      log_.emit("warning", {{"message",
                             "the SYNPROXY table was gone (nftables flushed?): made "
                             "again with its ports and challenged sources"}});
      const std::vector<ChallengeArm> rest(batch.begin() + static_cast<std::ptrdiff_t>(n),
                                           batch.end());
      size_t m = 0;
      r = challenges_->arm(rest, &m);
      for (size_t i = 0; i < m && i < rest.size(); i++) armed_[rest[i].key] = rest[i].expires_ns;
      n += m;
    }
  }
  if (r) {
    noteSuccess(challenge_errors_, "arming challenges");
    (void)fallback_once_.succeeded();
    chal_failing_since_ = 0;
    chal_backoff_ns_ = 0;
    chal_probation_ns_ = 0;
    return;
  }
  noteFailure(challenge_errors_, counters_.challenge_errors, "arming challenges",
              r.error().message(),
              {{"sources", batch.size() - n},
               {"effect",
                "their SYNs reach the stack unanswered and uncounted; retried at each sweep, "
                "and sources over the threshold are blocked instead if it keeps failing"}});
  chal_waiting_ = true;
  if (chal_failing_since_ == 0) chal_failing_since_ = std::max<uint64_t>(now, 1);
  // Just out of a fallback (the trial arm worked), a failing arm falls back
  // at once: no new grace, no new window of unarmed challenges.
  if (now - chal_failing_since_ >= kChallengeGraceNs || now < chal_probation_ns_) {
    enterChallengeFallback(now, r.error().message());
  }
}

void BlockBook::checkChallengeTable(uint64_t now) {
  chal_check_ns_ = now + kReconcileNs;
  auto fixed = challenges_->repair();
  if (!fixed) {
    enterChallengeFallback(now, fixed.error().message());
    return;
  }
  if (*fixed) {
    counters_.challenge_repairs++;
    log_.emit("warning", {{"message",
                           "the SYNPROXY table was gone (nftables flushed?): made again "
                           "with its ports and challenged sources"},
                          {"armed", armed_.size()}});
  }
}

void BlockBook::enterChallengeFallback(uint64_t now, const std::string& why) {
  chal_fallback_ = true;
  chal_waiting_ = false;
  chal_failing_since_ = 0;
  chal_backoff_ns_ = chal_backoff_ns_ == 0 ? kChallengeGraceNs
                                           : std::min(chal_backoff_ns_ * 2, kChallengeBackoffMaxNs);
  chal_retry_ns_ = now + chal_backoff_ns_;
  pushKernelResponse();
  if (fallback_once_.failed()) {  // one line a run: the retries' failures are counted
    log_.emit("error",
              {{"message", "challenges cannot be armed: " + why},
               {"effect",
                "sources over the threshold are blocked instead, and every challenge is lifted "
                "(its source counted afresh), until arming works again"},
               {"retry_ms", chal_backoff_ns_ / 1'000'000}});
  }
  // Armed ones go too: their cookie ACKs may have no SYNPROXY behind them.
  std::vector<sg_addr> keys;
  for (const auto& [key, expires] : armed_) keys.push_back(key);
  if (!keys.empty()) {
    if (auto r = challenges_->disarm(keys); !r) {
      noteFailure(challenge_errors_, counters_.challenge_errors, "disarming challenges",
                  r.error().message(), {{"sources", keys.size()}});
    }
  }
  armed_.clear();
  chal_dirty_ = true;  // the caller's sync lifts them
}

void BlockBook::tryLeaveChallengeFallback(uint64_t now) {
  auto fixed = challenges_->repair();
  if (fixed && *fixed) counters_.challenge_repairs++;
  Result<void> trial = fixed ? trialArm(now) : Result<void>(fixed.error());
  if (!trial) {
    // Still broken: the kernel keeps blocking (telling it to challenge now
    // would leave every source that crosses meanwhile unarmed, its SYNs
    // passed uncounted, until the next fallback).
    counters_.challenge_errors++;
    chal_backoff_ns_ = std::min(chal_backoff_ns_ * 2, kChallengeBackoffMaxNs);
    chal_retry_ns_ = now + chal_backoff_ns_;
    return;
  }
  // Challenges again; an arm that fails in the next kChallengeGraceNs falls
  // back at once, the first that works logs "recovered".
  chal_fallback_ = false;
  chal_probation_ns_ = now + kChallengeGraceNs;
  chal_check_ns_ = now + kReconcileNs;
  pushKernelResponse();
}

// The kernel still blocks and no challenge exists: a reserved source that no
// packet carries (0.0.0.0) is armed and disarmed, through everything a real
// arm goes through (the SYNPROXY table's sets, the XDP program's map).
Result<void> BlockBook::trialArm(uint64_t now) {
  ChallengeArm probe;
  probe.key.b[10] = 0xff;
  probe.key.b[11] = 0xff;
  probe.expires_ns = now + kChallengeGraceNs;  // gone by itself should the disarm fail
  size_t n = 0;
  SG_TRY(challenges_->arm({probe}, &n));
  return challenges_->disarm({probe.key});
}

}  // namespace sg::agent
