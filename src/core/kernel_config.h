// The bridge from the validated AgentConfig to the struct the kernel reads.
#pragma once

#include "core/config.h"
#include "sg_shared.h"

namespace sg {

sg_config toKernelConfig(const AgentConfig& config);

}  // namespace sg
