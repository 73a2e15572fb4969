#include "console/policy_resolver.h"

#include <gtest/gtest.h>

#include "test_helpers.h"

namespace sg::console {
namespace {

proto::PolicyParams profile(uint32_t threshold) {
  return proto::PolicyParams{"", threshold, 5000, 60000, EnforcerKind::kXdp};
}

Policy policy(const char* name, Labels selector, uint32_t threshold, uint64_t revision = 1) {
  return Policy{name, std::move(selector), profile(threshold), revision};
}

const Labels kPayments = {{"org", "acme"}, {"type", "server"}, {"dept", "payments"}};

TEST(PolicyResolver, DefaultWhenNothingMatches) {
  PolicyResolver r(profile(200));
  ASSERT_OK(r.set(policy("other", {{"org", "globex"}}, 10)));
  auto p = r.resolve("web-1", kPayments);
  EXPECT_EQ(p.name, "default");
  EXPECT_EQ(p.threshold, 200u);
}

TEST(PolicyResolver, MostSpecificLabelWins) {
  PolicyResolver r(profile(200));
  ASSERT_OK(r.set(policy("fleet", {}, 1)));
  EXPECT_EQ(r.resolve("web-1", kPayments).name, "fleet");
  ASSERT_OK(r.set(policy("acme", {{"org", "acme"}}, 2)));
  EXPECT_EQ(r.resolve("web-1", kPayments).name, "acme");
  ASSERT_OK(r.set(policy("servers", {{"type", "server"}}, 3)));
  EXPECT_EQ(r.resolve("web-1", kPayments).name, "servers");
  // Two labels of lower rank do not beat one of higher rank.
  ASSERT_OK(r.set(policy("acme-servers", {{"org", "acme"}, {"type", "server"}}, 4)));
  EXPECT_EQ(r.resolve("web-1", kPayments).name, "acme-servers");
  ASSERT_OK(r.set(policy("payments", {{"dept", "payments"}}, 5)));
  EXPECT_EQ(r.resolve("web-1", kPayments).name, "payments");
  ASSERT_OK(r.set(policy("web-1-only", {{"name", "web-1"}}, 6)));
  auto p = r.resolve("web-1", kPayments);
  EXPECT_EQ(p.name, "web-1-only");
  EXPECT_EQ(p.threshold, 6u);
  // web-2 in the same department gets the department's.
  EXPECT_EQ(r.resolve("web-2", kPayments).name, "payments");
  // A selector with a label the endpoint lacks does not match.
  EXPECT_EQ(r.resolve("web-3", {{"org", "acme"}}).name, "acme");
}

TEST(PolicyResolver, TiesGoToTheNewestThenTheSmallestName) {
  PolicyResolver r(profile(200));
  ASSERT_OK(r.set(policy("b-payments", {{"dept", "payments"}}, 1, /*revision=*/5)));
  ASSERT_OK(r.set(policy("c-payments", {{"dept", "payments"}}, 2, /*revision=*/7)));
  EXPECT_EQ(r.resolve("x", kPayments).name, "c-payments");
  ASSERT_OK(r.set(policy("a-payments", {{"dept", "payments"}}, 3, /*revision=*/7)));
  EXPECT_EQ(r.resolve("x", kPayments).name, "a-payments");
  EXPECT_TRUE(r.remove("a-payments"));
  EXPECT_FALSE(r.remove("a-payments"));
  EXPECT_EQ(r.resolve("x", kPayments).name, "c-payments");
}

TEST(PolicyResolver, RejectsBadPolicies) {
  PolicyResolver r(profile(200));
  EXPECT_ERROR(r.set(policy("x", {{"region", "eu"}}, 1)), Errc::kInvalidArgument);
  EXPECT_ERROR(r.set(policy("x", {{"dept", ""}}, 1)), Errc::kInvalidArgument);
  EXPECT_ERROR(r.set(policy("", {}, 1)), Errc::kInvalidArgument);
  EXPECT_ERROR(r.set(policy("default", {}, 1)), Errc::kInvalidArgument);
  EXPECT_ERROR(r.set(policy("x", {}, 0)), Errc::kInvalidArgument);
  Policy long_window = policy("x", {}, 1);
  long_window.profile.window_ms = 3600 * 1000 + 1;
  EXPECT_ERROR(r.set(long_window), Errc::kInvalidArgument);
  EXPECT_TRUE(r.list().empty());
  EXPECT_ERROR(validateLabels({{"name", "x"}}), Errc::kInvalidArgument);
  EXPECT_OK(validateLabels(kPayments));
}

}  // namespace
}  // namespace sg::console
