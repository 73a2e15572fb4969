#include "agent/control_protocol.h"

#include <gtest/gtest.h>

#include "test_helpers.h"

namespace sg::agent {
namespace {

TEST(ControlProtocol, RoundTrips) {
  ControlRequest req{ControlCmd::kBlock, *parseAddress("192.0.2.7"), 600000};
  auto back = parseControlRequest(encodeControlRequest(req));
  ASSERT_OK(back);
  EXPECT_EQ(back->cmd, ControlCmd::kBlock);
  EXPECT_EQ(back->src.str(), "192.0.2.7");
  EXPECT_EQ(back->for_ms, 600000u);
  auto status = parseControlRequest(R"({"cmd":"status"})");
  ASSERT_OK(status);
  EXPECT_EQ(status->cmd, ControlCmd::kStatus);
}

TEST(ControlProtocol, SrcMayBeAPrefix) {
  auto v4 = parseControlRequest(R"({"cmd":"block","src":"198.51.100.0/24","for_ms":60000})");
  ASSERT_OK(v4);
  ASSERT_TRUE(v4->prefix.has_value());
  EXPECT_EQ(v4->prefix->str(), "198.51.100.0/24");
  EXPECT_EQ(v4->for_ms, 60000u);
  auto v6 = parseControlRequest(R"({"cmd":"unblock","src":"2001:db8::/32"})");
  ASSERT_OK(v6);
  EXPECT_EQ(v6->cmd, ControlCmd::kUnblock);
  ASSERT_TRUE(v6->prefix.has_value());
  EXPECT_EQ(v6->prefix->str(), "2001:db8::/32");
  auto plain = parseControlRequest(R"({"cmd":"block","src":"192.0.2.7"})");
  ASSERT_OK(plain);
  EXPECT_FALSE(plain->prefix.has_value());

  ControlRequest req{ControlCmd::kBlock, {}, 0, true, *parsePrefix("2001:db8::/32")};
  auto back = parseControlRequest(encodeControlRequest(req));
  ASSERT_OK(back);
  ASSERT_TRUE(back->prefix.has_value());
  EXPECT_EQ(*back->prefix, *req.prefix);
  EXPECT_TRUE(back->permanent);
}

TEST(ControlProtocol, RejectsBadRequestsWithReasons) {
  struct Case {
    const char* line;
    const char* says;
  } cases[] = {
      {"", "not valid JSON"},
      {"[1,2]", "not a JSON object"},
      {R"({"cmd":5})", "no string \"cmd\""},
      {R"({"cmd":"explode"})", "unknown cmd 'explode'"},
      {R"({"cmd":"block"})", "needs a string \"src\""},
      {R"({"cmd":"block","src":"300.1.1.1"})", "src"},
      {R"({"cmd":"block","src":"192.0.2.1","for_ms":-5})", "for_ms"},
      {R"({"cmd":"block","src":"192.0.2.1","for_ms":0})", "for_ms"},
      {R"({"cmd":"block","src":"192.0.2.1","for_ms":"1m"})", "for_ms"},
      {R"({"cmd":"block","src":"198.51.100.1/24"})", "host bits set"},
      {R"({"cmd":"block","src":"198.51.100.0/33"})", "out of range"},
      {R"({"cmd":"unblock","src":"2001:db8::/"})", "missing prefix length"},
  };
  for (const auto& c : cases) {
    auto r = parseControlRequest(c.line);
    ASSERT_FALSE(r.ok()) << c.line;
    EXPECT_EQ(r.error().code(), Errc::kInvalidArgument);
    EXPECT_NE(r.error().message().find(c.says), std::string::npos)
        << c.line << " -> " << r.error().message();
  }
  EXPECT_ERROR(parseControlRequest(std::string(kMaxControlLine + 1, ' ')), Errc::kInvalidArgument);
}

TEST(ControlProtocol, DeepNestingUpToTheLineLimitIsRejectedWithoutCrashing) {
  // The fuzzer's inputs stop at 4 KiB; a request line may be 64 KiB deep.
  const size_t depth = kMaxControlLine / 2;
  std::string nested = std::string(depth, '[') + std::string(depth, ']');
  EXPECT_ERROR(parseControlRequest(nested), Errc::kInvalidArgument);
  std::string objects;
  for (size_t i = 0; i < kMaxControlLine / 8; i++) objects += "{\"a\":";
  objects += "1" + std::string(kMaxControlLine / 8, '}');
  EXPECT_ERROR(parseControlRequest(objects), Errc::kInvalidArgument);
}

}  // namespace
}  // namespace sg::agent
