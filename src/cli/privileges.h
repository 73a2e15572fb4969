// Checks the capabilities the agent needs before it touches the kernel, so a
// missing privilege is a clear error (exit code 2) naming the capability.
#pragma once

#include "core/result.h"

namespace sg::cli {

// CAP_BPF (or CAP_SYS_ADMIN) to load programs and maps, CAP_PERFMON (or
// CAP_SYS_ADMIN) for the pointer arithmetic the verifier allows only to
// trusted loaders (without it the XDP program is rejected at load), and
// CAP_NET_ADMIN to attach XDP and to change nftables.
Result<void> checkAgentCapabilities();

}  // namespace sg::cli
