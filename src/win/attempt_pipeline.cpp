#include "win/attempt_pipeline.h"

#include <algorithm>

#include "core/kernel_config.h"
#include "win/wfp_plan.h"

namespace sg::win {
namespace {

TrackerOptions trackerOptions(const AgentConfig& c, const std::vector<Prefix>& allow) {
  TrackerOptions o;
  o.cfg = toKernelConfig(c);
  o.max_sources = c.max_sources;
  o.max_blocks = c.max_blocks;
  o.allow = allow;
  return o;
}

void addOnce(std::vector<Prefix>& allow, const Prefix& p) {
  if (std::find(allow.begin(), allow.end(), p) == allow.end()) allow.push_back(p);
}

}  // namespace

std::vector<Prefix> effectiveAllowlist(const AgentConfig& config, const std::vector<Address>& own) {
  std::vector<Prefix> allow = config.allow;
  for (const char* loopback : {"127.0.0.0/8", "::1"}) {
    auto p = parsePrefix(loopback);
    if (!p.ok()) std::abort();  // constant text
    addOnce(allow, *p);
  }
  for (const Address& a : own) {
    // A host prefix (/32, /128), unless the list already holds it (loopback).
    if (std::none_of(allow.begin(), allow.end(), [&a](const Prefix& p) { return p.contains(a); })) {
      allow.push_back(Prefix{a, 128});
    }
  }
  return allow;
}

AttemptPipeline::AttemptPipeline(const AgentConfig& config, Enforcer* enforcer,
                                 std::vector<Address> own)
    : config_(config),
      allow_(effectiveAllowlist(config, own)),
      enforcer_(enforcer),
      tracker_(trackerOptions(config, allow_)) {}

void AttemptPipeline::onAttempt(const sg_pkt& attempt, uint64_t now_ns,
                                std::vector<sg_event>* events) {
  const size_t first = events->size();
  tracker_.onPacket(attempt, now_ns, events);
  for (size_t i = first; i < events->size(); i++) {
    const sg_event& ev = (*events)[i];
    if (ev.type != SG_EV_BLOCK_ADDED) continue;
    const Address key{ev.src};
    const BlockSpec spec{key, static_cast<uint8_t>(config_.ipv6_prefix),
                         Nanos(static_cast<int64_t>(ev.block_ns))};
    last_block_call_ns_ = now_ns;
    if (auto r = enforcer_->block(spec); !r.ok()) {
      enforce_errors_++;
      last_error_ = r.error().message();
      continue;
    }
    const Prefix p = keyPrefix(key, static_cast<uint8_t>(config_.ipv6_prefix));
    blocks_[p.str()] = BlockRow{p, now_ns + ev.block_ns, ev.count, ev.dst_port, ev.level, false};
  }
}

Result<void> AttemptPipeline::block(const Prefix& p, uint64_t ttl_ns, uint64_t now_ns) {
  // A permanent block is a long one at the enforcer (WFP filters have no
  // expiry of their own; the row says permanent).
  const Nanos ttl = ttl_ns == 0 ? Nanos(std::chrono::hours(24 * 365)) : Nanos(ttl_ns);
  if (auto r = enforcer_->blockPrefix(p, ttl); !r.ok()) return r;
  blocks_[p.str()] = BlockRow{p, ttl_ns == 0 ? 0 : now_ns + ttl_ns, 0, 0, 0, true};
  return Ok{};
}

Result<bool> AttemptPipeline::unblock(const Prefix& p) {
  auto it = blocks_.find(p.str());
  if (auto r = enforcer_->unblockPrefix(p); !r.ok()) return r.error();
  if (it == blocks_.end()) return false;
  blocks_.erase(it);
  return true;
}

void AttemptPipeline::expire(uint64_t now_ns) {
  for (auto it = blocks_.begin(); it != blocks_.end();) {
    if (it->second.until_ns != 0 && it->second.until_ns <= now_ns) {
      it = blocks_.erase(it);
    } else {
      ++it;
    }
  }
}

std::vector<BlockRow> AttemptPipeline::blocks() const {
  std::vector<BlockRow> out;
  for (const auto& [k, row] : blocks_) out.push_back(row);
  return out;
}

}  // namespace sg::win
