// source_response (challenge instead of block, bpf/sg_challenge.h): its
// default, its TOML key, its check against the enforcer, and what the kernel
// is given.
#include <gtest/gtest.h>

#include "core/config.h"
#include "core/kernel_config.h"
#include "sg_challenge.h"
#include "test_helpers.h"

namespace sg {
namespace {

TEST(SourceResponseConfig, DefaultsToBlock) {
  AgentConfig c;
  EXPECT_EQ(c.source_response, SourceResponse::kBlock);
  EXPECT_EQ(toKernelConfig(c).source_response, SG_RESPONSE_BLOCK);
  EXPECT_STREQ(sourceResponseName(c.source_response), "block");
}

TEST(SourceResponseConfig, ChallengeFromTomlReachesTheKernel) {
  auto c = parseConfigToml("source_response = \"challenge\"\n", "test.toml");
  ASSERT_OK(c);
  EXPECT_EQ(c->source_response, SourceResponse::kChallenge);
  EXPECT_OK(validateConfig(*c));
  EXPECT_EQ(toKernelConfig(*c).source_response, SG_RESPONSE_CHALLENGE);
  EXPECT_STREQ(sourceResponseName(c->source_response), "challenge");
}

TEST(SourceResponseConfig, UnknownValuesAreRejected) {
  EXPECT_ERROR(parseSourceResponse("cookie"), Errc::kInvalidArgument);
  auto c = parseConfigToml("source_response = \"drop\"\n", "test.toml");
  EXPECT_FALSE(c.ok());
}

TEST(SourceResponseConfig, ChallengeNeedsTheXdpEnforcer) {
  AgentConfig c;
  c.source_response = SourceResponse::kChallenge;
  for (EnforcerKind e : {EnforcerKind::kNftables, EnforcerKind::kNone}) {
    c.enforcer = e;
    auto r = validateConfig(c);
    EXPECT_ERROR(r, Errc::kInvalidArgument);
    EXPECT_NE(r.error().message().find("source_response"), std::string::npos);
  }
}

}  // namespace
}  // namespace sg
