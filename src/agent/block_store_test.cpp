#include "agent/block_store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "test_helpers.h"

namespace sg::agent {
namespace {

TEST(BlockStore, EncodesAndParsesAndRejectsWithReasons) {
  std::vector<std::string> in = {"192.0.2.7", "2001:db8:1:2::/64"};
  auto out = parseBlockState(encodeBlockState(in));
  ASSERT_OK(out);
  EXPECT_EQ(*out, in);
  EXPECT_ERROR(parseBlockState("[]"), Errc::kInvalidArgument);
  EXPECT_ERROR(parseBlockState(R"({"version":2,"permanent_blocks":[]})"), Errc::kInvalidArgument);
  EXPECT_ERROR(parseBlockState(R"({"version":1,"permanent_blocks":[{"src":7}]})"),
               Errc::kInvalidArgument);
}

TEST(BlockStore, FileIsWrittenWholeAndReadBack) {
  char tmpl[] = "/tmp/sg-state-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string dir = std::string(tmpl) + "/state";  // created by save
  FileBlockStore store(dir);
  auto empty = store.load();
  ASSERT_OK(empty);
  EXPECT_TRUE(empty->empty()) << "no file yet: nothing saved";
  ASSERT_OK(store.save({"192.0.2.7"}));
  ASSERT_OK(store.save({"192.0.2.7", "192.0.2.8"}));
  auto back = store.load();
  ASSERT_OK(back);
  EXPECT_EQ(back->size(), 2u);
  EXPECT_NE(access((store.path() + ".tmp").c_str(), F_OK), 0) << "the temporary file is renamed";
  std::ofstream(store.path(), std::ios::trunc) << "{oops";
  EXPECT_ERROR(store.load(), Errc::kInvalidArgument);
  std::remove(store.path().c_str());
  rmdir(dir.c_str());
  rmdir(tmpl);
}

}  // namespace
}  // namespace sg::agent
