// The Store suite (store_test.cpp) on SQLite, and SQLite's own migration
// bookkeeping.
#include "console/sqlite_store.h"

#include <sqlite3.h>
#include <stdlib.h>

#include <filesystem>

#include "console/sqlite_migrations.h"
#include "console/store_test.h"

namespace sg::console {
namespace {

namespace fs = std::filesystem;

// A database file in a temporary directory of its own.
class SqliteFixture final : public StoreFixture {
 public:
  static Result<std::unique_ptr<StoreFixture>> make() {
    std::string tmpl = (fs::temp_directory_path() / "sg-store-XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr) return makeError(Errc::kIo, "mkdtemp " + tmpl);
    return std::unique_ptr<StoreFixture>(new SqliteFixture(tmpl));
  }
  ~SqliteFixture() override { fs::remove_all(dir_); }
  Result<std::unique_ptr<Store>> open() override {
    SG_READ(store, SqliteStore::open((dir_ / "console.db").string()));
    return std::unique_ptr<Store>(std::move(*store));
  }

 private:
  explicit SqliteFixture(fs::path dir) : dir_(std::move(dir)) {}
  fs::path dir_;
};

INSTANTIATE_TEST_SUITE_P(Sqlite, StoreTest,
                         ::testing::Values(Backend{"sqlite", nullptr, SqliteFixture::make}),
                         [](const auto& info) { return info.param.name; });

TEST(SqliteMigrations, AppliedOnceAndANewerSchemaIsRefused) {
  std::string tmpl = (fs::temp_directory_path() / "sg-migr-XXXXXX").string();
  ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
  const std::string path = tmpl + "/console.db";
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
  fs::remove_all(tmpl);
}

}  // namespace
}  // namespace sg::console
