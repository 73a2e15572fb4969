#include "win/service_args.h"

namespace sg::win {
namespace {

bool absoluteWindowsPath(const std::string& p) {
  const bool drive = p.size() >= 3 &&
                     ((p[0] >= 'A' && p[0] <= 'Z') || (p[0] >= 'a' && p[0] <= 'z')) &&
                     p[1] == ':' && (p[2] == '\\' || p[2] == '/');
  const bool unc = p.size() >= 3 && p[0] == '\\' && p[1] == '\\';
  return drive || unc;
}

}  // namespace

Result<ServiceAction> parseServiceAction(std::string_view text) {
  if (text == "install") return ServiceAction::kInstall;
  if (text == "uninstall") return ServiceAction::kUninstall;
  if (text == "start") return ServiceAction::kStart;
  if (text == "stop") return ServiceAction::kStop;
  return Error(Errc::kInvalidArgument,
               "'" + std::string(text) + "' is not one of install, uninstall, start, stop");
}

std::string quoteWindowsArg(std::string_view arg) {
  if (!arg.empty() && arg.find_first_of(" \t\"") == std::string_view::npos) return std::string(arg);
  std::string out = "\"";
  size_t backslashes = 0;
  for (char c : arg) {
    if (c == '\\') {
      backslashes++;
      continue;
    }
    if (c == '"') {
      out.append(backslashes * 2 + 1, '\\');  // the run doubled, then the quote escaped
    } else {
      out.append(backslashes, '\\');
    }
    backslashes = 0;
    out.push_back(c);
  }
  out.append(backslashes * 2, '\\');  // before the closing quote: doubled
  out.push_back('"');
  return out;
}

Result<std::string> serviceCommandLine(const std::string& exe_path,
                                       const std::vector<std::string>& agent_args) {
  if (!absoluteWindowsPath(exe_path)) {
    return Error(Errc::kInvalidArgument,
                 "service: the executable's path must be absolute (got '" + exe_path + "')");
  }
  if (exe_path.find('"') != std::string::npos) {
    return Error(Errc::kInvalidArgument, "service: the executable's path contains a quote");
  }
  if (!agent_args.empty() && !agent_args.front().empty() && agent_args.front()[0] != '-') {
    return Error(Errc::kInvalidArgument, "service: '" + agent_args.front() +
                                             "' is not an agent flag (give the flags after --)");
  }
  // The path is always quoted: an unquoted path with spaces is the classic
  // service hijack (C:\Program.exe).
  std::string line = "\"" + exe_path + "\" " + kServiceRunCommand;
  for (const std::string& a : agent_args) line += " " + quoteWindowsArg(a);
  return line;
}

}  // namespace sg::win
