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

// What one level of the state directory looks like, opened without
// following a reparse point.
struct DirFacts {
  bool exists = false;
  bool is_directory = true;
  bool reparse_point = false;  // FILE_ATTRIBUTE_REPARSE_POINT: junction, symlink
  DirOwner owner = DirOwner::kOther;
  std::string owner_sid;  // for the message
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
  // Sets owner and protected DACL on the handle open() kept.
  virtual Result<void> restrictOpened() = 0;
};

// Outermost level first: make, open, judge, restrict; stops at the first
// refusal (a squatted parent: the directory below is not even made).
Result<void> secureStateDirWith(const std::string& dir, StateDirOps& ops);
// Open and judge each level, changing nothing.
Result<void> checkStateDirWith(const std::string& dir, StateDirOps& ops);

// With the Win32 calls (Windows only: state_dir_check_win.cpp). Creates the missing levels with
// owner Administrators and a protected DACL (SYSTEM and Administrators, full
// control), refuses a level judgeStateDirLevel refuses, and sets owner and
// DACL again on each level through a handle opened without following
// reparse points.
Result<void> secureStateDir(const std::string& dir);
// The same checks without changing anything, before the state files are
// read at start; a directory that does not exist yet passes.
Result<void> checkStateDir(const std::string& dir);

}  // namespace sg::win
