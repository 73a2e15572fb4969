// The Windows agent's state directory (credentials, the link's state): by
// default %ProgramData%\syn-guard\agent — the machine-wide data folder that
// SHGetKnownFolderPath(FOLDERID_ProgramData) names (state_dir_win.cpp) —
// instead of the Linux default /var/lib/syn-guard/agent, which means nothing
// on Windows. A directory given by --state-dir or the config file is kept.
// Plain C++ (state_dir_test.cpp).
#pragma once

#include <string>

#include "core/result.h"

namespace sg::win {

// `configured` unless it is the Linux default, else PROGRAM_DATA\syn-guard\agent.
Result<std::string> agentStateDir(const std::string& configured, const std::string& program_data);

// FOLDERID_ProgramData (Windows only: state_dir_win.cpp).
Result<std::string> programDataDir();

}  // namespace sg::win
