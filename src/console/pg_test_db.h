// PostgreSQL for tests: the server scripts/pg-test-server.sh started
// (SYNGUARD_TEST_PG_URL), and a fresh database per test on it, named with the
// pid and a counter (tests run in parallel) and dropped at the end.
#pragma once

#include <memory>
#include <string>

#include "console/pg_conn.h"

namespace sg::console::test {

std::string pgTestUrl();          // SYNGUARD_TEST_PG_URL, or ""
std::string pgTestUnavailable();  // "" when set; else why the PG tests cannot run
// `url` naming database `dbname` instead of its own.
std::string withDatabase(const std::string& url, const std::string& dbname);

class PgTestDb {
 public:
  static Result<std::unique_ptr<PgTestDb>> create();
  PgTestDb(const PgTestDb&) = delete;
  PgTestDb& operator=(const PgTestDb&) = delete;
  ~PgTestDb();  // drops the database, closing what is still connected to it

  const std::string& url() const { return url_; }
  const std::string& name() const { return name_; }
  // A connection of the test's own to the database (to inspect or break things).
  Result<std::unique_ptr<PgConn>> connect() const;

 private:
  PgTestDb(std::unique_ptr<PgConn> admin, std::string name, std::string url)
      : admin_(std::move(admin)), name_(std::move(name)), url_(std::move(url)) {}
  std::unique_ptr<PgConn> admin_;  // on the server's own database: creates and drops
  std::string name_;
  std::string url_;
};

}  // namespace sg::console::test
