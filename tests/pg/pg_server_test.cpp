// The PostgreSQL server that scripts/test.sh starts for the tests
// (scripts/pg-test-server.sh) answers at SYNGUARD_TEST_PG_URL, and its role
// can make a schema of its own: what the console's PostgreSQL store tests
// rely on. With CI=true a missing URL fails the test instead of skipping it.
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <unistd.h>

#include <cstdlib>
#include <memory>
#include <string>

#include "test_helpers.h"

namespace {

struct ConnCloser {
  void operator()(PGconn* c) const { PQfinish(c); }
};
struct ResultClearer {
  void operator()(PGresult* r) const { PQclear(r); }
};
using Conn = std::unique_ptr<PGconn, ConnCloser>;
using Res = std::unique_ptr<PGresult, ResultClearer>;

#define SG_REQUIRE_PG_URL(var)                                                             \
  const char* var = std::getenv("SYNGUARD_TEST_PG_URL");                                   \
  if (var == nullptr || *var == '\0') {                                                    \
    if (::sg::test::inCi()) FAIL() << "CI=true but SYNGUARD_TEST_PG_URL is not set";       \
    GTEST_SKIP() << "SYNGUARD_TEST_PG_URL not set (scripts/pg-test-server.sh start; env)"; \
  }

Conn connect(const char* url) { return Conn(PQconnectdb(url)); }

TEST(PgServer, AnswersSelectOne) {
  SG_REQUIRE_PG_URL(url);
  Conn c = connect(url);
  ASSERT_EQ(PQstatus(c.get()), CONNECTION_OK) << PQerrorMessage(c.get());
  Res r(PQexec(c.get(), "select 1"));
  ASSERT_EQ(PQresultStatus(r.get()), PGRES_TUPLES_OK) << PQerrorMessage(c.get());
  ASSERT_EQ(PQntuples(r.get()), 1);
  EXPECT_STREQ(PQgetvalue(r.get(), 0, 0), "1");
}

TEST(PgServer, TheRoleCanMakeAndDropASchemaOfItsOwn) {
  SG_REQUIRE_PG_URL(url);
  Conn c = connect(url);
  ASSERT_EQ(PQstatus(c.get()), CONNECTION_OK) << PQerrorMessage(c.get());
  const std::string schema = "sg_pg_test_" + std::to_string(getpid());
  const std::string sql = "create schema " + schema + "; create table " + schema +
                          ".t (id int primary key); insert into " + schema +
                          ".t values (7); drop schema " + schema + " cascade;";
  Res r(PQexec(c.get(), sql.c_str()));
  EXPECT_EQ(PQresultStatus(r.get()), PGRES_COMMAND_OK) << PQerrorMessage(c.get());
}

}  // namespace
