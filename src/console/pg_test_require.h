// SG_REQUIRE_PG(): the first line of a test that needs the PostgreSQL test
// server (pg_test_db.h): skips the test when it is not set up, and fails it
// instead with CI=true.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "console/pg_test_db.h"
#include "test_helpers.h"

#define SG_REQUIRE_PG()                                                   \
  do {                                                                    \
    const std::string sg_why_ = ::sg::console::test::pgTestUnavailable(); \
    if (!sg_why_.empty()) {                                               \
      if (::sg::test::inCi()) FAIL() << "CI=true: " << sg_why_;           \
      GTEST_SKIP() << sg_why_ << " (with CI=true this fails)";            \
    }                                                                     \
  } while (0)
