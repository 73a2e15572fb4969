// Review s18 M2: the challenge's judge (bpf/sg_challenge.h) reads untagged
// IPv4 without options and IPv6 without extension headers. A challenged
// source that put four NOPs in its third packet's IP header, an IPv6
// destination-options header in front of its TCP header, or sent the third
// packet in fragments, had it passed to SYNPROXY uncounted: as many
// completions as it liked past the connection threshold. Such a packet of an
// armed challenged source is now dropped and counted
// (challenge_shape_dropped_total); anyone else's is passed as before, and a
// challenged source's traffic that is not TCP is not touched.
#include <linux/bpf.h>

#include <string>
#include <vector>

#include "bpf/challenge_fixture.h"

namespace sg::test {
namespace {

class ChallengeShape : public Challenge {
 protected:
  // The third packet of a handshake opened by `spec`'s SYN (answered with
  // `synack`), rebuilt in `odd`'s shape: the same addresses, ports and
  // numbers, so the cookie checks out wherever the judge finds it.
  static std::vector<uint8_t> thirdPacketAs(const PacketSpec& spec, const TestOutput& synack,
                                            PacketSpec odd) {
    const size_t synack_l4 = spec.family == 6 ? 14 + 40 : 14 + 20;
    odd.tcp_flags = kAck;
    Frame f = buildFrame(odd);
    put32(f.bytes, f.l4 + 4, spec.seq + 1);
    put32(f.bytes, f.l4 + 8, get32(synack.frame, synack_l4 + 4) + 1);
    return f.bytes;
  }
  // A handshake's SYN from `src` answered with a cookie; returns its spec.
  PacketSpec openedBy(const std::string& src, uint16_t sport, TestOutput* synack) {
    const PacketSpec spec = synSpec(src, sport);
    *synack = run(buildPacket(spec));
    EXPECT_EQ(synack->verdict, static_cast<uint32_t>(XDP_TX)) << src << ":" << sport;
    return spec;
  }
};

TEST_F(ChallengeShape, AThirdPacketWithIpv4OptionsOrFragmentedIsDropped) {
  ASSERT_EQ(cross("192.0.2.1"), 0);
  arm("192.0.2.1");
  TestOutput synack;
  const PacketSpec spec = openedBy("192.0.2.1", 49000, &synack);
  // The control: in the plain shape, the same third packet is a completion.
  PacketSpec options = spec;
  options.ip_options = 4;  // four NOPs
  EXPECT_EQ(run(thirdPacketAs(spec, synack, options)).verdict, static_cast<uint32_t>(XDP_DROP))
      << "IPv4 options";
  PacketSpec first_fragment = spec;
  first_fragment.more_fragments = true;
  first_fragment.payload = 64;
  EXPECT_EQ(run(thirdPacketAs(spec, synack, first_fragment)).verdict,
            static_cast<uint32_t>(XDP_DROP))
      << "first fragment";
  PacketSpec later_fragment = spec;
  later_fragment.frag_offset = 3;
  later_fragment.l4_bytes = 8;  // 42 bytes in all: shorter than any plain TCP segment
  EXPECT_EQ(run(buildPacket(later_fragment)).verdict, static_cast<uint32_t>(XDP_DROP))
      << "non-first fragment";
  PacketSpec syn_with_options = spec;
  syn_with_options.ip_options = 8;
  syn_with_options.sport = 49001;
  EXPECT_EQ(run(buildPacket(syn_with_options)).verdict, static_cast<uint32_t>(XDP_DROP))
      << "a SYN with options";
  EXPECT_EQ(counter(SG_CNT_CHAL_SHAPE_DROPPED), 4u);
  EXPECT_EQ(counter(SG_CNT_CHAL_ACKS_VALID), 0u) << "nothing counted, nothing passed";
  EXPECT_EQ(run(thirdPacketAs(spec, synack, spec)).verdict, static_cast<uint32_t>(XDP_PASS));
  EXPECT_EQ(counter(SG_CNT_CHAL_ACKS_VALID), 1u) << "the plain third packet counts";
}

TEST_F(ChallengeShape, AThirdPacketBehindIpv6ExtensionHeadersIsDropped) {
  ASSERT_EQ(cross("2001:db8:7:7::1"), 0);
  arm("2001:db8:7:7::");
  TestOutput synack;
  const PacketSpec spec = openedBy("2001:db8:7:7::1", 49100, &synack);
  for (const uint8_t ext : {kExtHop, kExtDstOpts, kExtRouting, kExtFragment, kExtAuth}) {
    PacketSpec odd = spec;
    odd.v6_ext = {ext};
    EXPECT_EQ(run(thirdPacketAs(spec, synack, odd)).verdict, static_cast<uint32_t>(XDP_DROP))
        << "extension header " << static_cast<int>(ext);
  }
  EXPECT_EQ(counter(SG_CNT_CHAL_SHAPE_DROPPED), 5u);
  EXPECT_EQ(counter(SG_CNT_CHAL_ACKS_VALID), 0u);
}

TEST_F(ChallengeShape, OthersOddShapesAndAChallengedSourcesOtherProtocolsPass) {
  ASSERT_EQ(cross("192.0.2.1"), 0);
  arm("192.0.2.1");
  // Another source's TCP with options, in fragments, behind an IPv6 header.
  PacketSpec other = ackFrom("192.0.2.2", kPort);
  other.ip_options = 4;
  EXPECT_EQ(run(buildPacket(other)).verdict, static_cast<uint32_t>(XDP_PASS));
  other.ip_options = 0;
  other.more_fragments = true;
  other.payload = 64;
  EXPECT_EQ(run(buildPacket(other)).verdict, static_cast<uint32_t>(XDP_PASS));
  PacketSpec other6 = ackFrom("2001:db8:9::1", kPort);
  other6.family = 6;
  other6.dst = "2001:db8:1::1";
  other6.v6_ext = {kExtDstOpts};
  EXPECT_EQ(run(buildPacket(other6)).verdict, static_cast<uint32_t>(XDP_PASS));
  // The challenged source's UDP, with IP options too: not the challenge's.
  PacketSpec udp = udpFrom("192.0.2.1", 53);
  udp.ip_options = 4;
  EXPECT_EQ(run(buildPacket(udp)).verdict, static_cast<uint32_t>(XDP_PASS));
  EXPECT_EQ(counter(SG_CNT_CHAL_SHAPE_DROPPED), 0u);
}

TEST_F(ChallengeShape, BeforeItIsArmedAChallengedSourcesOddShapesPass) {
  // Until user space has put the source under SYNPROXY, nothing of the
  // challenge applies to it: its SYNs go to the stack as before.
  ASSERT_EQ(cross("192.0.2.1"), 0);
  PacketSpec odd = synSpec("192.0.2.1", 49200);
  odd.ip_options = 4;
  EXPECT_EQ(run(buildPacket(odd)).verdict, static_cast<uint32_t>(XDP_PASS));
  EXPECT_EQ(counter(SG_CNT_CHAL_SHAPE_DROPPED), 0u);
}

}  // namespace
}  // namespace sg::test
