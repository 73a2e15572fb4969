#include "core/isolation.h"

#include <gtest/gtest.h>

#include "core/fake_isolation.h"
#include "test_helpers.h"

namespace sg {
namespace {

std::string errorOf(const Result<IsolationSpec>& r) { return r.ok() ? "" : r.error().message(); }

TEST(IsolationSpec, ParsesConsoleAndAllowlist) {
  auto spec =
      parseIsolationSpec({"192.0.2.10", "2001:db8::10"}, {"198.51.100.0/24", "2001:db8:1::/48"});
  ASSERT_OK(spec);
  ASSERT_EQ(spec->console.size(), 2u);
  EXPECT_EQ(spec->console[1].str(), "2001:db8::10");
  EXPECT_EQ(spec->allow[0].str(), "198.51.100.0/24");
}

TEST(IsolationSpec, EmptyConsoleIsRefused) {
  auto r = parseIsolationSpec({}, {"198.51.100.0/24"});
  EXPECT_ERROR(r, Errc::kInvalidArgument);
  EXPECT_NE(errorOf(r).find("without a way back to the console"), std::string::npos) << errorOf(r);
}

TEST(IsolationSpec, BadAddressesSayWhich) {
  auto bad = parseIsolationSpec({"192.0.2.300"}, {});
  EXPECT_ERROR(bad, Errc::kInvalidArgument);
  EXPECT_NE(errorOf(bad).find("console address"), std::string::npos) << errorOf(bad);
  EXPECT_NE(errorOf(bad).find("192.0.2.300"), std::string::npos) << errorOf(bad);

  auto host_bits = parseIsolationSpec({"192.0.2.1"}, {"198.51.100.1/24"});
  EXPECT_ERROR(host_bits, Errc::kInvalidArgument);
  EXPECT_NE(errorOf(host_bits).find("allowlist prefix"), std::string::npos) << errorOf(host_bits);

  for (const char* c : {"0.0.0.0", "::"}) {
    auto r = parseIsolationSpec({c}, {});
    EXPECT_ERROR(r, Errc::kInvalidArgument);
    EXPECT_NE(errorOf(r).find("unspecified"), std::string::npos) << errorOf(r);
  }
  for (const char* c : {"224.0.0.1", "ff02::1"}) {
    auto r = parseIsolationSpec({c}, {});
    EXPECT_ERROR(r, Errc::kInvalidArgument);
    EXPECT_NE(errorOf(r).find("multicast"), std::string::npos) << errorOf(r);
  }
}

TEST(IsolationSpec, AllowEverythingIsNoIsolation) {
  for (const char* p : {"0.0.0.0/0", "::/0"}) {
    auto r = parseIsolationSpec({"192.0.2.1"}, {p});
    EXPECT_ERROR(r, Errc::kInvalidArgument);
    EXPECT_NE(errorOf(r).find("admits every address"), std::string::npos) << errorOf(r);
  }
  EXPECT_OK(parseIsolationSpec({"192.0.2.1"}, {"0.0.0.0/1"}));
}

TEST(IsolationSpec, DuplicatesAndBounds) {
  EXPECT_ERROR(parseIsolationSpec({"192.0.2.1", "192.0.2.1"}, {}), Errc::kInvalidArgument);
  EXPECT_ERROR(parseIsolationSpec({"192.0.2.1"}, {"10.0.0.0/8", "10.0.0.0/8"}),
               Errc::kInvalidArgument);
  std::vector<std::string> console;
  for (size_t i = 0; i <= kMaxIsolationConsole; ++i)
    console.push_back("10.0.0." + std::to_string(i + 1));
  auto r = parseIsolationSpec(console, {});
  EXPECT_ERROR(r, Errc::kInvalidArgument);
  EXPECT_NE(errorOf(r).find("at most"), std::string::npos) << errorOf(r);
  console.pop_back();
  EXPECT_OK(parseIsolationSpec(console, {}));
}

TEST(IsolationSpec, JsonRoundTripAndErrors) {
  auto spec = parseIsolationSpec({"192.0.2.10", "2001:db8::10"}, {"198.51.100.0/24"});
  ASSERT_OK(spec);
  auto back = parseIsolationSpecJson(isolationSpecJson(*spec));
  ASSERT_OK(back);
  EXPECT_EQ(*back, *spec);
  EXPECT_ERROR(parseIsolationSpecJson("[]"), Errc::kInvalidArgument);
  EXPECT_ERROR(parseIsolationSpecJson("{\"console\":\"192.0.2.1\"}"), Errc::kInvalidArgument);
  EXPECT_ERROR(parseIsolationSpecJson("{\"console\":[1]}"), Errc::kInvalidArgument);
  EXPECT_ERROR(parseIsolationSpecJson("{\"allow\":[\"10.0.0.0/8\"]}"), Errc::kInvalidArgument);
}

TEST(FakeIsolation, ValidatesRecordsAndFails) {
  FakeIsolation fake;
  EXPECT_ERROR(fake.isolate(IsolationSpec{}), Errc::kInvalidArgument);
  EXPECT_FALSE(fake.isolated());
  auto spec = parseIsolationSpec({"192.0.2.10"}, {});
  ASSERT_OK(spec);
  ASSERT_OK(fake.isolate(*spec));
  EXPECT_TRUE(fake.isolated());
  EXPECT_EQ(fake.spec(), *spec);
  fake.fail_next = makeError(Errc::kIo, "boom");
  EXPECT_ERROR(fake.release(), Errc::kIo);
  EXPECT_TRUE(fake.isolated());
  ASSERT_OK(fake.release());
  EXPECT_FALSE(fake.isolated());
}

}  // namespace
}  // namespace sg
