// Who may own the Windows agent's state directory (review M4). Users may
// create folders in C:\ProgramData and own them; an owner keeps WRITE_DAC
// whatever DACL the agent sets, so a directory squatted before the agent
// made it (or a junction put in its place) would let a local user read the
// DPAPI-sealed key (machine scope: any local process can unseal it) or
// replace ca.crt / console.json. The decision is plain C++ (tested on Linux
// and under Wine, state_dir_check_test.cpp); the Win32 calls that gather the
// facts, create the levels and set owner + protected DACL are in
// state_dir_check_win.cpp.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/result.h"

namespace sg::win {

enum class DirOwner {
  kSystem,          // S-1-5-18
  kAdministrators,  // S-1-5-32-544
  kAgentAccount,    // the account the agent runs as (SYSTEM for the service)
  kOther,           // anyone else: refused
};

// SYSTEM, Administrators, the agent's own account (`agent_sid`) or other.
DirOwner classifyOwner(const std::string& owner_sid, const std::string& agent_sid);

// One entry of a level's DACL, as GetAce gives it (mask and SID read for
// the allow and deny types only).
struct DirAce {
  uint8_t type = 0;  // ACE_HEADER::AceType: 0 allowed, 1 denied, 5/9/11 other allows
  uint32_t mask = 0;
  std::string sid;
};

// A level's DACL (review s16 L7).
struct DirDacl {
  bool present = true;        // false: a NULL DACL (everyone, full control)
  bool is_protected = false;  // SE_DACL_PROTECTED: nothing inherited from above
  std::vector<DirAce> aces;
};

// Why a DACL is not the one enrollment sets (protected; SYSTEM,
// Administrators and the agent's own account `agent_sid` only), or "" when
// it is. An allow entry for anyone else that reads files or changes anything
// counts (the sealed key: any local process that can read it can unseal it,
// machine scope), inherit-only entries too (they apply to the files inside);
// deny entries only take away; CREATOR OWNER is whoever may create there
// already; an allow entry of a type not read here (object, callback) counts.
// A level an agent made before review M4 inherits ProgramData's ACL (Users:
// read, create files and folders): not protected, and open to Users.
std::string daclOpenness(const DirDacl& dacl, const std::string& agent_sid);
// The accounts (SIDs) daclOpenness finds granted beyond the administrators.
std::vector<std::string> daclGrantees(const DirDacl& dacl, const std::string& agent_sid);
// The command that restricts `level` as enrollment does: inherited entries
// dropped, SYSTEM and Administrators full control, the grantees removed.
std::string icaclsRemedy(const std::string& level, const DirDacl& dacl,
                         const std::string& agent_sid);

// What one level of the state directory looks like, opened without
// following a reparse point.
struct DirFacts {
  bool exists = false;
  bool is_directory = true;
  bool reparse_point = false;  // FILE_ATTRIBUTE_REPARSE_POINT: junction, symlink
  DirOwner owner = DirOwner::kOther;
  std::string owner_sid;  // for the message
  DirDacl dacl;
  std::string agent_sid;  // the process's account, for daclOpenness
};

// Ok to use `path` (or to create it when it does not exist), or an error
// naming the path, its owner SID and what to do.
Result<void> judgeStateDirLevel(const std::string& path, const DirFacts& facts);

// The levels checked, outermost first: the directory's parent (the
// "syn-guard" of ...\syn-guard\agent) and the directory, or only the
// directory when its parent is a drive or share root.
std::vector<std::string> stateDirLevels(const std::string& dir);

// The Win32 side of the two walks below (state_dir_check_win.cpp; a fake in
// state_dir_check_test.cpp).
class StateDirOps {
 public:
  virtual ~StateDirOps() = default;
  // CreateDirectory with the owner and protected DACL; Ok if it exists.
  virtual Result<void> makeDir(const std::string& path) = 0;
  // Opens `path` without following a reparse point (exists = false when
  // absent) and keeps that handle for restrictOpened.
  virtual Result<DirFacts> open(const std::string& path) = 0;
  // Sets owner and protected DACL on the handle open() kept (fails without
  // WRITE_DAC / WRITE_OWNER: a check run by a user).
  virtual Result<void> restrictOpened() = 0;
};

// Outermost level first: make, open, judge, restrict; stops at the first
// refusal (a squatted parent: the directory below is not even made).
Result<void> secureStateDirWith(const std::string& dir, StateDirOps& ops);

// What the start-up check did besides refusing.
struct StateDirCheck {
  std::vector<std::string> restricted;  // levels whose open DACL was restricted again, and stayed
  // One per level whose DACL read open again right after it was set: the
  // file system keeps no DACL (Wine 8 keeps neither owner nor DACL and
  // reports one made from the Unix mode bits). Logged, not refused: nothing
  // an administrator could do about it there.
  std::vector<std::string> warnings;
};

// Open and judge each level (owner, reparse point); a level whose DACL is
// open (daclOpenness) is restricted again through the same handle, or
// refused with the path, what is open and the icacls remedy when that
// fails; then read again, and still open is a warning (see StateDirCheck).
Result<StateDirCheck> checkStateDirWith(const std::string& dir, StateDirOps& ops);

// With the Win32 calls (Windows only: state_dir_check_win.cpp). Creates the missing levels with
// owner Administrators and a protected DACL (SYSTEM and Administrators, full
// control), refuses a level judgeStateDirLevel refuses, and sets owner and
// DACL again on each level through a handle opened without following
// reparse points.
Result<void> secureStateDir(const std::string& dir);
// The same checks before the state files are read at start, changing only an
// open DACL (see checkStateDirWith); a directory that does not exist yet
// passes. Opened with WRITE_DAC | WRITE_OWNER when the account has them (the
// service runs as SYSTEM), else to read only.
Result<StateDirCheck> checkStateDir(const std::string& dir);

}  // namespace sg::win
