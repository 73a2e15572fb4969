// WinLinkApplier: the console's desired state on the Windows agent, and what
// goes back. Global blocks (snapshot and delta) become blocks of the
// AttemptPipeline — WFP filters through its enforcer — recorded as the
// console's: a snapshot removes the console's blocks it no longer lists and
// never touches local detections. The allowlist (loopback, --allow) always
// wins: such a block is refused with "source on allowlist", as on Linux.
// Isolation (snapshot or isolate/release ops) goes to an IsolationPort (the
// agent's: WfpIsolation) as on Linux: the console's addresses, the peers it
// names and the agent's --allow; a snapshot releases only what the console
// isolated, a release op any isolation (agent::applyConsoleIsolation, the
// Linux applier's own code). Not applied live on Windows yet,
// said in a nack item: a named policy (the agent keeps its flags; "default"
// is acknowledged, as it gives the agent its own configuration back).
// Plain C++ (link_apply_test.cpp).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "agent/console_link_core.h"
#include "core/isolation.h"
#include "proto/messages.h"
#include "win/attempt_pipeline.h"

namespace sg::win {

class WinLinkApplier {
 public:
  WinLinkApplier(AttemptPipeline* pipeline, std::vector<Prefix> allowlist);
  // Where isolation goes: `port` (null: refused, "this agent runs without
  // isolation"), the console's addresses, looked up at each isolate order as
  // the Linux agent does (empty: refused, not resolved; a name that did not
  // resolve at start, or a console that moved, is found at the next order),
  // and the agent's configured --allow (not widened).
  using ConsoleAddresses = std::function<std::vector<Address>()>;
  void setIsolation(IsolationPort* port, ConsoleAddresses console,
                    std::vector<Prefix> config_allow);

  proto::AgentMessage apply(const proto::Snapshot& snapshot, uint64_t now_ns);
  proto::AgentMessage apply(const proto::Delta& delta, uint64_t now_ns);
  uint64_t appliedVersion() const { return applied_version_; }
  size_t consoleBlocks() const { return console_.size(); }

 private:
  void addBlock(const proto::BlockEntry& e, uint64_t now_ns, std::vector<proto::NackItem>& items);
  void removeBlock(const Prefix& p, std::vector<proto::NackItem>& items);
  void isolation(bool on, const std::vector<Prefix>& peers, bool from_snapshot,
                 std::vector<proto::NackItem>& items);
  void policy(const proto::PolicyParams& p, std::vector<proto::NackItem>& items);
  proto::AgentMessage answer(uint64_t version, std::vector<proto::NackItem> items);

  AttemptPipeline* pipeline_;
  std::vector<Prefix> allow_;
  std::map<std::string, Prefix> console_;  // the console's blocks in force, by Prefix::str()
  IsolationPort* isolation_ = nullptr;
  ConsoleAddresses console_addrs_;
  std::vector<Prefix> config_allow_;
  bool isolated_by_console_ = false;
  uint64_t applied_version_ = 0;
};

// The loop's share of the link, called on every tick: applies the snapshots
// and deltas ConsoleLinkCore took in, answers each, sends due heartbeats.
void serviceLink(agent::ConsoleLinkCore& core, WinLinkApplier& applier,
                 const AttemptPipeline& pipeline, uint64_t now_ns);

// A Tracker event as a report event: a block is block_added, a flag (the
// detect-only crossing) flood_detected, the source as the counted key's
// prefix (an IPv6 source under `v6_prefix`); nullopt for pressure events.
std::optional<proto::Event> reportEvent(const sg_event& ev, uint64_t window_ms, uint8_t v6_prefix,
                                        uint64_t now_ns);

}  // namespace sg::win
