#include "win/state_dir_check.h"

#include <algorithm>

namespace sg::win {

DirOwner classifyOwner(const std::string& owner_sid, const std::string& agent_sid) {
  if (owner_sid == "S-1-5-18") return DirOwner::kSystem;
  if (owner_sid == "S-1-5-32-544") return DirOwner::kAdministrators;
  if (!agent_sid.empty() && owner_sid == agent_sid) return DirOwner::kAgentAccount;
  return DirOwner::kOther;
}

std::vector<std::string> daclGrantees(const DirDacl& dacl, const std::string& agent_sid) {
  // FILE_LIST_DIRECTORY / FILE_READ_DATA, FILE_ADD_FILE, FILE_ADD_SUBDIRECTORY,
  // FILE_WRITE_EA, FILE_DELETE_CHILD, FILE_WRITE_ATTRIBUTES, DELETE,
  // WRITE_DAC, WRITE_OWNER, GENERIC_ALL, GENERIC_WRITE, GENERIC_READ.
  constexpr uint32_t kReadOrChange = 0x1 | 0x2 | 0x4 | 0x10 | 0x40 | 0x100 | 0x10000 | 0x40000 |
                                     0x80000 | 0x10000000 | 0x40000000 | 0x80000000;
  constexpr uint8_t kAllowed = 0;
  std::vector<std::string> out;
  for (const DirAce& a : dacl.aces) {
    // ACCESS_DENIED, ..._OBJECT, ..._CALLBACK, ..._CALLBACK_OBJECT: only take away.
    if (a.type == 1 || a.type == 6 || a.type == 10 || a.type == 12) continue;
    std::string who = a.sid;
    if (a.type != kAllowed) {
      who = "an allow entry of type " + std::to_string(a.type);
    } else if ((a.mask & kReadOrChange) == 0 || a.sid == "S-1-3-0" ||
               classifyOwner(a.sid, agent_sid) != DirOwner::kOther) {
      continue;  // CREATOR OWNER (S-1-3-0): whoever may create there already
    }
    if (std::find(out.begin(), out.end(), who) == out.end()) out.push_back(who);
  }
  return out;
}

std::string daclOpenness(const DirDacl& dacl, const std::string& agent_sid) {
  if (!dacl.present) return "it has a NULL DACL (everyone: full control)";
  const std::vector<std::string> grantees = daclGrantees(dacl, agent_sid);
  std::string why;
  if (!dacl.is_protected) why = "its DACL is not protected (its parent's entries flow in)";
  if (!grantees.empty()) {
    why += why.empty() ? "its DACL grants " : " and grants ";
    for (size_t i = 0; i < grantees.size(); ++i) why += (i ? ", " : "") + grantees[i];
    why += " access beyond SYSTEM and Administrators";
  }
  return why;
}

std::string icaclsRemedy(const std::string& level, const DirDacl& dacl,
                         const std::string& agent_sid) {
  std::string cmd = "icacls \"" + level +
                    "\" /inheritance:r /grant:r *S-1-5-18:(OI)(CI)F *S-1-5-32-544:(OI)(CI)F";
  std::string removes;
  for (const std::string& sid : daclGrantees(dacl, agent_sid)) {
    if (sid.rfind("S-", 0) == 0) removes += " *" + sid;
  }
  if (!removes.empty()) cmd += " /remove:g" + removes;
  return cmd;
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

Result<StateDirCheck> checkStateDirWith(const std::string& dir, StateDirOps& ops) {
  StateDirCheck out;
  for (const std::string& level : stateDirLevels(dir)) {
    SG_READ(facts, ops.open(level));
    SG_TRY(judgeStateDirLevel(level, *facts));
    if (!facts->exists) continue;
    const std::string why = daclOpenness(facts->dacl, facts->agent_sid);
    if (why.empty()) continue;
    // Made before review M4 (ProgramData's inherited ACL), or changed since:
    // restricted as at enrollment, through the handle just judged.
    if (auto r = ops.restrictOpened(); !r.ok()) {
      return Error(Errc::kPermissionDenied,
                   "state directory level " + level + ": " + why +
                       ", and it could not be restricted (" + r.error().message() +
                       "): run the agent once as SYSTEM or an administrator, or as an "
                       "administrator run " +
                       icaclsRemedy(level, facts->dacl, facts->agent_sid));
    }
    SG_READ(again, ops.open(level));
    SG_TRY(judgeStateDirLevel(level, *again));
    const std::string still = daclOpenness(again->dacl, again->agent_sid);
    if (still.empty()) {
      out.restricted.push_back(level);
    } else {
      out.warnings.push_back("state directory level " + level +
                             ": the DACL set did not stay (read back: " + still +
                             "); this file system keeps no DACL (Wine does not), so the key in "
                             "it is protected by nothing but its Unix permissions");
    }
  }
  return out;
}

}  // namespace sg::win
