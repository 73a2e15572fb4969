#include "core/port_flood_response.h"

#include <cstdio>

namespace sg {

namespace {

// The prefix overlaps the allowlist: it is inside an allowlisted prefix
// (blocking it could drop nothing) or holds an allowlisted address, such as
// the host's own (implicit allowlist). Sources are spoofable: a flood forged
// from the host's own /24 must not get its neighbours and gateway blocked.
bool touchesAllowlist(const Prefix& p, const std::vector<Prefix>& allow) {
  for (const Prefix& a : allow) {
    if (a.bits <= p.bits && a.contains(p.addr)) return true;
    if (p.bits <= a.bits && p.contains(a.addr)) return true;
  }
  return false;
}

std::string percent(double share) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", share * 100);
  return buf;
}

}  // namespace

ResponsePlan planResponse(const PortFlood& flood, const PortFloodOptions& options,
                          const std::vector<Prefix>& allow) {
  ResponsePlan plan;
  if (!options.prefix_blocks || options.max_prefixes == 0) {
    plan.why = "prefix blocks are off";
    return plan;
  }
  if (flood.in_warmup && flood.reason == "completion_ratio") {
    // No normal yet and only the ratio says "flood": the port's handshakes
    // may complete where the agent cannot see them (a DNAT-published port
    // behind a proxy that also listens here), so its clients are not blocked.
    plan.why = "a completion-ratio detection in the port's warm-up: no prefix block";
    return plan;
  }
  double share = 0;
  std::vector<Prefix> chosen;
  size_t allowed = 0;
  for (const PrefixShare& p : flood.top_prefixes) {
    if (share >= options.concentration || chosen.size() >= options.max_prefixes) break;
    share += p.share;
    if (touchesAllowlist(p.prefix, allow)) {
      allowed++;
      continue;
    }
    chosen.push_back(p.prefix);
  }
  if (share < options.concentration) {
    plan.why = "spread: the top " + std::to_string(chosen.size() + allowed) + " prefixes hold " +
               percent(share) + " of the attempts";
    return plan;
  }
  plan.prefixes = chosen;
  plan.why = "concentrated: " + std::to_string(chosen.size() + allowed) + " prefixes hold " +
             percent(share) + " of the attempts";
  if (allowed) plan.why += " (" + std::to_string(allowed) + " touching the allowlist, not blocked)";
  return plan;
}

}  // namespace sg
