// `syn-guard.exe service install|uninstall|start|stop [-- AGENT FLAGS]`: the
// argument logic of the Windows service wrapper, plain C++ (tested on Linux
// and under Wine); the Service Control Manager calls are service_win.cpp.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace sg::win {

enum class ServiceAction { kInstall, kUninstall, kStart, kStop };

Result<ServiceAction> parseServiceAction(std::string_view text);

inline constexpr char kServiceName[] = "syn-guard";
inline constexpr char kServiceDisplayName[] = "syn-guard SYN-flood protection";
// The hidden subcommand the Service Control Manager starts (service_win.cpp).
inline constexpr char kServiceRunCommand[] = "service-run";

// One argument quoted so that CommandLineToArgvW (and the C runtime) gives it
// back unchanged: wrapped in quotes when it has a space, tab or quote (or is
// empty), quotes escaped, the backslashes before a quote doubled.
std::string quoteWindowsArg(std::string_view arg);

// The command line the service runs: the executable, the hidden run command,
// then the agent's flags as given at install. The executable must be an
// absolute path ("C:\..." or "\\server\..."): the SCM starts services in
// %SystemRoot%\System32. Flags that would start something else than the agent
// (another subcommand) are refused.
Result<std::string> serviceCommandLine(const std::string& exe_path,
                                       const std::vector<std::string>& agent_args);

// Recovery on failure (SERVICE_CONFIG_FAILURE_ACTIONS): restart after each
// delay in turn (the last repeats), the failure count reset after a quiet day.
struct RecoveryPlan {
  std::vector<uint32_t> restart_delays_ms{5'000, 30'000, 60'000};
  uint32_t reset_period_s = 24 * 3600;
};

}  // namespace sg::win
