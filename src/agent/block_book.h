// BlockBook: the agent's view of blocks. It turns kernel events into log
// lines, hands blocks to the enforcer (nftables mode), expires them, serves
// manual block/unblock, and reconciles with the kernel's block table so that
// nothing is lost when the kernel's event budget suppressed an event.
// Pure logic over SensorPort, Enforcer, EventLog and Clock: unit-tested with
// fakes (block_book_test.cpp).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <unordered_map>

#include "agent/block_store.h"
#include "agent/challenge_port.h"
#include "agent/error_once.h"
#include "agent/event_log.h"
#include "agent/sensor_port.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/enforcer.h"

namespace sg::agent {

// Counters of the agent's own (user-space) work, exported as metrics.
struct BookCounters {
  uint64_t events_handled = 0;
  uint64_t blocks_expired = 0;
  uint64_t blocks_removed = 0;
  uint64_t manual_blocks = 0;
  uint64_t prefix_blocks = 0;         // blockPrefix calls that made or renewed a prefix block
  uint64_t enforcer_errors = 0;       // failed enforcer blocks and hand-offs
  uint64_t enforcer_read_errors = 0;  // failed reads of the enforcer's drop counter
  uint64_t late_blocks = 0;           // found by reconcile, not by an event
  uint64_t pressure_events = 0;
  uint64_t challenge_errors = 0;   // failed arming or disarming of challenges
  uint64_t challenge_repairs = 0;  // SYNPROXY table found gone and made again
  uint64_t challenges_lifted = 0;  // challenges that could not be armed, lifted
};

class BlockBook {
 public:
  using IfName = std::function<std::string(uint32_t ifindex)>;

  // `clock` is the sensor's time base (block times); `mono` is
  // CLOCK_MONOTONIC, for detection-to-enforcement latency (default: the real one).
  BlockBook(SensorPort& sensor, Enforcer* enforcer, EventLog& log, Clock& clock,
            const AgentConfig& config, IfName ifname, Clock* mono = nullptr);

  // A block with this expiry never ends (until unblock): the program compares
  // now < expires_ns, which always holds.
  static constexpr uint64_t kPermanentNs = UINT64_MAX;
  static bool isPermanent(const sg_block& b) { return b.expires_ns == kPermanentNs; }
  // "challenge" for a challenged source (bpf/sg_challenge.h), else "block".
  static const char* responseName(const sg_block& b);

  void setConfig(const AgentConfig& config) { config_ = config; }
  // Where permanent blocks are kept across restarts (null: nowhere).
  void setStore(BlockStore* store) { store_ = store; }
  // Challenged sources (bpf/sg_challenge.h) are armed through `port` once the
  // book knows them and disarmed when they end. A challenge that cannot be
  // armed is never left as it is (the kernel would pass its source uncounted
  // until it expires): with no port (null) it is lifted at once, and the
  // source counted afresh; when arming fails, the port repairs what it can
  // (the SYNPROXY table) and, failing for kChallengeGraceNs, the book falls
  // back: unarmed challenges lifted, the kernel told to block instead
  // (kernelConfig) until a trial arm works again (retried with a backoff).
  void setChallenges(ChallengePort* port) { challenges_ = port; }
  size_t armedChallenges() const { return armed_.size(); }
  // Whether challenges can be armed now (a port, not fallen back).
  bool challengesUsable() const { return challenges_ != nullptr && !chal_fallback_; }
  // The kernel's config for `config` as this book can enforce it: a block
  // instead of a challenge while challenges are not usable.
  sg_config kernelConfig(const AgentConfig& config) const;
  static constexpr uint64_t kChallengeGraceNs = 4'000'000'000;
  static constexpr uint64_t kChallengeBackoffMaxNs = 64'000'000'000;
  // Handles every event waiting in the sensor (onKernelEvent), then arms
  // and disarms the challenges they changed in one batch.
  Result<int> pollEvents();
  // At start: adopts the blocks and prefix blocks the kernel already holds
  // (pinned tables from an earlier agent), then re-applies the store's
  // permanent ones that are missing (pins removed). One "block_restored" event each.
  void restore();
  void onKernelEvent(const sg_event& ev);
  // Expires due blocks (prefix blocks too) and reconciles with the kernel's table.
  void sweep();
  // When the next known block expires (0: none known).
  uint64_t nextExpiryNs() const;
  // When the agent should call sweep() next (the book's clock). Fixed by the
  // last sweep and the known blocks, never by other wake-ups, so a busy
  // control socket cannot postpone it: a reconcile tick at most kReconcileNs
  // after the last sweep, a final read of a block's drop count kFinalSyncNs
  // before its expiry (the kernel deletes an expired block on its source's
  // next packet, and its count with it), and the sweep just after it.
  uint64_t nextSweepNs() const;
  static constexpr uint64_t kReconcileNs = 2'000'000'000;
  static constexpr uint64_t kIdleReconcileNs = 5'000'000'000;
  static constexpr uint64_t kFinalSyncNs = 20'000'000;
  static constexpr uint64_t kExpirySlackNs = 1'000'000;

  // A manual block for `duration`, or without expiry when `permanent` (kept
  // in the store; held by XDP whatever the enforcer, nftables elements time out).
  Result<nlohmann::json> block(const Address& src, Nanos duration, bool permanent = false);
  Result<nlohmann::json> unblock(const Address& src);
  // Block Globally: every source inside `prefix` (198.51.100.0/24,
  // 2001:db8::/32) for `ttl`, or until unblockPrefix when `ttl` is nullopt
  // (permanent: kept in the store). An address-length prefix (/32, or an
  // IPv6 prefix at least as long as the counting prefix) is the per-source
  // block of its counted key, as block() makes it. Sources on the allowlist
  // inside the prefix stay allowed (the kernel checks); a prefix the
  // allowlist covers whole is refused (kInvalidArgument, saying which entry).
  // Re-blocking a prefix replaces its expiry (idempotent). `extra_flags`:
  // SG_PFX_FLOOD for a port flood's block (verified sources pass it).
  Result<nlohmann::json> blockPrefix(const Prefix& prefix, std::optional<Nanos> ttl,
                                     uint8_t extra_flags = 0);
  // Lifts blockPrefix(prefix); kNotFound when it is not blocked.
  Result<nlohmann::json> unblockPrefix(const Prefix& prefix);
  Result<nlohmann::json> blocksJson();
  const BookCounters& counters() const { return counters_; }
  // Packets the enforcer dropped after hand-offs (0 without one), for
  // dropped_total; the last good reading when it cannot be read now.
  uint64_t enforcerDrops();
  size_t knownBlocks() const { return known_.size(); }
  size_t knownPrefixBlocks() const { return prefixes_.size(); }
  bool hasPrefixBlock(const Prefix& prefix) const { return prefixes_.count(prefix) != 0; }
  // Which write made the prefix's block in force now (each blockPrefix call,
  // renewals too, gets a new number); nullopt when it is not blocked. Lets a
  // caller that made a block tell whether it is still the one it made.
  std::optional<uint64_t> prefixBlockWrite(const Prefix& prefix) const;
  // Whether unblockPrefix lifted the prefix after write `write` (an
  // operator's or the console's unblock), as opposed to its block having run
  // out and been swept: a caller that made write `write` must not make it again.
  bool prefixLiftedSince(const Prefix& prefix, uint64_t write) const;

  // Orders prefixes (maps keyed by prefix).
  struct PrefixLess {
    bool operator()(const Prefix& a, const Prefix& b) const;
  };

 private:
  struct Known {
    sg_block block{};
    uint32_t ifindex = 0;
    bool final_synced = false;  // drops read within kFinalSyncNs of the expiry
  };
  struct KeyHash {
    size_t operator()(const sg_addr& a) const;
  };
  struct KeyEq {
    bool operator()(const sg_addr& a, const sg_addr& b) const;
  };

  void expire(const sg_addr& key, const sg_block& b);
  // Arms the known challenges not armed yet, disarms the armed ones that
  // ended (block_book_challenge.cpp): when something changed (see
  // noteChallenge), and at sweeps while arms wait for a retry. Inside
  // pollEvents, once after the batch.
  void syncChallenges(bool sweeping = false);
  // A known entry of `key` changes from or to `b`: the next syncChallenges
  // has work when it is or was a challenge.
  void noteChallenge(const sg_addr& key, const sg_block& b);
  void armChanged(uint64_t now, bool sweeping);
  void armChallenges(const std::vector<ChallengeArm>& batch, uint64_t now);
  // The SYNPROXY table's check while challenges are armed (every kReconcileNs).
  void checkChallengeTable(uint64_t now);
  void enterChallengeFallback(uint64_t now, const std::string& why);
  // Leaves the fallback when the table is in place and a trial arm works.
  void tryLeaveChallengeFallback(uint64_t now);
  Result<void> trialArm(uint64_t now);
  // Removes the challenge of `key` from the kernel (its source is counted
  // afresh) and from the book, saying why.
  void liftChallenge(const sg_addr& key, const std::string& why, const char* from = nullptr);
  void pushKernelResponse();
  // Hands a block to the enforcer (nftables), marking it handed off in the
  // sensor; noteHandOff counts and logs the outcome (after the block's log).
  struct HandOff {
    bool tried = false;
    std::optional<Error> block_error, mark_error;
  };
  HandOff handOff(const sg_addr& key, Known& k);
  void noteHandOff(const HandOff& h, const nlohmann::json& src);
  Result<void> saveState();
  Result<void> restoreSaved(const std::string& text);
  void restoreChallenge(const sg_addr& key, const sg_block& b);
  // span_ns: the time the kernel counted b.count in (its event's ts_ns -
  // first_ns), 0 when unknown (no rate is reported then).
  void adopt(const sg_addr& key, const sg_block& b, uint32_t ifindex, uint64_t detected_mono_ns,
             bool late, uint64_t span_ns = 0);
  nlohmann::json expiredFields(const sg_addr& key, const sg_block& b) const;
  nlohmann::json describe(const sg_addr& key, const sg_block& b) const;
  std::string source(const sg_addr& key) const;
  // Prefix blocks (block_book_prefix.cpp).
  // Goes to the per-source path: IPv4 /32, IPv6 at least the counting prefix.
  bool addressLength(const Prefix& p) const;
  nlohmann::json describePrefix(const Prefix& p, const sg_prefix_block& b) const;
  // Hands a timed prefix block to the enforcer; sets SG_BLK_HANDED_OFF in
  // `b` when it took it (else XDP keeps dropping, the failure noted).
  void handOffPrefix(const Prefix& p, sg_prefix_block& b);
  void sweepPrefixes(uint64_t now);
  void restorePrefixes(const std::vector<std::string>& saved);
  Result<void> restoreSavedPrefix(const std::string& text);

  // Counts a failure of `what` in `counter`; logs it (with fields `f`) when
  // it starts a run. noteSuccess logs the end of a run.
  void noteFailure(ErrorOnce& once, uint64_t& counter, const std::string& what,
                   const std::string& message, nlohmann::json f);
  void noteSuccess(ErrorOnce& once, const std::string& what);

  MonotonicClock default_mono_;
  Clock* mono_;
  SensorPort& sensor_;
  Enforcer* enforcer_;
  EventLog& log_;
  Clock& clock_;
  AgentConfig config_;
  IfName ifname_;
  BookCounters counters_;
  ErrorOnce block_errors_;      // enforcer_->block()
  ErrorOnce handoff_errors_;    // sensor_.markHandedOff()
  ErrorOnce read_errors_;       // enforcer_->droppedPackets()
  ErrorOnce challenge_errors_;  // challenges_->arm()/disarm()
  ErrorOnce fallback_once_;     // challenges fallen back, until an arm works
  ChallengePort* challenges_ = nullptr;
  uint64_t enforcer_drops_ = 0;
  uint64_t last_sweep_ns_ = 0;
  BlockStore* store_ = nullptr;
  std::unordered_map<sg_addr, Known, KeyHash, KeyEq> known_;
  std::map<Prefix, sg_prefix_block, PrefixLess> prefixes_;  // as last written to the sensor
  std::map<Prefix, uint64_t, PrefixLess> prefix_writes_;    // prefixBlockWrite of each
  uint64_t prefix_write_seq_ = 0;
  // Prefixes unblockPrefix lifted, with the write number of the lift (at
  // most kMaxLifts, the oldest forgotten first).
  std::map<Prefix, uint64_t, PrefixLess> prefix_lifts_;
  static constexpr size_t kMaxLifts = 4096;
  std::unordered_map<sg_addr, uint64_t, KeyHash, KeyEq> armed_;  // challenges armed: expiry
  bool chal_dirty_ = false;          // known challenges changed since the last sync
  bool chal_waiting_ = false;        // some failed to arm: retried at the next sweep
  bool in_event_batch_ = false;      // pollEvents: one sync after the batch
  bool chal_fallback_ = false;       // arming failed for kChallengeGraceNs: the kernel blocks
  uint64_t chal_failing_since_ = 0;  // first failure of the current run (0: none)
  uint64_t chal_retry_ns_ = 0;       // fallen back: next attempt to leave
  uint64_t chal_backoff_ns_ = 0;     // and the wait after it
  uint64_t chal_check_ns_ = 0;       // next check of the SYNPROXY table
  uint64_t chal_probation_ns_ = 0;   // left the fallback: a failed arm before this falls back
  bool chal_lift_waiting_ = false;   // a lift failed: retried at the next sweep
};

}  // namespace sg::agent
