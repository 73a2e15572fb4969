// The Store suite (store_test.cpp) on SQLite, and SQLite's own migration
// bookkeeping.
#include "console/sqlite_store.h"

#include <sqlite3.h>
#include <stdlib.h>

#include <filesystem>

#include "console/sqlite_migrations.h"
#include "console/store_test.h"
#include "scratch_dir.h"

namespace sg::console {
namespace {

namespace fs = std::filesystem;

// A database file in a temporary directory of its own.
class SqliteFixture final : public StoreFixture {
 public:
  static Result<std::unique_ptr<StoreFixture>> make() {
    return std::unique_ptr<StoreFixture>(new SqliteFixture());
  }
  Result<std::unique_ptr<Store>> open() override {
    SG_READ(store, SqliteStore::open((dir_.path() / "console.db").string()));
    return std::unique_ptr<Store>(std::move(*store));
  }

 private:
  SqliteFixture() = default;
  sg::test::ScratchDir dir_{"sg-store"};
};

INSTANTIATE_TEST_SUITE_P(Sqlite, StoreTest,
                         ::testing::Values(Backend{"sqlite", nullptr, SqliteFixture::make}),
                         [](const auto& info) { return info.param.name; });

TEST(SqliteMigrations, AppliedOnceAndANewerSchemaIsRefused) {
  const sg::test::ScratchDir scratch("sg-migr");
  const std::string path = (scratch.path() / "console.db").string();
  { ASSERT_OK(SqliteStore::open(path)); }
  { ASSERT_OK(SqliteStore::open(path)); }  // reopening applies nothing twice
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM schema_migrations", -1, &stmt, nullptr),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int64(stmt, 0), static_cast<int64_t>(sqliteMigrations().size()));
  sqlite3_finalize(stmt);
  ASSERT_EQ(
      sqlite3_exec(db, "INSERT INTO schema_migrations VALUES (999, 0)", nullptr, nullptr, nullptr),
      SQLITE_OK);
  sqlite3_close(db);
  auto newer = SqliteStore::open(path);
  ASSERT_FALSE(newer.ok());
  EXPECT_NE(newer.error().message().find("newer than this build"), std::string::npos);
}

}  // namespace
}  // namespace sg::console
