// Isolator: the Linux IsolationPort. Isolation is an nftables table of its
// own (family inet, rules in isolation_rules.h) owned by the isolator's
// netlink socket (NFT_TABLE_F_OWNER, as NftEnforcer's table is), and a
// record in the agent's state directory (isolation_state.h).
//
// The table exists, empty, for the isolator's whole life: create() claims
// the name, so two agents cannot fight over one table (the second is
// refused, naming the holder). isolate() and release() each replace the
// table's contents in one transaction: there is no moment with half a
// ruleset. The record is written before the kernel changes and put back when
// the kernel refuses, so it never claims less isolation than the kernel has.
//
// Restart: create() reads the record and, when it says isolated, builds the
// rules in the same transaction that claims the table, so the agent calls it
// before anything else at start. The kernel deletes an owned table when its
// socket closes, so between an agent's end (crash, stop) and its next start
// the host is NOT isolated; with systemd's Restart=on-failure the gap is the
// restart time. docs/architecture.md ("Isolation") says why we chose this
// over a table that outlives the agent.
// Not thread-safe: one owner thread, like the agent's event loop.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "core/isolation.h"
#include "linux/isolation_state.h"

namespace sg {

class NftNetlink;

struct IsolatorOptions {
  // The agent's state directory; the record is <state_dir>/isolation.json.
  std::string state_dir;
  // The isolation table `inet <table>`; one per agent on a host.
  std::string table = "syn_guard_isolation";
};

class Isolator final : public IsolationPort {
 public:
  // Claims the table and re-applies a recorded isolation. Errors: an invalid
  // table name, or a malformed record (kInvalidArgument); the table held by
  // another live process (kAlreadyExists); no CAP_NET_ADMIN
  // (kPermissionDenied); kIo otherwise.
  static Result<std::unique_ptr<Isolator>> create(const IsolatorOptions& options);
  Isolator(const Isolator&) = delete;
  Isolator& operator=(const Isolator&) = delete;
  // Deletes the table (lifting the isolation until the next create(); the
  // record stays).
  ~Isolator() override;

  Result<void> isolate(const IsolationSpec& spec) override;
  Result<void> release() override;
  bool isolated() const override { return spec_.has_value(); }
  IsolationSpec spec() const override { return spec_.value_or(IsolationSpec{}); }

  // create() found an isolation in the record and re-applied it.
  bool restored() const { return restored_; }
  // create() replaced a table of that name left without a live holder.
  bool removedStaleTable() const { return removed_stale_; }
  const std::string& table() const { return table_; }
  const std::string& recordPath() const { return state_.path(); }

 private:
  Isolator(std::string table, IsolationState state);
  // One transaction: [delete the old table], a new owned table, the rules of `spec`.
  Result<void> replaceTable(const std::optional<IsolationSpec>& spec, bool had_table);
  // Records `spec`, changes the kernel, puts the old record back on failure.
  Result<void> apply(const std::optional<IsolationSpec>& spec);

  std::unique_ptr<NftNetlink> nl_;
  std::string table_;
  IsolationState state_;
  std::optional<IsolationSpec> spec_;
  bool owned_ = true;
  bool restored_ = false;
  bool removed_stale_ = false;
};

}  // namespace sg
