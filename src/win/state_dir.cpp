#include "win/state_dir.h"

#include "core/config.h"

namespace sg::win {

Result<std::string> agentStateDir(const std::string& configured, const std::string& program_data) {
  if (configured != AgentConfig{}.state_dir) return configured;
  if (program_data.empty()) {
    return Error(Errc::kNotFound,
                 "no ProgramData folder for the default state directory: give "
                 "--state-dir");
  }
  std::string dir = program_data;
  if (dir.back() != '\\' && dir.back() != '/') dir += '\\';
  return dir + "syn-guard\\agent";
}

}  // namespace sg::win
