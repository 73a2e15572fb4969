#include "win/state_dir_check.h"

namespace sg::win {

DirOwner classifyOwner(const std::string& owner_sid, const std::string& agent_sid) {
  if (owner_sid == "S-1-5-18") return DirOwner::kSystem;
  if (owner_sid == "S-1-5-32-544") return DirOwner::kAdministrators;
  if (!agent_sid.empty() && owner_sid == agent_sid) return DirOwner::kAgentAccount;
  return DirOwner::kOther;
}

Result<void> judgeStateDirLevel(const std::string& path, const DirFacts& facts) {
  if (!facts.exists) return Ok{};
  if (facts.reparse_point) {
    return Error(Errc::kPermissionDenied,
                 "state directory level " + path +
                     " is a reparse point (junction or symbolic link, owner " + facts.owner_sid +
                     "): it could send the agent's key and certificates elsewhere; delete it "
                     "(rmdir, which removes the link, not its target) and run the agent again");
  }
  if (!facts.is_directory) {
    return Error(Errc::kPermissionDenied, "state directory level " + path +
                                              " is a file, not a directory: delete it and run "
                                              "the agent again");
  }
  if (facts.owner == DirOwner::kOther) {
    return Error(Errc::kPermissionDenied,
                 "state directory level " + path + " is owned by " + facts.owner_sid +
                     ", not SYSTEM or Administrators: its owner can change its ACL and read the "
                     "agent's key or replace its CA; delete it, or take ownership as an "
                     "administrator (takeown /f \"" +
                     path + "\" /a /r) after checking its contents, and run the agent again");
  }
  return Ok{};
}

namespace {

bool isSep(char c) { return c == '\\' || c == '/'; }

// "C:", "C:\", "\\host\share", "\\host\share\", "/" or "".
bool isRoot(const std::string& p) {
  std::string s = p;
  while (s.size() > 1 && isSep(s.back())) s.pop_back();
  if (s.empty() || (s.size() == 1 && isSep(s[0]))) return true;
  if (s.size() == 2 && s[1] == ':') return true;
  if (s.size() > 2 && isSep(s[0]) && isSep(s[1])) {
    // \\host\share: at most one separator after the host.
    size_t seps = 0;
    for (size_t i = 2; i < s.size(); ++i) seps += isSep(s[i]) ? 1 : 0;
    return seps <= 1;
  }
  return false;
}

}  // namespace

std::vector<std::string> stateDirLevels(const std::string& dir) {
  std::string d = dir;
  while (d.size() > 1 && isSep(d.back()) && !isRoot(d)) d.pop_back();
  size_t cut = d.size();
  while (cut > 0 && !isSep(d[cut - 1])) --cut;
  std::string parent = cut > 0 ? d.substr(0, cut - 1) : std::string();
  if (cut > 0 && (parent.empty() || (parent.size() == 2 && parent[1] == ':'))) {
    parent = d.substr(0, cut);  // "C:\" or "\"
  }
  if (cut == 0 || isRoot(parent)) return {d};
  return {parent, d};
}

Result<void> secureStateDirWith(const std::string& dir, StateDirOps& ops) {
  for (const std::string& level : stateDirLevels(dir)) {
    SG_TRY(ops.makeDir(level));
    SG_READ(facts, ops.open(level));
    if (!facts->exists) return Error(Errc::kIo, level + " vanished while being created");
    SG_TRY(judgeStateDirLevel(level, *facts));
    SG_TRY(ops.restrictOpened());
  }
  return Ok{};
}

Result<void> checkStateDirWith(const std::string& dir, StateDirOps& ops) {
  for (const std::string& level : stateDirLevels(dir)) {
    SG_READ(facts, ops.open(level));
    SG_TRY(judgeStateDirLevel(level, *facts));
  }
  return Ok{};
}

}  // namespace sg::win
