#include "agent/agent_link_apply.h"

#include <algorithm>
#include <set>

#include "agent/console_link_isolation.h"
#include "proto/limits.h"

namespace sg::agent {
namespace {

// A TTL block the console sends again is left alone when its expiry moved
// by less than this (the console's clock and the transit blur it).
constexpr uint64_t kExpirySlackMs = 2000;

proto::NackItem item(const char* op, std::string target, std::string reason) {
  return proto::NackItem{op, std::move(target), std::move(reason)};
}

}  // namespace

LinkApplier::LinkApplier(LinkApplyHost host, std::string state_dir)
    : host_(std::move(host)), state_dir_(std::move(state_dir)) {}

bool LinkApplier::isPrefixBlock(const Prefix& source) const {
  const bool address = source.bits == 128;
  const bool counted_prefix = !source.addr.isV4() && source.bits == host_.config().ipv6_prefix;
  return !address && !counted_prefix;
}

std::string LinkApplier::keyOf(const Prefix& source) const {
  if (isPrefixBlock(source)) return source.str();  // as BlockBook lists a prefix block
  const auto v6 = static_cast<uint8_t>(host_.config().ipv6_prefix);
  return formatSource(sourceKey(source.addr, v6), v6);
}

void LinkApplier::save() {
  const uint64_t now = host_.wall_ms();
  auto& b = state_.blocks;
  b.erase(std::remove_if(b.begin(), b.end(),
                         [now](const ConsoleBlockRecord& r) {
                           return r.expires_unix_ms && *r.expires_unix_ms <= now;
                         }),
          b.end());
  if (state_dir_.empty()) return;
  if (auto r = saveAgentLinkState(state_dir_, state_); !r) {
    // The versions applied stay in force; a restart would ask the console again.
    state_.applied_version = 0;
  }
}

Result<void> LinkApplier::checkAllowlist(const Prefix& source) const {
  for (const Prefix& allowed : host_.allowlist()) {
    if (allowed.bits <= source.bits && allowed.contains(source.addr)) {
      return Error(Errc::kInvalidArgument, kReasonAllowlisted);
    }
  }
  // A block covering the console would cut the link that could lift it
  // (and a console block comes back at every restart): never applied.
  if (host_.console_addresses) {
    for (const Address& console : host_.console_addresses()) {
      if (source.contains(console)) return Error(Errc::kInvalidArgument, kReasonConsole);
    }
  }
  return Ok{};
}

Result<void> LinkApplier::applyConsoleBlock(const Prefix& source,
                                            std::optional<uint64_t> expires_in_ms) {
  SG_TRY(checkAllowlist(source));
  const bool was_applying = applying_;
  applying_ = true;
  std::optional<Nanos> ttl;
  if (expires_in_ms) ttl = std::chrono::milliseconds(*expires_in_ms);
  // An address (or an IPv6 prefix of the counting length) is a per-source
  // block; anything wider is a prefix block (an LPM lookup in XDP).
  Result<nlohmann::json> done = isPrefixBlock(source) ? host_.book->blockPrefix(source, ttl)
                                : ttl                 ? host_.book->block(source.addr, *ttl, false)
                                      : host_.book->block(source.addr, Nanos(0), true);
  applying_ = was_applying;
  if (!done) return done.error();
  auto& b = state_.blocks;
  b.erase(std::remove_if(b.begin(), b.end(),
                         [&](const ConsoleBlockRecord& r) { return r.source == source; }),
          b.end());
  std::optional<uint64_t> until;
  if (expires_in_ms) until = host_.wall_ms() + *expires_in_ms;
  b.push_back(ConsoleBlockRecord{source, until});
  return Ok{};
}

Result<void> LinkApplier::removeConsoleBlock(const Prefix& source) {
  auto& b = state_.blocks;
  auto it = std::find_if(b.begin(), b.end(),
                         [&](const ConsoleBlockRecord& r) { return r.source == source; });
  if (it == b.end()) return Ok{};  // never applied here (refused, or already gone)
  b.erase(it);
  const bool was_applying = applying_;
  applying_ = true;
  auto done =
      isPrefixBlock(source) ? host_.book->unblockPrefix(source) : host_.book->unblock(source.addr);
  applying_ = was_applying;
  if (!done && done.error().code() != Errc::kNotFound) return done.error();
  return Ok{};
}

std::set<std::string> LinkApplier::heldSources() const {
  std::set<std::string> held;
  if (auto listed = host_.book->blocksJson(); listed.ok()) {
    for (const auto& b : *listed) held.insert(b.value("src", ""));
  }
  return held;
}

void LinkApplier::applyBlock(const proto::BlockEntry& e, std::vector<proto::NackItem>& items,
                             const std::set<std::string>* held) {
  if (e.expires_in_ms && *e.expires_in_ms == 0) return;  // ended in transit
  for (const auto& r : state_.blocks) {
    if (!(r.source == e.source)) continue;
    // Unblocked locally since (`syn-guard unblock`): a snapshot puts it back.
    if (held != nullptr && !held->count(keyOf(r.source))) break;
    if (!r.expires_unix_ms && !e.expires_in_ms) return;  // the same permanent block
    if (r.expires_unix_ms && e.expires_in_ms) {
      const uint64_t want = host_.wall_ms() + *e.expires_in_ms;
      const uint64_t have = *r.expires_unix_ms;
      if ((want > have ? want - have : have - want) < kExpirySlackMs) return;
    }
  }
  if (auto r = applyConsoleBlock(e.source, e.expires_in_ms); !r) {
    items.push_back(item("block_add", e.source.str(), r.error().message()));
  }
}

void LinkApplier::applyIsolation(bool on, const std::vector<Prefix>& peers, bool from_snapshot,
                                 std::vector<proto::NackItem>& items) {
  IsolationTarget target{host_.isolation, {}, host_.config().allow};
  if (target.port != nullptr && on) target.console = host_.console_addresses();
  applyConsoleIsolation(target, on, peers, from_snapshot, state_.isolated_by_console, items);
}

void LinkApplier::applyPolicy(const proto::PolicyParams& p, std::vector<proto::NackItem>& items) {
  AgentConfig cfg = host_.config();
  if (p.name == "default") {
    // No console policy matched: the agent's own configuration.
    if (!state_.policy) return;
    if (local_) {
      cfg.threshold = local_->threshold;
      cfg.window = local_->window;
      cfg.block_duration = local_->block_duration;
    }
    if (auto r = host_.apply_config(cfg); !r) {
      items.push_back(item("policy_set", p.name, r.error().message()));
      return;
    }
    state_.policy.reset();
    local_.reset();
    return;
  }
  const Limits own{cfg.threshold, cfg.window, cfg.block_duration};
  cfg.threshold = p.threshold;
  cfg.window = std::chrono::milliseconds(p.window_ms);
  cfg.block_duration = std::chrono::milliseconds(p.block_duration_ms);
  if (auto v = validateConfig(cfg); !v) {
    items.push_back(item("policy_set", p.name, v.error().message()));
    return;
  }
  if (auto r = host_.apply_config(cfg); !r) {
    items.push_back(item("policy_set", p.name, r.error().message()));
    return;
  }
  if (!local_) local_ = own;
  state_.policy = p;
  if (p.enforcer != cfg.enforcer) {
    items.push_back(item("policy_set", p.name,
                         std::string("enforcer ") + enforcerName(p.enforcer) +
                             " needs an agent restart (running " + enforcerName(cfg.enforcer) +
                             "); threshold, window and block duration applied"));
  }
}

proto::AgentMessage LinkApplier::finish(uint64_t version, std::vector<proto::NackItem> items) {
  state_.applied_version = version;
  save();
  if (items.empty()) return proto::Ack{version};
  if (items.size() > proto::kMaxNackItems) items.resize(proto::kMaxNackItems);
  return proto::Nack{version, std::move(items)};
}

proto::AgentMessage LinkApplier::apply(const proto::Snapshot& s) {
  applying_ = true;
  std::vector<proto::NackItem> items;
  std::set<std::string> wanted;
  for (const auto& b : s.blocks) wanted.insert(b.source.str());
  std::vector<Prefix> gone;
  for (const auto& r : state_.blocks) {
    if (!wanted.count(r.source.str())) gone.push_back(r.source);
  }
  for (const Prefix& p : gone) {
    if (auto r = removeConsoleBlock(p); !r) {
      items.push_back(item("block_remove", p.str(), r.error().message()));
    }
  }
  const std::set<std::string> held = heldSources();
  for (const auto& b : s.blocks) applyBlock(b, items, &held);
  applyIsolation(s.isolation.on, s.isolation.allowed_peers, /*from_snapshot=*/true, items);
  applyPolicy(s.policy, items);
  applying_ = false;
  return finish(s.version, std::move(items));
}

proto::AgentMessage LinkApplier::apply(const proto::Delta& d) {
  if (d.version <= state_.applied_version) return proto::Ack{d.version};  // applied already
  applying_ = true;
  std::vector<proto::NackItem> items;
  for (const auto& op : d.ops) {
    switch (op.kind) {
      case proto::OpKind::kBlockAdd:
        applyBlock(op.block, items);
        break;
      case proto::OpKind::kBlockRemove:
        if (auto r = removeConsoleBlock(op.block.source); !r) {
          items.push_back(item("block_remove", op.block.source.str(), r.error().message()));
        }
        break;
      case proto::OpKind::kIsolate:
        applyIsolation(true, op.allowed_peers, false, items);
        break;
      case proto::OpKind::kRelease:
        applyIsolation(false, {}, false, items);
        break;
      case proto::OpKind::kPolicySet:
        applyPolicy(op.policy, items);
        break;
    }
  }
  applying_ = false;
  return finish(d.version, std::move(items));
}

Result<void> LinkApplier::restore() {
  if (!state_dir_.empty()) {
    SG_READ(loaded, loadAgentLinkState(state_dir_));
    state_ = std::move(*loaded);
  }
  std::vector<proto::NackItem> problems;
  if (state_.policy) {
    proto::PolicyParams p = *state_.policy;
    state_.policy.reset();
    applyPolicy(p, problems);
    state_.policy = p;  // kept even when refused now: the console's answer stands
  }
  // The console's blocks a restart lost (no pinned table, a failed store).
  const std::set<std::string> held = heldSources();
  const uint64_t now = host_.wall_ms();
  std::vector<ConsoleBlockRecord> records = state_.blocks;
  for (const auto& r : records) {
    if (held.count(keyOf(r.source))) continue;
    if (r.expires_unix_ms && *r.expires_unix_ms <= now) continue;
    std::optional<uint64_t> left;
    if (r.expires_unix_ms) left = *r.expires_unix_ms - now;
    if (auto done = applyConsoleBlock(r.source, left); !done) {
      problems.push_back(item("block_add", r.source.str(), done.error().message()));
    }
  }
  save();
  if (!problems.empty()) {
    return Error(Errc::kIo, "console state not fully restored: " + problems.front().target + " " +
                                problems.front().reason);
  }
  return Ok{};
}

void LinkApplier::overlay(AgentConfig& reloaded) {
  if (!state_.policy) return;
  local_ = Limits{reloaded.threshold, reloaded.window, reloaded.block_duration};
  reloaded.threshold = state_.policy->threshold;
  reloaded.window = std::chrono::milliseconds(state_.policy->window_ms);
  reloaded.block_duration = std::chrono::milliseconds(state_.policy->block_duration_ms);
}

bool LinkApplier::reportable(const proto::Event& event) const {
  if (applying_) return false;
  const std::string key = keyOf(event.source);
  for (const auto& r : state_.blocks) {
    if (keyOf(r.source) == key) return false;
  }
  return true;
}

}  // namespace sg::agent
