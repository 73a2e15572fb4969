#include "win/state_dir_check.h"

#include <gtest/gtest.h>

#include <map>

namespace sg::win {
namespace {

const std::string kUser = "S-1-5-21-1004336348-1177238915-682003330-1001";
constexpr uint32_t kFull = 0x1f01ff;
constexpr uint32_t kReadExecute = 0x1200a9;
constexpr uint32_t kAddFileAndFolder = 0x6;

// What enrollment sets: protected, SYSTEM and Administrators full control.
DirDacl closedDacl() {
  return DirDacl{true, true, {{0, kFull, "S-1-5-18"}, {0, kFull, "S-1-5-32-544"}}};
}

// C:\ProgramData's, inherited by a folder made in it without a DACL of its own.
DirDacl programDataDacl() {
  return DirDacl{true,
                 false,
                 {{0, kFull, "S-1-5-18"},
                  {0, kFull, "S-1-5-32-544"},
                  {0, 0x10000000, "S-1-3-0"},  // CREATOR OWNER: GENERIC_ALL, inherit only
                  {0, kReadExecute, "S-1-5-32-545"},
                  {0, kAddFileAndFolder, "S-1-5-32-545"}}};
}

DirFacts existing(DirOwner owner, const std::string& sid) {
  DirFacts f;
  f.exists = true;
  f.owner = owner;
  f.owner_sid = sid;
  f.dacl = closedDacl();
  f.agent_sid = "S-1-5-18";
  return f;
}

TEST(WinStateDirCheck, OwnersAreSystemAdministratorsTheAgentsAccountOrOther) {
  EXPECT_EQ(classifyOwner("S-1-5-18", kUser), DirOwner::kSystem);
  EXPECT_EQ(classifyOwner("S-1-5-32-544", kUser), DirOwner::kAdministrators);
  EXPECT_EQ(classifyOwner(kUser, kUser), DirOwner::kAgentAccount);
  EXPECT_EQ(classifyOwner(kUser, "S-1-5-18"), DirOwner::kOther);
  EXPECT_EQ(classifyOwner("S-1-5-32-545", "S-1-5-18"), DirOwner::kOther);  // Users
  EXPECT_EQ(classifyOwner("S-1-1-0", "S-1-5-18"), DirOwner::kOther);       // Everyone
  EXPECT_EQ(classifyOwner("", ""), DirOwner::kOther);
}

TEST(WinStateDirCheck, AMissingLevelIsCreatedAnAdminsOwnedOneIsUsed) {
  EXPECT_TRUE(judgeStateDirLevel("C:\\ProgramData\\syn-guard", DirFacts{}).ok());
  EXPECT_TRUE(judgeStateDirLevel("x", existing(DirOwner::kSystem, "S-1-5-18")).ok());
  EXPECT_TRUE(judgeStateDirLevel("x", existing(DirOwner::kAdministrators, "S-1-5-32-544")).ok());
  EXPECT_TRUE(judgeStateDirLevel("x", existing(DirOwner::kAgentAccount, kUser)).ok());
}

TEST(WinStateDirCheck, ASquattedLevelIsRefusedNamingPathOwnerAndRemedy) {
  const std::string path = "C:\\ProgramData\\syn-guard\\agent";
  auto r = judgeStateDirLevel(path, existing(DirOwner::kOther, kUser));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Errc::kPermissionDenied);
  const std::string& m = r.error().message();
  EXPECT_NE(m.find(path), std::string::npos) << m;
  EXPECT_NE(m.find(kUser), std::string::npos) << m;
  EXPECT_NE(m.find("delete it"), std::string::npos) << m;
  EXPECT_NE(m.find("takeown"), std::string::npos) << m;
}

TEST(WinStateDirCheck, AReparsePointIsRefusedWhoeverOwnsIt) {
  DirFacts junction = existing(DirOwner::kAdministrators, "S-1-5-32-544");
  junction.reparse_point = true;
  auto r = judgeStateDirLevel("C:\\ProgramData\\syn-guard", junction);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("reparse point"), std::string::npos);
  EXPECT_NE(r.error().message().find("C:\\ProgramData\\syn-guard"), std::string::npos);
  DirFacts file = existing(DirOwner::kSystem, "S-1-5-18");
  file.is_directory = false;
  EXPECT_FALSE(judgeStateDirLevel("x", file).ok());
}

TEST(WinStateDirCheck, BothLevelsBelowARootAreChecked) {
  EXPECT_EQ(stateDirLevels("C:\\ProgramData\\syn-guard\\agent"),
            (std::vector<std::string>{"C:\\ProgramData\\syn-guard",
                                      "C:\\ProgramData\\syn-guard\\agent"}));
  EXPECT_EQ(stateDirLevels("C:\\ProgramData\\syn-guard\\agent\\"),
            (std::vector<std::string>{"C:\\ProgramData\\syn-guard",
                                      "C:\\ProgramData\\syn-guard\\agent"}));
  EXPECT_EQ(stateDirLevels("Z:/tmp/x/state"),
            (std::vector<std::string>{"Z:/tmp/x", "Z:/tmp/x/state"}));
  EXPECT_EQ(stateDirLevels("D:\\sg"), (std::vector<std::string>{"D:\\sg"}));
  EXPECT_EQ(stateDirLevels("\\\\host\\share\\sg"),
            (std::vector<std::string>{"\\\\host\\share\\sg"}));
  EXPECT_EQ(stateDirLevels("\\\\host\\share\\a\\sg"),
            (std::vector<std::string>{"\\\\host\\share\\a", "\\\\host\\share\\a\\sg"}));
}

// The directory as Windows would show it: levels that exist, with their
// facts; what was made and restricted, in order.
class FakeStateDirOps final : public StateDirOps {
 public:
  std::map<std::string, DirFacts> dirs;
  std::vector<std::string> calls;
  bool restrict_denied = false;  // a check run without WRITE_DAC / WRITE_OWNER
  bool keeps_dacl = true;        // false: as Wine 8, a DACL set is not read back

  Result<void> makeDir(const std::string& path) override {
    calls.push_back("make " + path);
    if (dirs.count(path) == 0) dirs[path] = existing(DirOwner::kAdministrators, "S-1-5-32-544");
    return Ok{};
  }
  Result<DirFacts> open(const std::string& path) override {
    opened_ = path;
    auto it = dirs.find(path);
    return it == dirs.end() ? DirFacts{} : it->second;
  }
  Result<void> restrictOpened() override {
    calls.push_back("restrict " + opened_);
    if (restrict_denied) {
      return Error(Errc::kPermissionDenied, "setting the owner and DACL: Windows error 5");
    }
    const DirDacl before = dirs.count(opened_) ? dirs[opened_].dacl : closedDacl();
    dirs[opened_] = existing(DirOwner::kAdministrators, "S-1-5-32-544");
    if (!keeps_dacl) dirs[opened_].dacl = before;
    return Ok{};
  }

 private:
  std::string opened_;
};

const std::string kParent = "C:\\ProgramData\\syn-guard";
const std::string kDir = kParent + "\\agent";

TEST(WinStateDirCheck, BothLevelsAreMadeAndRestrictedOutermostFirst) {
  FakeStateDirOps ops;
  ASSERT_TRUE(secureStateDirWith(kDir, ops).ok());
  EXPECT_EQ(ops.calls, (std::vector<std::string>{"make " + kParent, "restrict " + kParent,
                                                 "make " + kDir, "restrict " + kDir}));
  EXPECT_TRUE(checkStateDirWith(kDir, ops).ok());
  FakeStateDirOps none;
  EXPECT_TRUE(checkStateDirWith(kDir, none).ok());  // not made yet: nothing to read
}

// Review M4: the old code accepted an existing directory and replaced only
// its DACL, leaving the squatter its owner (and WRITE_DAC).
TEST(WinStateDirCheck, ASquattedDirectoryIsNeitherRestrictedNorUsed) {
  FakeStateDirOps ops;
  ops.dirs[kParent] = existing(DirOwner::kAdministrators, "S-1-5-32-544");
  ops.dirs[kDir] = existing(DirOwner::kOther, kUser);
  auto r = secureStateDirWith(kDir, ops);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find(kDir + " is owned by " + kUser), std::string::npos);
  EXPECT_EQ(ops.calls.back(), "make " + kDir);  // judged before any restrict
  auto c = checkStateDirWith(kDir, ops);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message().find(kUser), std::string::npos);
}

TEST(WinStateDirCheck, ASquattedOrLinkedParentStopsBeforeTheDirectoryIsMade) {
  for (bool link : {false, true}) {
    FakeStateDirOps ops;
    ops.dirs[kParent] =
        link ? existing(DirOwner::kSystem, "S-1-5-18") : existing(DirOwner::kOther, kUser);
    ops.dirs[kParent].reparse_point = link;
    auto r = secureStateDirWith(kDir, ops);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message().find(kParent + (link ? " is a reparse point" : " is owned by")),
              std::string::npos)
        << r.error().message();
    EXPECT_EQ(ops.calls, (std::vector<std::string>{"make " + kParent}));
    EXPECT_FALSE(checkStateDirWith(kDir, ops).ok());
  }
}

// Review s16 L7: what the start-up check counts as an open DACL.
TEST(WinStateDirCheck, ADaclOpenBeyondTheAdministratorsIsNamed) {
  EXPECT_EQ(daclOpenness(closedDacl(), "S-1-5-18"), "");
  const std::string inherited = daclOpenness(programDataDacl(), "S-1-5-18");
  EXPECT_NE(inherited.find("not protected"), std::string::npos) << inherited;
  EXPECT_NE(inherited.find("grants S-1-5-32-545 access"), std::string::npos) << inherited;
  EXPECT_EQ(daclGrantees(programDataDacl(), "S-1-5-18"),
            (std::vector<std::string>{"S-1-5-32-545"}));  // CREATOR OWNER is not one
  // Protected, but Users may read the sealed key (any local process can unseal it).
  DirDacl readers = closedDacl();
  readers.aces.push_back({0, kReadExecute, "S-1-5-32-545"});
  EXPECT_NE(daclOpenness(readers, "S-1-5-18").find("S-1-5-32-545"), std::string::npos);
  // A deny only takes away; SYNCHRONIZE | READ_CONTROL reads nothing inside.
  DirDacl denied = closedDacl();
  denied.aces.push_back({1, kFull, "S-1-1-0"});
  denied.aces.push_back({0, 0x120000, "S-1-1-0"});
  EXPECT_EQ(daclOpenness(denied, "S-1-5-18"), "");
  // The agent's own account (an administrator running it by hand) may.
  DirDacl agent = closedDacl();
  agent.aces.push_back({0, kFull, kUser});
  EXPECT_EQ(daclOpenness(agent, kUser), "");
  EXPECT_NE(daclOpenness(agent, "S-1-5-18").find(kUser), std::string::npos);
  // An allow entry this does not read (callback), and a NULL DACL.
  DirDacl callback = closedDacl();
  callback.aces.push_back({9, 0, ""});
  EXPECT_NE(daclOpenness(callback, "S-1-5-18").find("type 9"), std::string::npos);
  EXPECT_NE(daclOpenness(DirDacl{false, true, {}}, "S-1-5-18").find("NULL DACL"),
            std::string::npos);
  callback.aces.push_back({0, kFull, "S-1-1-0"});
  EXPECT_EQ(icaclsRemedy("C:\\x", callback, "S-1-5-18"),
            "icacls \"C:\\x\" /inheritance:r /grant:r *S-1-5-18:(OI)(CI)F "
            "*S-1-5-32-544:(OI)(CI)F /remove:g *S-1-1-0");
}

// A level an older agent made (before review M4) is restricted again at
// start (the service runs as SYSTEM), and only such a level.
TEST(WinStateDirCheck, TheStartUpCheckRestrictsALevelWithAnOpenDacl) {
  FakeStateDirOps ops;
  ops.dirs[kParent] = existing(DirOwner::kAdministrators, "S-1-5-32-544");
  ops.dirs[kParent].dacl = programDataDacl();
  ops.dirs[kDir] = existing(DirOwner::kSystem, "S-1-5-18");
  auto r = checkStateDirWith(kDir, ops);
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(ops.calls, (std::vector<std::string>{"restrict " + kParent}));
  EXPECT_EQ(r->restricted, (std::vector<std::string>{kParent}));
  EXPECT_TRUE(r->warnings.empty());
  EXPECT_EQ(daclOpenness(ops.dirs[kParent].dacl, "S-1-5-18"), "");
  ops.calls.clear();
  r = checkStateDirWith(kDir, ops);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(ops.calls.empty()) << "a closed level is left alone";
  EXPECT_TRUE(r->restricted.empty());
}

// Without the rights to change it (run by a user): refused, naming the level,
// what is open and the remedy.
TEST(WinStateDirCheck, AnOpenLevelThatCannotBeRestrictedIsRefusedWithTheRemedy) {
  FakeStateDirOps ops;
  ops.restrict_denied = true;
  ops.dirs[kParent] = existing(DirOwner::kAdministrators, "S-1-5-32-544");
  ops.dirs[kDir] = existing(DirOwner::kAdministrators, "S-1-5-32-544");
  ops.dirs[kDir].dacl = programDataDacl();
  auto r = checkStateDirWith(kDir, ops);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Errc::kPermissionDenied);
  const std::string& m = r.error().message();
  EXPECT_NE(m.find(kDir + ": its DACL is not protected"), std::string::npos) << m;
  EXPECT_NE(m.find("Windows error 5"), std::string::npos) << m;
  EXPECT_NE(m.find("icacls \"" + kDir + "\" /inheritance:r"), std::string::npos) << m;
  EXPECT_NE(m.find("/remove:g *S-1-5-32-545"), std::string::npos) << m;
}

// Wine 8 keeps no DACL: every level reads open again after it was set. That
// is a warning per level, not a refusal (the agent could never start there).
TEST(WinStateDirCheck, ADaclThatDoesNotStayIsAWarningNotARefusal) {
  FakeStateDirOps ops;
  ops.keeps_dacl = false;
  ops.dirs[kParent] = existing(DirOwner::kAgentAccount, kUser);
  ops.dirs[kParent].agent_sid = kUser;
  ops.dirs[kParent].dacl = programDataDacl();
  ops.dirs[kDir] = ops.dirs[kParent];
  auto r = checkStateDirWith(kDir, ops);
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_TRUE(r->restricted.empty()) << "set, but not kept";
  EXPECT_EQ(ops.calls, (std::vector<std::string>{"restrict " + kParent, "restrict " + kDir}));
  ASSERT_EQ(r->warnings.size(), 2u);
  EXPECT_NE(r->warnings[1].find(kDir + ": the DACL set did not stay"), std::string::npos)
      << r->warnings[1];
  // A squatted level is still refused there.
  ops.dirs[kDir] = existing(DirOwner::kOther, kUser);
  EXPECT_FALSE(checkStateDirWith(kDir, ops).ok());
}

}  // namespace
}  // namespace sg::win
