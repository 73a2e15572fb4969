// Test helpers shared by every test: Result assertions and privilege checks.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "core/result.h"

#define EXPECT_OK(expr)                                                                \
  do {                                                                                 \
    const auto& sg_r_ = (expr);                                                        \
    EXPECT_TRUE(sg_r_.ok()) << (sg_r_.ok() ? std::string() : sg_r_.error().message()); \
  } while (0)
#define ASSERT_OK(expr)                                                                \
  do {                                                                                 \
    const auto& sg_r_ = (expr);                                                        \
    ASSERT_TRUE(sg_r_.ok()) << (sg_r_.ok() ? std::string() : sg_r_.error().message()); \
  } while (0)
#define EXPECT_ERROR(expr, errc)                                        \
  do {                                                                  \
    const auto& sg_r_ = (expr);                                         \
    ASSERT_FALSE(sg_r_.ok()) << "expected an error";                    \
    EXPECT_EQ(sg_r_.error().code(), (errc)) << sg_r_.error().message(); \
  } while (0)

namespace sg::test {

inline bool inCi() {
  const char* ci = std::getenv("CI");
  return ci != nullptr && std::string(ci) == "true";
}

// Tests that need root (BPF, netns, nftables) call this first: in CI a
// missing privilege fails the test; elsewhere it skips it.
#define SG_REQUIRE_ROOT()                                                             \
  do {                                                                                \
    if (geteuid() != 0) {                                                             \
      if (::sg::test::inCi()) FAIL() << "CI=true but not root: this test needs root"; \
      GTEST_SKIP() << "needs root (CAP_BPF, CAP_NET_ADMIN, CAP_SYS_ADMIN)";           \
    }                                                                                 \
  } while (0)

}  // namespace sg::test
