#include "agent/config_apply.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "test_helpers.h"

namespace sg::agent {
namespace {

bool has(const std::vector<Prefix>& v, const std::string& text) {
  return std::find(v.begin(), v.end(), *parsePrefix(text)) != v.end();
}

TEST(ConfigApply, Ipv6PrefixIsRestartOnlyAndKeptRunning) {
  AgentConfig running;
  AgentConfig next = running;
  next.ipv6_prefix = 48;
  next.threshold = running.threshold + 1;
  auto changed = keepRestartOnly(running, &next);
  ASSERT_EQ(changed.size(), 1u);
  EXPECT_EQ(changed[0], "ipv6_prefix");
  EXPECT_EQ(next.ipv6_prefix, running.ipv6_prefix) << "existing IPv6 blocks are keyed by it";
  EXPECT_EQ(next.threshold, running.threshold + 1) << "live fields pass";
}

TEST(ConfigApply, HostAddressesStayExactOperatorEntriesAreWidened) {
  AgentConfig cfg;
  cfg.ipv6_prefix = 64;
  cfg.allow = {*parsePrefix("2001:db8:1:2::99/128")};
  std::vector<Prefix> implicit = {*parsePrefix("2001:db8:5:6::1/128"),
                                  *parsePrefix("192.0.2.1/32")};
  auto allow = kernelAllowlist(cfg, implicit);
  EXPECT_TRUE(has(allow, "2001:db8:1:2::/64")) << "an --allow entry covers what would be blocked";
  EXPECT_TRUE(has(allow, "2001:db8:5:6::1/128"));
  EXPECT_FALSE(has(allow, "2001:db8:5:6::/64")) << "the host's /64 neighbours stay blockable";
  EXPECT_TRUE(has(allow, "192.0.2.1/32"));
}

}  // namespace
}  // namespace sg::agent
