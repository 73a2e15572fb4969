#include "core/port_flood_response.h"

#include <cstdio>

namespace sg {

namespace {

// The allowlist covers the whole prefix: blocking it could drop nothing.
bool coveredByAllowlist(const Prefix& p, const std::vector<Prefix>& allow) {
  for (const Prefix& a : allow) {
    if (a.bits <= p.bits && a.contains(p.addr)) return true;
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
  double share = 0;
  std::vector<Prefix> chosen;
  size_t allowed = 0;
  for (const PrefixShare& p : flood.top_prefixes) {
    if (share >= options.concentration || chosen.size() >= options.max_prefixes) break;
    share += p.share;
    if (coveredByAllowlist(p.prefix, allow)) {
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
  if (allowed) plan.why += " (" + std::to_string(allowed) + " allowlisted, not blocked)";
  return plan;
}

}  // namespace sg
