#include "agent/block_store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "scratch_dir.h"
#include "test_helpers.h"

namespace sg::agent {
namespace {

TEST(BlockStore, EncodesAndParsesAndRejectsWithReasons) {
  SavedBlocks in{{"192.0.2.7", "2001:db8:1:2::/64"}, {}};
  auto out = parseBlockState(encodeBlockState(in));
  ASSERT_OK(out);
  EXPECT_EQ(*out, in);
  EXPECT_ERROR(parseBlockState("[]"), Errc::kInvalidArgument);
  EXPECT_ERROR(parseBlockState(R"({"version":2,"permanent_blocks":[]})"), Errc::kInvalidArgument);
  EXPECT_ERROR(parseBlockState(R"({"version":1,"permanent_blocks":[{"src":7}]})"),
               Errc::kInvalidArgument);
}

// Prefix blocks are a list of their own: a saved /48 prefix block must never
// be read back as a source counted per /48 (restore refuses those), and an
// older agent, which knows only "permanent_blocks", still reads the file.
TEST(BlockStore, PrefixBlocksAreKeptApartFromSources) {
  SavedBlocks in{{"192.0.2.7"}, {"198.51.100.0/24", "2001:db8::/32"}};
  const std::string text = encodeBlockState(in);
  EXPECT_NE(text.find("\"permanent_prefix_blocks\""), std::string::npos) << text;
  auto out = parseBlockState(text);
  ASSERT_OK(out);
  EXPECT_EQ(*out, in);
  auto old = parseBlockState(R"({"version":1,"permanent_blocks":[{"src":"192.0.2.7"}]})");
  ASSERT_OK(old);
  EXPECT_TRUE(old->prefixes.empty());
  EXPECT_ERROR(
      parseBlockState(
          R"({"version":1,"permanent_blocks":[],"permanent_prefix_blocks":[{"src":"x"}]})"),
      Errc::kInvalidArgument);
}

TEST(BlockStore, FileIsWrittenWholeAndReadBack) {
  const sg::test::ScratchDir scratch("sg-state");
  const std::string dir = (scratch.path() / "state").string();  // created by save
  FileBlockStore store(dir);
  auto empty = store.load();
  ASSERT_OK(empty);
  EXPECT_TRUE(empty->empty()) << "no file yet: nothing saved";
  ASSERT_OK(store.save({{"192.0.2.7"}, {}}));
  ASSERT_OK(store.save({{"192.0.2.7", "192.0.2.8"}, {"198.51.100.0/24"}}));
  auto back = store.load();
  ASSERT_OK(back);
  EXPECT_EQ(back->sources.size(), 2u);
  EXPECT_EQ(back->prefixes, std::vector<std::string>{"198.51.100.0/24"});
  EXPECT_NE(access((store.path() + ".tmp").c_str(), F_OK), 0) << "the temporary file is renamed";
  std::ofstream(store.path(), std::ios::trunc) << "{oops";
  EXPECT_ERROR(store.load(), Errc::kInvalidArgument);
}

}  // namespace
}  // namespace sg::agent
