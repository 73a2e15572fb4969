#include "win/state_dir_check.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace sg::win
