#include "files/state_file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "scratch_dir.h"
#include "test_helpers.h"

namespace sg {
namespace {

class StateFileTest : public ::testing::Test {
 protected:
  sg::test::ScratchDir scratch_{"sg-state-file"};
  std::string dir_ = scratch_.path().string();
};

TEST_F(StateFileTest, WritesWithExactlyTheModeAndReadsBack) {
  const mode_t old = umask(0);
  const std::string p = dir_ + "/key";
  ASSERT_OK(writeFileAtomic(p, "secret", 0600));
  umask(old);
  struct stat st {};
  ASSERT_EQ(stat(p.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto back = readSmallFile(p);
  ASSERT_OK(back);
  EXPECT_EQ(*back, "secret");
}

TEST_F(StateFileTest, ReplacesAndLeavesNoTemporaryFile) {
  const std::string p = dir_ + "/state.json";
  ASSERT_OK(writeFileAtomic(p, "one", 0644));
  ASSERT_OK(writeFileAtomic(p, "two", 0644));
  EXPECT_EQ(*readSmallFile(p), "two");
  size_t files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir_)) {
    (void)e;
    files++;
  }
  EXPECT_EQ(files, 1u);
}

TEST_F(StateFileTest, MissingIsNotFoundAndOversizedIsRefused) {
  auto missing = readSmallFile(dir_ + "/none");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code(), Errc::kNotFound);
  ASSERT_OK(writeFileAtomic(dir_ + "/big", std::string(100, 'x'), 0600));
  auto big = readSmallFile(dir_ + "/big", 10);
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.error().code(), Errc::kInvalidArgument);
}

TEST_F(StateFileTest, AFailedWriteLeavesTheOldFile) {
  const std::string p = dir_ + "/kept";
  ASSERT_OK(writeFileAtomic(p, "old", 0600));
  EXPECT_FALSE(writeFileAtomic(dir_ + "/no/such/dir/x", "new", 0600).ok());
  EXPECT_EQ(*readSmallFile(p), "old");
}

}  // namespace
}  // namespace sg
