// Prefix blocks (bpf/sg_prefix.h) through the loaded program: a source inside
// a blocked prefix is dropped from its first packet, for IPv4 and IPv6; the
// allowlist wins; expired, handed-off and outside sources pass; block_scope
// decides what is dropped, as for a per-source block; the gate follows the
// tries.
#include "bpf/kernel_fixture.h"

namespace sg::test {
namespace {

class PrefixBlockTest : public KernelTest {
 protected:
  sg_prefix_block live(uint8_t flags = SG_BLK_XDP_DROP | SG_BLK_MANUAL) {
    sg_prefix_block b{};
    b.added_ns = sensor_->kernelNowNs();
    b.expires_ns = b.added_ns + 60'000'000'000ull;
    b.flags = flags;
    return b;
  }
  Prefix prefix(const char* text) {
    auto p = parsePrefix(text);
    EXPECT_OK(p);
    return p.ok() ? *p : Prefix{};
  }
  uint64_t dropsOf(const char* text) {
    auto all = sensor_->listPrefixBlocks();
    EXPECT_OK(all);
    if (!all.ok()) return 0;
    for (const auto& kb : *all) {
      if (kb.prefix == prefix(text)) return kb.block.drops;
    }
    ADD_FAILURE() << text << " is not listed";
    return 0;
  }
};

TEST_F(PrefixBlockTest, Ipv4SourceInsideIsDroppedFromItsFirstSynOutsidePasses) {
  ASSERT_OK(sensor_->addPrefixBlock(prefix("198.51.100.0/24"), live()));
  EXPECT_EQ(send(synFrom("198.51.100.77")), XDP_DROP) << "the first SYN of a never-seen source";
  EXPECT_EQ(send(synFrom("198.51.100.1")), XDP_DROP);
  EXPECT_EQ(send(synFrom("198.51.101.1")), XDP_PASS) << "outside the /24";
  EXPECT_EQ(send(synFrom("2001:db8::1")), XDP_PASS) << "another family";
  EXPECT_EQ(counter(SG_CNT_PREFIX_DROPPED), 2u);
  EXPECT_EQ(counter(SG_CNT_DROPPED), 2u);
  EXPECT_EQ(dropsOf("198.51.100.0/24"), 2u);
  EXPECT_EQ(counter(SG_CNT_SYN), 2u) << "the two that passed; a dropped attempt is not counted";
  EXPECT_FALSE(isBlocked("198.51.100.77")) << "no per-source block was needed";
}

TEST_F(PrefixBlockTest, Ipv6SourceInsideIsDroppedOutsidePasses) {
  ASSERT_OK(sensor_->addPrefixBlock(prefix("2001:db8::/32"), live()));
  EXPECT_EQ(send(synFrom("2001:db8:ffff:1::9")), XDP_DROP);
  EXPECT_EQ(send(synFrom("2001:db9::9")), XDP_PASS);
  EXPECT_EQ(send(synFrom("198.51.100.1")), XDP_PASS);
  EXPECT_EQ(counter(SG_CNT_PREFIX_DROPPED), 1u);
}

TEST_F(PrefixBlockTest, TheLongestPrefixDecidesAndOverlapsAreHeldApart) {
  ASSERT_OK(sensor_->addPrefixBlock(prefix("10.0.0.0/8"), live()));
  ASSERT_OK(sensor_->addPrefixBlock(prefix("10.1.0.0/16"), live()));
  EXPECT_EQ(send(synFrom("10.1.2.3")), XDP_DROP);
  EXPECT_EQ(dropsOf("10.1.0.0/16"), 1u);
  EXPECT_EQ(dropsOf("10.0.0.0/8"), 0u);
  auto gone = sensor_->removePrefixBlock(prefix("10.1.0.0/16"));
  ASSERT_OK(gone);
  EXPECT_TRUE(*gone);
  EXPECT_EQ(send(synFrom("10.1.2.3")), XDP_DROP) << "the /8 still covers it";
  EXPECT_EQ(dropsOf("10.0.0.0/8"), 1u);
}

TEST_F(PrefixBlockTest, TheAllowlistWins) {
  ASSERT_OK(sensor_->setAllowlist({prefix("198.51.100.7/32"), prefix("2001:db8:5::/48")}));
  ASSERT_OK(sensor_->addPrefixBlock(prefix("198.51.100.0/24"), live()));
  ASSERT_OK(sensor_->addPrefixBlock(prefix("2001:db8::/32"), live()));
  EXPECT_EQ(send(synFrom("198.51.100.7")), XDP_PASS);
  EXPECT_EQ(send(synFrom("198.51.100.8")), XDP_DROP);
  EXPECT_EQ(send(synFrom("2001:db8:5:1::1")), XDP_PASS);
  EXPECT_EQ(send(synFrom("2001:db8:6::1")), XDP_DROP);
  EXPECT_EQ(counter(SG_CNT_PREFIX_ALLOWLISTED), 2u);
}

// The allowlist changes under existing prefix blocks (a host address
// appears, SIGHUP): a hit checks it only where an entry overlaps the prefix,
// and the sensor keeps that mark in step with every allowlist it writes.
TEST_F(PrefixBlockTest, AnAllowlistChangeReachesExistingPrefixBlocks) {
  ASSERT_OK(sensor_->addPrefixBlock(prefix("198.51.100.0/24"), live()));
  EXPECT_EQ(send(synFrom("198.51.100.7")), XDP_DROP);
  ASSERT_OK(sensor_->setAllowlist({prefix("198.51.100.7/32")}));
  EXPECT_EQ(send(synFrom("198.51.100.7")), XDP_PASS);
  EXPECT_EQ(send(synFrom("198.51.100.8")), XDP_DROP);
  ASSERT_OK(sensor_->setAllowlist({prefix("198.51.0.0/16")}));  // covers the whole prefix
  EXPECT_EQ(send(synFrom("198.51.100.8")), XDP_PASS);
  ASSERT_OK(sensor_->setAllowlist({prefix("203.0.113.0/24")}));  // elsewhere
  EXPECT_EQ(send(synFrom("198.51.100.7")), XDP_DROP);
  auto listed = sensor_->listPrefixBlocks();
  ASSERT_OK(listed);
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_FALSE((*listed)[0].block.flags & SG_PFX_ALLOW_CHECK)
      << "no entry overlaps it: a hit drops without the allowlist lookup";
}

TEST_F(PrefixBlockTest, ExpiredHandedOffAndDetectOnlyBlocksPass) {
  sg_prefix_block expired = live();
  expired.expires_ns = sensor_->kernelNowNs() - 1'000'000'000ull;
  ASSERT_OK(sensor_->addPrefixBlock(prefix("203.0.113.0/24"), expired));
  EXPECT_EQ(send(synFrom("203.0.113.5")), XDP_PASS) << "the kernel ignores an expired block";
  ASSERT_OK(
      sensor_->addPrefixBlock(prefix("192.0.2.0/24"), live(SG_BLK_XDP_DROP | SG_BLK_HANDED_OFF)));
  EXPECT_EQ(send(synFrom("192.0.2.5")), XDP_PASS) << "nftables holds it";
  ASSERT_OK(sensor_->addPrefixBlock(prefix("100.64.0.0/10"), live(SG_BLK_MANUAL)));
  EXPECT_EQ(send(synFrom("100.64.0.5")), XDP_PASS) << "not an XDP-dropping block";
  sg_prefix_block permanent = live();
  permanent.expires_ns = ~0ull;
  ASSERT_OK(sensor_->addPrefixBlock(prefix("203.0.113.0/24"), permanent));
  EXPECT_EQ(send(synFrom("203.0.113.5")), XDP_DROP) << "replaced by a permanent block";
  EXPECT_EQ(counter(SG_CNT_PREFIX_DROPPED), 1u);
}

TEST_F(PrefixBlockTest, ScopeAttemptsDropsOnlyAttemptsScopeAllEveryPacket) {
  sg_config c = cfg_;
  c.block_scope = SG_SCOPE_ATTEMPTS;
  setConfig(c);
  ASSERT_OK(sensor_->addPrefixBlock(prefix("198.51.100.0/24"), live()));
  ASSERT_OK(sensor_->addPrefixBlock(prefix("2001:db8::/32"), live()));
  for (const char* src : {"198.51.100.9", "2001:db8::9"}) {
    EXPECT_EQ(send(synFrom(src)), XDP_DROP) << src;
    EXPECT_EQ(send(ackFrom(src)), XDP_PASS) << src;
    EXPECT_EQ(send(udpFrom(src)), XDP_PASS) << src;
  }
  c.block_scope = SG_SCOPE_ALL;  // at run time, no reload
  setConfig(c);
  for (const char* src : {"198.51.100.9", "2001:db8::9"}) {
    EXPECT_EQ(send(ackFrom(src)), XDP_DROP) << src;
    EXPECT_EQ(send(udpFrom(src)), XDP_DROP) << src;
  }
  EXPECT_EQ(counter(SG_CNT_PREFIX_DROPPED), 6u);
}

TEST_F(PrefixBlockTest, TheGateFollowsTheTriesAndBadLengthsAreRefused) {
  EXPECT_EQ(sensor_->prefixGate(), 0u) << "no prefix block: no packet looks one up";
  ASSERT_OK(sensor_->addPrefixBlock(prefix("198.51.100.0/24"), live()));
  EXPECT_EQ(sensor_->prefixGate(), SG_PREFIX_V4);
  ASSERT_OK(sensor_->addPrefixBlock(prefix("2001:db8::/32"), live()));
  EXPECT_EQ(sensor_->prefixGate(), SG_PREFIX_V4 | SG_PREFIX_V6);
  auto gone = sensor_->removePrefixBlock(prefix("198.51.100.0/24"));
  ASSERT_OK(gone);
  EXPECT_TRUE(*gone);
  EXPECT_EQ(sensor_->prefixGate(), SG_PREFIX_V6);
  EXPECT_EQ(send(synFrom("198.51.100.9")), XDP_PASS);
  gone = sensor_->removePrefixBlock(prefix("198.51.100.0/24"));
  ASSERT_OK(gone);
  EXPECT_FALSE(*gone);
  ASSERT_OK(sensor_->removePrefixBlock(prefix("2001:db8::/32")));
  EXPECT_EQ(sensor_->prefixGate(), 0u);
  for (const char* bad : {"198.51.100.7/32", "0.0.0.0/0", "2001:db8::1/128", "::/0"}) {
    SCOPED_TRACE(bad);
    EXPECT_ERROR(sensor_->addPrefixBlock(prefix(bad), live()), Errc::kInvalidArgument);
  }
}

class SmallPrefixTableTest : public PrefixBlockTest {
 protected:
  SensorOptions sensorOptions() const override {
    SensorOptions o;
    o.max_prefix_blocks = 2;
    return o;
  }
};

TEST_F(SmallPrefixTableTest, AFullTableIsRefusedWithItsLimit) {
  ASSERT_OK(sensor_->addPrefixBlock(prefix("10.0.0.0/8"), live()));
  ASSERT_OK(sensor_->addPrefixBlock(prefix("172.16.0.0/12"), live()));
  auto r = sensor_->addPrefixBlock(prefix("192.168.0.0/16"), live());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Errc::kResourceExhausted);
  EXPECT_NE(r.error().message().find("max_prefix_blocks"), std::string::npos)
      << r.error().message();
  EXPECT_OK(sensor_->addPrefixBlock(prefix("10.0.0.0/8"), live()));  // replacing fits
}

}  // namespace
}  // namespace sg::test
