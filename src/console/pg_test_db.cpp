#include "console/pg_test_db.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>

namespace sg::console::test {

std::string pgTestUrl() {
  const char* url = std::getenv("SYNGUARD_TEST_PG_URL");
  return url != nullptr ? url : "";
}

std::string pgTestUnavailable() {
  if (!pgTestUrl().empty()) return "";
  return "SYNGUARD_TEST_PG_URL is not set: start a server with `eval \"$(scripts/pg-test-server.sh "
         "start >/dev/null; scripts/pg-test-server.sh env)\"` (scripts/test.sh does)";
}

std::string withDatabase(const std::string& url, const std::string& dbname) {
  const size_t scheme = url.find("://");
  const size_t path = url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  const size_t query = url.find('?', path == std::string::npos ? 0 : path);
  const std::string base = path == std::string::npos ? url.substr(0, query) : url.substr(0, path);
  return base + "/" + dbname + (query == std::string::npos ? "" : url.substr(query));
}

Result<std::unique_ptr<PgTestDb>> PgTestDb::create() {
  static std::atomic<int> counter{0};
  SG_READ(server, parsePgUrl(pgTestUrl()));
  PgConnOptions options;
  options.application_name = "syn-guard test setup";
  SG_READ(admin, PgConn::connect(*server, options));
  // The name is made of the pid and a counter only: no outside text in SQL.
  const std::string name =
      "sg_test_" + std::to_string(getpid()) + "_" + std::to_string(counter.fetch_add(1));
  SG_TRY((*admin)->script("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)"));
  SG_TRY((*admin)->script("CREATE DATABASE " + name));
  return std::unique_ptr<PgTestDb>(
      new PgTestDb(std::move(*admin), name, withDatabase(pgTestUrl(), name)));
}

PgTestDb::~PgTestDb() {
  auto dropped = admin_->script("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
  if (!dropped.ok()) ADD_FAILURE() << dropped.error().message();
}

Result<std::unique_ptr<PgConn>> PgTestDb::connect() const {
  SG_READ(parsed, parsePgUrl(url_));
  PgConnOptions options;
  options.application_name = "syn-guard test";
  return PgConn::connect(*parsed, options);
}

}  // namespace sg::console::test
