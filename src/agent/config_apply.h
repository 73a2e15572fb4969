// How a configuration reaches the running agent: which changes a SIGHUP can
// apply live and which need a restart, and the allowlist the kernel gets.
// Pure functions (config_apply_test.cpp).
#pragma once

#include <string>
#include <vector>

#include "core/address.h"
#include "core/config.h"

namespace sg::agent {

// Names the fields of `next` that only a restart can change and puts the
// running values back into `next` for them. ipv6_prefix is one: every
// IPv6 block, count and offence is keyed by the masked source.
std::vector<std::string> keepRestartOnly(const AgentConfig& running, AgentConfig* next);

// The kernel's allowlist: the operator's `--allow` entries widened to the
// counting prefix (effectiveAllowlist), plus `implicit` (loopback, the host's
// own addresses) exactly as given: a host address stays /128, so its /64
// neighbours are still counted and blocked.
std::vector<Prefix> kernelAllowlist(const AgentConfig& config, const std::vector<Prefix>& implicit);

}  // namespace sg::agent
