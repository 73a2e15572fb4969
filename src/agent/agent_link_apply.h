// LinkApplier: applies the console's desired state on the agent's loop
// thread (the only one that touches the block book, the sensor and the
// isolation) and says what it could not apply. Unit-tested over BlockBook +
// FakeSensor + FakeIsolation (agent_link_apply_test.cpp).
//
// - Global blocks all go through applyConsoleBlock(): an address (/32,
//   /128) or an IPv6 prefix of exactly the agent's counting length becomes a
//   BlockBook block, a wider prefix a BlockBook prefix block (permanent when the console gives no
//   expiry, so the block store keeps it; a TTL block is kept by the pinned table, and re-applied
//   from console-state.json when it is missing at start). The allowlist
//   (--allow, loopback, the host's addresses) always wins: such a source is
//   refused with "source on allowlist". The blocks are recorded as the
//   console's (agent_link_state.h): a snapshot removes the console's blocks
//   it no longer lists and never touches local detections.
// - Isolation goes through the IsolationPort with the console's addresses
//   always among the allowed peers, plus the configured allowlist
//   (applyConsoleIsolation, console_link_isolation.h: shared with the
//   Windows agent's applier).
// - policy_set changes threshold, window and block duration live, as SIGHUP
//   does; a named policy stays in force over a SIGHUP reload (overlay) and a
//   restart; "default" (no console policy matched) gives the agent back its
//   own configuration. An enforcer other than the running one needs a
//   restart: that item is refused, the rest applied.
// Each version is answered with an ack, or a nack listing the refused items.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "agent/agent_link_state.h"
#include "agent/block_book.h"
#include "core/config.h"
#include "core/isolation.h"
#include "proto/messages.h"

namespace sg::agent {

// What the applier needs from the agent.
struct LinkApplyHost {
  BlockBook* book = nullptr;
  IsolationPort* isolation = nullptr;              // null: this agent cannot isolate
  std::function<AgentConfig()> config;             // running config (configured allowlist)
  std::function<std::vector<Prefix>()> allowlist;  // configured + loopback + host addresses
  // Applies a config live (as SIGHUP) and makes it the running one.
  std::function<Result<void>(const AgentConfig&)> apply_config;
  std::function<std::vector<Address>()> console_addresses;
  std::function<uint64_t()> wall_ms;  // CLOCK_REALTIME in ms (persisted expiries)
};

inline constexpr const char* kReasonAllowlisted = "source on allowlist";
inline constexpr const char* kReasonConsole = "source covers the console's address";

class LinkApplier {
 public:
  // `state_dir` "" keeps nothing (tests).
  LinkApplier(LinkApplyHost host, std::string state_dir);

  // Reads console-state.json, then puts back what a restart lost: the
  // console's policy, and its blocks the kernel no longer holds.
  Result<void> restore();

  proto::AgentMessage apply(const proto::Snapshot& snapshot);
  proto::AgentMessage apply(const proto::Delta& delta);

  // The one way a console block reaches the agent. `expires_in_ms` nullopt:
  // permanent. The error's message is the nack reason.
  Result<void> applyConsoleBlock(const Prefix& source, std::optional<uint64_t> expires_in_ms);
  Result<void> removeConsoleBlock(const Prefix& source);

  // A SIGHUP's freshly read config: the console's policy goes back on top.
  void overlay(AgentConfig& reloaded);
  // False for what the console must not hear back: changes the applier is
  // making, and the life of the console's own blocks.
  bool reportable(const proto::Event& event) const;

  uint64_t appliedVersion() const { return state_.applied_version; }
  const AgentLinkState& state() const { return state_; }

 private:
  struct Limits {
    uint32_t threshold = 0;
    Nanos window{0};
    Nanos block_duration{0};
  };
  // `held`: the sources the book holds now (a snapshot re-applies a console
  // block removed locally); null: trust the record (deltas).
  void applyBlock(const proto::BlockEntry& b, std::vector<proto::NackItem>& items,
                  const std::set<std::string>* held = nullptr);
  std::set<std::string> heldSources() const;
  void applyIsolation(bool on, const std::vector<Prefix>& peers, bool from_snapshot,
                      std::vector<proto::NackItem>& items);
  void applyPolicy(const proto::PolicyParams& p, std::vector<proto::NackItem>& items);
  proto::AgentMessage finish(uint64_t version, std::vector<proto::NackItem> items);
  bool isPrefixBlock(const Prefix& source) const;
  Result<void> checkAllowlist(const Prefix& source) const;
  std::string keyOf(const Prefix& source) const;
  void save();

  LinkApplyHost host_;
  std::string state_dir_;
  AgentLinkState state_;
  std::optional<Limits> local_;  // the agent's own values, while a console policy overrides them
  bool applying_ = false;
};

}  // namespace sg::agent
