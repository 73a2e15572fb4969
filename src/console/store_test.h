// The suite every Store implementation passes (store_test.cpp): each test
// executable instantiates StoreTest with its backends (sqlite_store_test.cpp,
// pg_store_test.cpp).
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>

#include "console/store.h"
#include "test_helpers.h"

namespace sg::console {

// One test's storage (a file, a database): opened again and again as a Store
// over the same data, removed when destroyed.
class StoreFixture {
 public:
  virtual ~StoreFixture() = default;
  virtual Result<std::unique_ptr<Store>> open() = 0;
};

struct Backend {
  std::string name;
  // Empty when the backend can run here; else why not (the test then fails
  // with CI=true and skips otherwise).
  std::function<std::string()> unavailable;
  std::function<Result<std::unique_ptr<StoreFixture>>()> make;
};

inline void PrintTo(const Backend& backend, std::ostream* os) { *os << backend.name; }

class StoreTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    const std::string why = GetParam().unavailable ? GetParam().unavailable() : "";
    if (!why.empty()) {
      if (::sg::test::inCi()) FAIL() << "CI=true: " << why;
      GTEST_SKIP() << why << " (with CI=true this fails)";
    }
    auto fixture = GetParam().make();
    ASSERT_TRUE(fixture.ok()) << fixture.error().message();
    fixture_ = std::move(*fixture);
    reopen();
  }
  void TearDown() override {
    store_.reset();
    fixture_.reset();
  }
  void reopen() {
    store_.reset();
    auto s = fixture_->open();
    ASSERT_TRUE(s.ok()) << s.error().message();
    store_ = std::move(*s);
  }

  std::unique_ptr<StoreFixture> fixture_;
  std::unique_ptr<Store> store_;
};

}  // namespace sg::console
