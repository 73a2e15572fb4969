// openStore (the console's --db) on PostgreSQL: a postgres:// URL opens a
// PgStore on the server SYNGUARD_TEST_PG_URL names; its errors never hold the
// password.
#include <gtest/gtest.h>

#include "console/pg_test_db.h"
#include "console/pg_test_require.h"
#include "console/store_open.h"
#include "test_helpers.h"

namespace sg::console {
namespace {

TEST(OpenStorePostgres, APostgresUrlOpensThePostgresStore) {
  SG_REQUIRE_PG();
  auto db = test::PgTestDb::create();
  ASSERT_OK(db);
  auto a = openStore((*db)->url(), "/nonexistent");  // data_dir is not used for PostgreSQL
  ASSERT_OK(a);
  auto b = openStore((*db)->url(), "/nonexistent");
  ASSERT_OK(b);
  ASSERT_OK((*a)->putMeta("shared", "yes"));
  EXPECT_EQ(**(*b)->getMeta("shared"), "yes");  // one database, two consoles

  auto refused = openStore("postgresql://u:hunter2secret@127.0.0.1:1/db", "/nonexistent");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code(), Errc::kUnavailable);
  EXPECT_NE(refused.error().message().find("127.0.0.1:1/db"), std::string::npos)
      << refused.error().message();
  EXPECT_EQ(refused.error().message().find("hunter2"), std::string::npos);
}

}  // namespace
}  // namespace sg::console
