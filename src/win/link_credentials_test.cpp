#include "win/link_credentials.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

namespace sg::win {
namespace {

TEST(ConsoleEndpoint, ParsesAsTheLinuxAgentDoes) {
  auto a = parseConsoleEndpoint("https://console.example:9443/");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "console.example");
  EXPECT_EQ(a->port, 9443);
  auto b = parseConsoleEndpoint("https://[2001:db8::1]");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->host, "2001:db8::1");
  EXPECT_EQ(b->port, 8443);
  for (const char* bad : {"http://c:1", "https://c:0", "https://c:70000", "https://c/x",
                          "https://2001:db8::1", "https://", "https://[::1", "https://c:"}) {
    EXPECT_FALSE(parseConsoleEndpoint(bad).ok()) << bad;
  }
}

class LinkCredentialsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = (std::filesystem::temp_directory_path() /
            ("sg-win-creds-" + std::to_string(reinterpret_cast<uintptr_t>(this))))
               .string();
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void write(const char* file, const std::string& text) {
    std::ofstream(dir_ + "/" + file) << text;
  }
  std::string dir_;
};

TEST_F(LinkCredentialsTest, NoneBeforeEnrollmentAPartialSetNamesTheFile) {
  auto none = loadLinkCredentials(dir_);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  write("console.json", R"({"url":"https://c:8443","name":"win-1"})");
  write("ca.crt", "CA");
  write("agent.crt", "CERT");
  auto partial = loadLinkCredentials(dir_);
  ASSERT_FALSE(partial.ok());
  EXPECT_NE(partial.error().message().find("agent.key"), std::string::npos);
  write("agent.key", "KEY");
  auto full = loadLinkCredentials(dir_);
  ASSERT_TRUE(full.ok());
  ASSERT_TRUE(full->has_value());
  EXPECT_EQ((*full)->name, "win-1");
  EXPECT_EQ((*full)->key_pem, "KEY");
  write("console.json", R"({"url":7})");
  EXPECT_FALSE(loadLinkCredentials(dir_).ok());
}

}  // namespace
}  // namespace sg::win
