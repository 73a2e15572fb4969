#include "console/service_tokens.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>

#include "console/sqlite_store.h"
#include "console/store_open.h"
#include "files/state_file.h"
#include "pki/token.h"
#include "scratch_dir.h"
#include "test_helpers.h"

namespace sg::console {
namespace {

namespace fs = std::filesystem;

class TokensTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = openStore("", dir_.string());
    ASSERT_OK(s);
    store_ = std::move(*s);
  }
  void TearDown() override { store_.reset(); }
  sg::test::ScratchDir scratch_{"sg-tok"};
  fs::path dir_ = scratch_.path();
  std::unique_ptr<Store> store_;
};

TEST_F(TokensTest, AdminTokenIsMadeOnceAndKept) {
  const std::string path = (dir_ / "admin.token").string();
  auto first = ensureAdminToken(*store_, path, 1000);
  ASSERT_OK(first);
  EXPECT_TRUE(first->created);
  struct stat st {};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto record = store_->findApiToken(pki::secretHash(pki::parseToken(first->token)->secret));
  ASSERT_OK(record);
  EXPECT_EQ(record->name, "admin");
  EXPECT_EQ(record->role, Role::kAdmin);
  auto second = ensureAdminToken(*store_, path, 2000);
  ASSERT_OK(second);
  EXPECT_FALSE(second->created);
  EXPECT_EQ(second->token, first->token);
  // A file whose token the store does not know (e.g. a new database) is replaced.
  ASSERT_OK(writeFileAtomic(path, pki::newApiToken()->toString() + "\n", 0600));
  auto third = ensureAdminToken(*store_, path, 3000);
  ASSERT_OK(third);
  EXPECT_TRUE(third->created);
}

TEST_F(TokensTest, EnrollmentTokensGoStraightToTheStore) {
  const std::string pin(64, 'b');
  auto token = issueEnrollmentToken(*store_, pin, {{"org", "acme"}}, std::chrono::hours(1), 1000);
  ASSERT_OK(token);
  auto parsed = pki::parseToken(*token);
  ASSERT_OK(parsed);
  EXPECT_EQ(parsed->ca_pin, pin);
  auto used = store_->consumeEnrollmentToken(pki::secretHash(parsed->secret), 2000);
  ASSERT_OK(used);
  EXPECT_EQ(used->labels.at("org"), "acme");
  EXPECT_ERROR(issueEnrollmentToken(*store_, pin, {{"colour", "red"}}, std::chrono::hours(1), 0),
               Errc::kInvalidArgument);
}

TEST(ParseLabels, KeyValueListsOfKnownKeys) {
  auto l = parseLabels("org=acme,type=server,dept=payments");
  ASSERT_OK(l);
  EXPECT_EQ(l->size(), 3u);
  EXPECT_EQ(l->at("dept"), "payments");
  EXPECT_TRUE(parseLabels("")->empty());
  EXPECT_ERROR(parseLabels("org"), Errc::kInvalidArgument);
  EXPECT_ERROR(parseLabels("=x"), Errc::kInvalidArgument);
  EXPECT_ERROR(parseLabels("org=a,org=b"), Errc::kInvalidArgument);
  EXPECT_ERROR(parseLabels("colour=red"), Errc::kInvalidArgument);
}

TEST(OpenStore, SqliteByDefaultPostgresNotYet) {
  const sg::test::ScratchDir scratch("sg-open");
  const std::string tmpl = scratch.path().string();
  EXPECT_OK(openStore("", tmpl));
  EXPECT_TRUE(fs::exists(fs::path(tmpl) / "console.db"));
  EXPECT_OK(openStore("sqlite:other.db", tmpl));
  EXPECT_TRUE(fs::exists(fs::path(tmpl) / "other.db"));
  EXPECT_ERROR(openStore("postgres://u:secret@localhost/db", tmpl), Errc::kUnavailable);
  auto bad = openStore("mysql://u:secret@h/db", tmpl);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message().find("secret"), std::string::npos);
  EXPECT_ERROR(openStore("sqlite:", tmpl), Errc::kInvalidArgument);
}

}  // namespace
}  // namespace sg::console
