// DesiredState: what every endpoint should run (global blocks, its isolation,
// its resolved policy) under one monotonically increasing version, and what
// each endpoint has acknowledged. Pure logic over sg::Clock.
//
// Versions: every change takes the next version. An endpoint's desired
// version is the newest version that changed something for it (a global
// block change, or its own isolation or policy), so a change for one endpoint
// leaves the others up to date. A link sends a snapshot to a connecting
// endpoint (or one too far behind the change log, or claiming a version this
// console never gave it), then deltas; the agent answers each with an ack, or
// a nack listing what it could not apply (its allowlist always wins).
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "console/change_log.h"
#include "console/policy_resolver.h"
#include "core/clock.h"
#include "core/duration.h"
#include "core/result.h"
#include "proto/limits.h"
#include "proto/messages.h"

namespace sg::console {

struct DesiredStateOptions {
  // The profile of endpoints no policy matches.
  proto::PolicyParams default_policy;
  // Changes kept for deltas; endpoints further behind get a snapshot.
  size_t change_log_capacity = 65536;
  // Global blocks at once (a snapshot carries them all).
  size_t max_blocks = proto::kMaxBlocks;
  // Where versions come from (unset: one more than the last). Several
  // consoles on one database take them from a shared counter, so a version
  // names one change fleet-wide; a value not above the current one is ignored.
  std::function<uint64_t()> next_version;
  // Several consoles: an agent's version may come from another console, whose
  // changes this one numbered differently. Send a delta only from a version
  // the endpoint acknowledged to this console (onAck), else a snapshot.
  bool delta_only_from_own_acks = false;
};

struct GlobalBlock {
  Prefix source;
  std::optional<uint64_t> expires_at_ns;  // console clock; nullopt = permanent
  std::string added_by;
  std::string reason;
  uint64_t version = 0;  // when it was (last) added
  bool operator==(const GlobalBlock&) const = default;
};

// How far one global block has reached.
struct BlockStatus {
  size_t acked = 0;     // endpoints that applied it
  size_t pending = 0;   // connected endpoints that have not yet
  size_t rejected = 0;  // endpoints that nacked it (e.g. source on their allowlist)
};

struct EndpointState {
  Labels labels;
  bool connected = false;
  bool isolated = false;
  std::vector<Prefix> allowed_peers;
  proto::PolicyParams policy;
  uint64_t own_version = 0;         // last isolation or policy change for it
  uint64_t acked_version = 0;       // last version it reported applied (ack or nack)
  uint64_t link_acked_version = 0;  // the same, acknowledged on a link of this process
  // What it could not apply: "op target" -> (reason, version of the nack).
  std::map<std::string, std::pair<std::string, uint64_t>> rejected;
};

class DesiredState {
 public:
  // `version` is the version to continue from (the store keeps it).
  DesiredState(DesiredStateOptions options, Clock& clock, uint64_t version = 0);

  // ---- the fleet
  Result<void> upsertEndpoint(const std::string& name, const Labels& labels);
  Result<void> setConnected(const std::string& name, bool connected);
  // A revoked endpoint leaves the fleet: no longer counted in blockStatus().
  // Its changes stay in the log (they are never sent: it has no link).
  void removeEndpoint(const std::string& name);
  const EndpointState* endpoint(const std::string& name) const;
  uint64_t desiredVersion(const std::string& name) const;

  // ---- operator actions; each returns the version that holds it (the current
  // one when it changed nothing: actions are idempotent)
  Result<uint64_t> addBlock(const Prefix& source, std::optional<Nanos> ttl,
                            const std::string& added_by, const std::string& reason);
  Result<uint64_t> removeBlock(const Prefix& source);
  Result<uint64_t> isolate(const std::string& name, std::vector<Prefix> allowed_peers);
  Result<uint64_t> release(const std::string& name);
  Result<uint64_t> setPolicy(Policy policy);
  Result<uint64_t> deletePolicy(const std::string& name);
  // Removes the blocks whose TTL ran out (one version for all); returns them.
  std::vector<Prefix> expireBlocks();

  // ---- after a restart: state saved by the store, at the constructor's
  // version (no new version, nothing logged: agents behind get a snapshot)
  Result<void> restoreBlock(GlobalBlock block);
  Result<void> restorePolicy(Policy policy);
  Result<void> restoreIsolation(const std::string& name, std::vector<Prefix> allowed_peers);

  // ---- the link
  Result<proto::Snapshot> snapshot(const std::string& name) const;
  // What brings an agent at `applied_version` up to date: nothing, a delta,
  // or a snapshot. Error for an unknown endpoint. `now_ns` (console clock,
  // default: now) is what TTLs are counted from: a fan-out passes one value
  // for every link, so equal changes give equal messages, rendered once.
  Result<std::optional<proto::ConsoleMessage>> catchUp(
      const std::string& name, uint64_t applied_version,
      std::optional<uint64_t> now_ns = std::nullopt) const;
  Result<void> onAck(const std::string& name, uint64_t version);
  // What it acknowledged before a restart (counts for blockStatus only).
  Result<void> restoreAck(const std::string& name, uint64_t version);
  // Makes the next change take a version above `version` (a console learning
  // of versions others took).
  void advanceTo(uint64_t version) { version_ = std::max(version_, version); }
  Result<void> onNack(const std::string& name, const proto::Nack& nack);

  BlockStatus blockStatus(const Prefix& source) const;
  // blockStatus() of every block (by prefix text) in one pass over the
  // endpoints: O(endpoints x log blocks), not O(endpoints x blocks).
  std::map<std::string, BlockStatus> blockStatuses() const;
  const std::map<std::string, GlobalBlock>& blocks() const { return blocks_; }
  const PolicyResolver& policies() const { return resolver_; }
  uint64_t version() const { return version_; }

 private:
  uint64_t bump();
  void logAll(uint64_t version, proto::DeltaOp op, std::optional<uint64_t> expires_at = {});
  void logOne(uint64_t version, const std::string& name, proto::DeltaOp op);
  // Re-resolves every endpoint's policy at `version`; true if any changed.
  bool reresolve(uint64_t version);
  static std::optional<uint64_t> expiresInMs(const std::optional<uint64_t>& at_ns, uint64_t now);
  proto::Snapshot makeSnapshot(const std::string& name, const EndpointState& ep,
                               uint64_t now) const;
  Result<EndpointState*> mutableEndpoint(const std::string& name);

  DesiredStateOptions options_;
  Clock& clock_;
  uint64_t version_;
  uint64_t global_version_ = 0;                // last change of the global blocks
  std::map<std::string, GlobalBlock> blocks_;  // by prefix text
  std::map<std::string, EndpointState> endpoints_;
  PolicyResolver resolver_;
  ChangeLog log_;
};

}  // namespace sg::console
