#include "core/kernel_config.h"

#include "sg_challenge.h"

namespace sg {

sg_config toKernelConfig(const AgentConfig& c) {
  sg_config k{};
  k.window_ns = static_cast<__u64>(c.window.count());
  k.block_ns = static_cast<__u64>(c.block_duration.count());
  k.repeat_memory_ns = static_cast<__u64>(c.repeat_memory.count());
  k.threshold = c.threshold;
  // Equal thresholds: handshakes change nothing, so counting stays off (0).
  k.conn_threshold = connectionThreshold(c) > c.threshold ? connectionThreshold(c) : 0;
  k.events_per_sec = c.events_per_sec;
  k.admit_per_sec = c.admit_per_sec;
  k.admit_min = c.admit_min;
  switch (c.enforcer) {
    case EnforcerKind::kXdp:
      k.enforce = SG_ENFORCE_XDP;
      break;
    case EnforcerKind::kNftables:
      k.enforce = SG_ENFORCE_HANDOFF;
      break;
    case EnforcerKind::kNone:
      k.enforce = SG_ENFORCE_NONE;
      break;
  }
  k.v6_prefix_len = static_cast<__u8>(c.ipv6_prefix);
  k.max_level = static_cast<__u8>(c.max_block_level);
  k.block_scope = c.block_scope == BlockScope::kAll ? SG_SCOPE_ALL : SG_SCOPE_ATTEMPTS;
  k.source_response =
      c.source_response == SourceResponse::kChallenge ? SG_RESPONSE_CHALLENGE : SG_RESPONSE_BLOCK;
  k.enabled = 1;
  return k;
}

}  // namespace sg
