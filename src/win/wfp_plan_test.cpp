#include "win/wfp_plan.h"

#include <gtest/gtest.h>

#include "test_helpers.h"

namespace sg::win {
namespace {

Prefix prefix(const char* text) {
  auto p = parsePrefix(text);
  EXPECT_TRUE(p.ok()) << text;
  return p.ok() ? *p : Prefix{};
}

TEST(WfpPlan, AnIpv4HostIsOneUint32InHostOrder) {
  const RemoteCondition c = remoteCondition(prefix("192.0.2.7"));
  EXPECT_EQ(c.kind, RemoteCondition::Kind::kV4Address);
  EXPECT_EQ(c.v4, 0xc0000207u);
}

TEST(WfpPlan, AnIpv4PrefixIsAddressAndMask) {
  const RemoteCondition c = remoteCondition(prefix("198.51.100.0/24"));
  EXPECT_EQ(c.kind, RemoteCondition::Kind::kV4Mask);
  EXPECT_EQ(c.v4, 0xc6336400u);
  EXPECT_EQ(c.v4_mask, 0xffffff00u);
  EXPECT_EQ(remoteCondition(prefix("0.0.0.0/0")).v4_mask, 0u);
  EXPECT_EQ(remoteCondition(prefix("128.0.0.0/1")).v4_mask, 0x80000000u);
}

TEST(WfpPlan, Ipv6HostsAndPrefixes) {
  const RemoteCondition host = remoteCondition(prefix("2001:db8::1"));
  EXPECT_EQ(host.kind, RemoteCondition::Kind::kV6Address);
  EXPECT_EQ(host.v6[0], 0x20);
  EXPECT_EQ(host.v6[15], 0x01);
  const RemoteCondition net = remoteCondition(prefix("2001:db8:1:2::/64"));
  EXPECT_EQ(net.kind, RemoteCondition::Kind::kV6Prefix);
  EXPECT_EQ(net.v6_prefix, 64);
  EXPECT_EQ(net.v6[7], 0x02);
}

TEST(WfpPlan, ABlockIsAcceptAndInboundTransportOfItsFamily) {
  auto v4 = planBlock(prefix("192.0.2.7"));
  ASSERT_EQ(v4.size(), 2u);
  EXPECT_EQ(v4[0].layer, WfpLayer::kAleRecvAcceptV4);
  EXPECT_EQ(v4[1].layer, WfpLayer::kInboundTransportV4);
  for (const auto& f : v4) {
    EXPECT_EQ(f.action, WfpAction::kBlock);
    EXPECT_EQ(f.weight, kWeightBlock);
    EXPECT_EQ(f.remote->str(), "192.0.2.7/32");
  }
  auto v6 = planBlock(keyPrefix(*parseAddress("2001:db8:1:2::"), 64));
  ASSERT_EQ(v6.size(), 2u);
  EXPECT_EQ(v6[0].layer, WfpLayer::kAleRecvAcceptV6);
  EXPECT_EQ(v6[1].layer, WfpLayer::kInboundTransportV6);
  EXPECT_EQ(v6[0].remote->str(), "2001:db8:1:2::/64");
}

TEST(WfpPlan, TheAllowlistOutweighsBlocks) {
  auto allow = planAllow({prefix("10.0.0.0/8"), prefix("::1")});
  ASSERT_EQ(allow.size(), 4u);
  for (const auto& f : allow) {
    EXPECT_EQ(f.action, WfpAction::kPermit);
    EXPECT_GT(f.weight, kWeightBlock);
  }
  EXPECT_EQ(allow[2].layer, WfpLayer::kAleRecvAcceptV6);
}

TEST(WfpPlan, IsolationPermitsConsoleAllowAndLoopbackOverABlockOfAll) {
  auto spec = parseIsolationSpec({"192.0.2.1"}, {"198.51.100.0/24"});
  ASSERT_OK(spec);
  auto plan = planIsolation(*spec);
  // 4 peers (console, allow, 127/8, ::1) x 4 layers of their family + 8 blocks.
  ASSERT_EQ(plan.size(), 4u * 4 + 8);
  size_t blocks = 0;
  for (const auto& f : plan) {
    if (f.action == WfpAction::kBlock) {
      blocks++;
      EXPECT_FALSE(f.remote.has_value());
      EXPECT_EQ(f.weight, kWeightIsolationBlock);
    } else {
      ASSERT_TRUE(f.remote.has_value());
      EXPECT_EQ(isV6Layer(f.layer), !f.remote->addr.isV4());
      EXPECT_GT(f.weight, kWeightIsolationBlock);
    }
  }
  EXPECT_EQ(blocks, 8u);
  EXPECT_EQ(plan[0].remote->str(), "192.0.2.1/32");
}

}  // namespace
}  // namespace sg::win
