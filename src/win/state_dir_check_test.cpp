#include "win/state_dir_check.h"

#include <gtest/gtest.h>

#include <map>

namespace sg::win {
namespace {

const std::string kUser = "S-1-5-21-1004336348-1177238915-682003330-1001";

DirFacts existing(DirOwner owner, const std::string& sid) {
  DirFacts f;
  f.exists = true;
  f.owner = owner;
  f.owner_sid = sid;
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
    dirs[opened_] = existing(DirOwner::kAdministrators, "S-1-5-32-544");
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

}  // namespace
}  // namespace sg::win
