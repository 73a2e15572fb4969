#include "agent/config_apply.h"

#include <algorithm>

#include "core/allowlist.h"

namespace sg::agent {

namespace {

template <typename T>
void keep(const char* name, const T& running, T* next, std::vector<std::string>* changed) {
  if (!(*next == running)) changed->push_back(name);
  *next = running;
}

}  // namespace

std::vector<std::string> keepRestartOnly(const AgentConfig& running, AgentConfig* next) {
  std::vector<std::string> changed;
  keep("interfaces", running.interfaces, &next->interfaces, &changed);
  keep("enforcer", running.enforcer, &next->enforcer, &changed);
  keep("xdp_mode", running.xdp_mode, &next->xdp_mode, &changed);
  keep("xdp_coexist", running.xdp_coexist, &next->xdp_coexist, &changed);
  keep("max_sources", running.max_sources, &next->max_sources, &changed);
  keep("max_blocks", running.max_blocks, &next->max_blocks, &changed);
  keep("max_prefix_blocks", running.max_prefix_blocks, &next->max_prefix_blocks, &changed);
  keep("max_verified", running.verified.max_entries, &next->verified.max_entries, &changed);
  keep("metrics_listen", running.metrics_listen, &next->metrics_listen, &changed);
  keep("control_socket", running.control_socket, &next->control_socket, &changed);
  keep("nft_table", running.nft_table, &next->nft_table, &changed);
  keep("ipv6_prefix", running.ipv6_prefix, &next->ipv6_prefix, &changed);
  keep("pin_dir", running.pin_dir, &next->pin_dir, &changed);
  keep("state_dir", running.state_dir, &next->state_dir, &changed);
  return changed;
}

std::vector<Prefix> kernelAllowlist(const AgentConfig& config,
                                    const std::vector<Prefix>& implicit) {
  std::vector<Prefix> out =
      effectiveAllowlist(config.allow, static_cast<uint8_t>(config.ipv6_prefix));
  for (const Prefix& p : implicit) {
    if (std::find(out.begin(), out.end(), p) == out.end()) out.push_back(p);
  }
  return out;
}

}  // namespace sg::agent
