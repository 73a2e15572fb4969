#include "win/link_apply.h"

#include <algorithm>
#include <utility>

#include "agent/console_link_isolation.h"
#include "win/wfp_plan.h"

namespace sg::win {
namespace {

constexpr uint64_t kNsPerMs = 1'000'000;

bool overlaps(const Prefix& a, const Prefix& b) {
  return a.bits <= b.bits ? a.contains(b.addr) : b.contains(a.addr);
}

proto::NackItem item(const char* op, std::string target, std::string reason) {
  return proto::NackItem{op, std::move(target), std::move(reason)};
}

}  // namespace

WinLinkApplier::WinLinkApplier(AttemptPipeline* pipeline, std::vector<Prefix> allowlist)
    : pipeline_(pipeline), allow_(std::move(allowlist)) {}

void WinLinkApplier::addBlock(const proto::BlockEntry& e, uint64_t now_ns,
                              std::vector<proto::NackItem>& items) {
  for (const Prefix& a : allow_) {
    if (overlaps(a, e.source)) {
      items.push_back(item("block_add", e.source.str(), "source on allowlist"));
      return;
    }
  }
  const uint64_t ttl_ns = e.expires_in_ms ? *e.expires_in_ms * kNsPerMs : 0;
  if (e.expires_in_ms && ttl_ns == 0) return;  // already expired
  if (auto r = pipeline_->block(e.source, ttl_ns, now_ns); !r.ok()) {
    items.push_back(item("block_add", e.source.str(), r.error().message()));
    return;
  }
  console_[e.source.str()] = e.source;
}

void WinLinkApplier::removeBlock(const Prefix& p, std::vector<proto::NackItem>& items) {
  console_.erase(p.str());
  if (auto r = pipeline_->unblock(p); !r.ok()) {
    items.push_back(item("block_remove", p.str(), r.error().message()));
  }
}

void WinLinkApplier::setIsolation(IsolationPort* port, ConsoleAddresses console,
                                  std::vector<Prefix> config_allow) {
  isolation_ = port;
  console_addrs_ = std::move(console);
  config_allow_ = std::move(config_allow);
}

void WinLinkApplier::isolation(bool on, const std::vector<Prefix>& peers, bool from_snapshot,
                               std::vector<proto::NackItem>& items) {
  agent::IsolationTarget target{isolation_, {}, config_allow_};
  if (isolation_ != nullptr && on && console_addrs_) target.console = console_addrs_();
  agent::applyConsoleIsolation(target, on, peers, from_snapshot, isolated_by_console_, items);
}

void WinLinkApplier::policy(const proto::PolicyParams& p, std::vector<proto::NackItem>& items) {
  if (p.name == "default" || p.name.empty()) return;  // the agent's own flags
  items.push_back(item("policy_set", p.name,
                       "policies are not applied live on Windows yet: the agent keeps its flags"));
}

proto::AgentMessage WinLinkApplier::answer(uint64_t version, std::vector<proto::NackItem> items) {
  applied_version_ = version;
  if (items.empty()) return proto::Ack{version};
  return proto::Nack{version, std::move(items)};
}

proto::AgentMessage WinLinkApplier::apply(const proto::Snapshot& s, uint64_t now_ns) {
  std::vector<proto::NackItem> items;
  std::map<std::string, Prefix> listed;
  for (const proto::BlockEntry& e : s.blocks) listed[e.source.str()] = e.source;
  std::vector<Prefix> gone;
  for (const auto& [key, p] : console_) {
    if (listed.count(key) == 0) gone.push_back(p);
  }
  for (const Prefix& p : gone) removeBlock(p, items);
  for (const proto::BlockEntry& e : s.blocks) addBlock(e, now_ns, items);
  isolation(s.isolation.on, s.isolation.allowed_peers, /*from_snapshot=*/true, items);
  policy(s.policy, items);
  return answer(s.version, std::move(items));
}

proto::AgentMessage WinLinkApplier::apply(const proto::Delta& d, uint64_t now_ns) {
  std::vector<proto::NackItem> items;
  for (const proto::DeltaOp& op : d.ops) {
    switch (op.kind) {
      case proto::OpKind::kBlockAdd:
        addBlock(op.block, now_ns, items);
        break;
      case proto::OpKind::kBlockRemove:
        removeBlock(op.block.source, items);
        break;
      case proto::OpKind::kIsolate:
        isolation(true, op.allowed_peers, /*from_snapshot=*/false, items);
        break;
      case proto::OpKind::kRelease:
        isolation(false, {}, /*from_snapshot=*/false, items);
        break;
      case proto::OpKind::kPolicySet:
        policy(op.policy, items);
        break;
    }
  }
  return answer(d.version, std::move(items));
}

void serviceLink(agent::ConsoleLinkCore& core, WinLinkApplier& applier,
                 const AttemptPipeline& pipeline, uint64_t now_ns) {
  for (auto& work : core.takeWork()) {
    if (const auto* s = std::get_if<proto::Snapshot>(&work)) {
      auto a = applier.apply(*s, now_ns);
      core.setAppliedVersion(applier.appliedVersion());
      core.sendAnswer(a);
    } else if (const auto* d = std::get_if<proto::Delta>(&work)) {
      auto a = applier.apply(*d, now_ns);
      core.setAppliedVersion(applier.appliedVersion());
      core.sendAnswer(a);
    } else {
      proto::Heartbeat hb;
      hb.agent_time_ns = now_ns;
      hb.applied_version = applier.appliedVersion();
      hb.active_blocks = static_cast<uint32_t>(pipeline.blocks().size());
      const sg_counters& c = pipeline.counters();
      hb.counters = {{"packets_seen_total", c.c[SG_CNT_PACKETS]}};
      core.sendHeartbeat(hb);
    }
  }
}

std::optional<proto::Event> reportEvent(const sg_event& ev, uint64_t window_ms, uint8_t v6_prefix,
                                        uint64_t now_ns) {
  proto::Event e;
  if (ev.type == SG_EV_BLOCK_ADDED) {
    e.kind = proto::EventKind::kBlockAdded;
    e.block_ms = ev.block_ns / kNsPerMs;
  } else if (ev.type == SG_EV_FLAGGED) {
    e.kind = proto::EventKind::kFloodDetected;
  } else {
    return std::nullopt;
  }
  e.source = keyPrefix(Address{ev.src}, v6_prefix);
  e.dst_port = ev.dst_port;
  e.count = ev.count;
  e.window_ms = window_ms;
  e.level = ev.level;
  e.detected_ns = now_ns;
  const uint64_t window_ns = window_ms * kNsPerMs;
  e.first_attempt_ns = now_ns > window_ns ? now_ns - window_ns : now_ns;
  return e;
}

}  // namespace sg::win
