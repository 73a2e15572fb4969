// WfpEnforcer: the Windows enforcer (sg::Enforcer) over one WfpEngine. A
// block is the filter pair of planBlock() for the counted key's prefix; the
// allowlist is a set of permit filters of higher weight that always wins.
// WFP has no per-filter timeout, so expiry is the agent's: sweepExpired()
// removes, by id, the filters of blocks whose time has come. Console (global)
// blocks are re-applied from its snapshot after a restart, as on Linux; a
// crashed agent's filters vanish with its dynamic session.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/enforcer.h"
#include "core/isolation.h"
#include "win/wfp_engine.h"

namespace sg::win {

class WfpEnforcer final : public Enforcer {
 public:
  WfpEnforcer(WfpEngine engine, Clock* clock) : engine_(std::move(engine)), clock_(clock) {}

  const char* name() const override { return "wfp"; }
  Result<void> block(const BlockSpec& spec) override;
  Result<void> unblock(const Address& key, uint8_t v6_prefix) override;
  Result<void> blockPrefix(const Prefix& prefix, Nanos ttl) override;
  Result<void> unblockPrefix(const Prefix& prefix) override;

  // Replaces the allowlist's permit filters.
  Result<void> setAllowlist(const std::vector<Prefix>& allow);
  // Removes the blocks whose expiry is <= now; returns their prefixes.
  Result<std::vector<Prefix>> sweepExpired();
  size_t blockCount() const { return blocks_.size(); }
  // The filter ids of a block (empty when there is none), for tests and logs.
  std::vector<uint64_t> filterIds(const Prefix& p) const;
  const WfpEngine& engine() const { return engine_; }
  // The same engine for WfpIsolation (its filters in the same dynamic session).
  WfpEngine* sharedEngine() { return &engine_; }

 private:
  struct Entry {
    Prefix prefix;
    std::vector<uint64_t> ids;
    uint64_t expires_ns = 0;
  };
  Result<void> add(const Prefix& p, Nanos ttl);
  Result<void> remove(const Prefix& p);
  Result<void> removeIds(std::vector<uint64_t>* ids);

  WfpEngine engine_;
  Clock* clock_;
  std::map<std::string, Entry> blocks_;  // by Prefix::str()
  std::vector<uint64_t> allow_ids_;
};

// Isolation over the same engine: planIsolation()'s filter set, replaced as a
// whole on every isolate(), removed by id on release().
class WfpIsolation final : public IsolationPort {
 public:
  explicit WfpIsolation(WfpEngine* engine) : engine_(engine) {}
  Result<void> isolate(const IsolationSpec& spec) override;
  Result<void> release() override;
  bool isolated() const override { return isolated_; }
  IsolationSpec spec() const override { return isolated_ ? spec_ : IsolationSpec{}; }

 private:
  WfpEngine* engine_;
  std::vector<uint64_t> ids_;
  IsolationSpec spec_;
  bool isolated_ = false;
};

}  // namespace sg::win
