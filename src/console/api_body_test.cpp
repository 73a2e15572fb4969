// The REST API's strict parsers on their own (the handlers' tests are in
// api_test.cpp).
#include "console/api_body.h"

#include <gtest/gtest.h>

#include "test_helpers.h"

namespace sg::console::api {
namespace {

TEST(ApiBody, PercentDecode) {
  EXPECT_EQ(*percentDecode("10.0.0.0%2F8"), "10.0.0.0/8");
  EXPECT_EQ(*percentDecode("a%2fb%3A"), "a/b:");
  EXPECT_EQ(*percentDecode("a+b"), "a+b");
  EXPECT_ERROR(percentDecode("%"), Errc::kInvalidArgument);
  EXPECT_ERROR(percentDecode("%2"), Errc::kInvalidArgument);
  EXPECT_ERROR(percentDecode("ab%g0"), Errc::kInvalidArgument);
}

TEST(ApiBody, QueryParsing) {
  auto q = parseQuery("after=5&&limit=10", {"after", "limit"});
  ASSERT_OK(q);
  EXPECT_EQ(q->at("after"), "5");
  EXPECT_EQ(q->at("limit"), "10");
  EXPECT_TRUE(parseQuery("", {})->empty());
  EXPECT_EQ(parseQuery("all", {"all"})->at("all"), "");
  EXPECT_ERROR(parseQuery("x=1", {"all"}), Errc::kInvalidArgument);
  EXPECT_ERROR(parseQuery("all=1&all=2", {"all"}), Errc::kInvalidArgument);
}

TEST(ApiBody, UintsAndBools) {
  EXPECT_EQ(*parseUint("0", "n", 10), 0u);
  EXPECT_EQ(*parseUint("10", "n", 10), 10u);
  for (const char* bad : {"", "11", "+1", "-1", " 1", "1 ", "0x1", "1e3"}) {
    EXPECT_ERROR(parseUint(bad, "n", 10), Errc::kInvalidArgument);
  }
  EXPECT_TRUE(*parseBool("true", "b"));
  EXPECT_FALSE(*parseBool("false", "b"));
  EXPECT_ERROR(parseBool("1", "b"), Errc::kInvalidArgument);
}

TEST(ApiBody, EmptyBodyIsAnEmptyObject) {
  EXPECT_OK(parseEmptyBody(""));
  EXPECT_OK(parseEmptyBody(" \n"));
  EXPECT_OK(parseEmptyBody("{}"));
  EXPECT_ERROR(parseEmptyBody("{\"a\":1}"), Errc::kInvalidArgument);
  EXPECT_ERROR(parseEmptyBody("null"), Errc::kInvalidArgument);
  EXPECT_EQ(*parseIsolateBody(""), "");
  EXPECT_ERROR(parseBlockBody(""), Errc::kInvalidArgument);  // source is required
}

TEST(ApiBody, DuplicateKeysInNestedObjects) {
  auto r = parsePolicyBody("p", R"({"selector":{"dept":"a","dept":"b"}})");
  EXPECT_ERROR(r, Errc::kInvalidArgument);
  EXPECT_NE(r.error().message().find("twice"), std::string::npos);
  // The same key in sibling objects is fine.
  EXPECT_OK(parseEnrollmentTokenBody(R"({"labels":{"org":"a"},"ttl":"1h"})"));
}

TEST(ApiBody, BlockBodyCanonicalSource) {
  auto b = parseBlockBody(R"({"source":"2001:db8::/32","ttl":"1m30s"})");
  ASSERT_OK(b);
  EXPECT_EQ(b->source.bits, 32 + 0);
  EXPECT_EQ(b->ttl, std::optional<Nanos>(std::chrono::seconds(90)));
}

}  // namespace
}  // namespace sg::console::api
