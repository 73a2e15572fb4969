// Malformed frames: never counted as attempts, never dropped, never a crash
// (the verifier guarantees the last; these check the first two and the
// counters). Frames shorter than 14 bytes cannot be test-run (the kernel
// refuses them), so the shortest case is a bare Ethernet header.
#include "bpf/kernel_fixture.h"

namespace sg::test {
namespace {

using MalformedTest = KernelTest;

std::vector<uint8_t> truncated(std::vector<uint8_t> f, size_t len) {
  f.resize(len);
  return f;
}

struct Case {
  std::string name;
  std::vector<uint8_t> frame;
};

std::vector<Case> malformedCases() {
  std::vector<Case> cases;
  const Frame v4 = buildFrame(synFrom("192.0.2.1"));
  const Frame v6 = buildFrame(synFrom("2001:db8::1"));
  PacketSpec ext_spec = synFrom("2001:db8::1");
  ext_spec.v6_ext = {kExtHop, kExtDstOpts};
  const Frame v6ext = buildFrame(ext_spec);
  PacketSpec vlan_spec = synFrom("192.0.2.1");
  vlan_spec.vlan_tpids = {0x88a8, 0x8100};
  const Frame qinq = buildFrame(vlan_spec);

  cases.push_back({"bare ethernet header, IPv4 type", truncated(v4.bytes, 14)});
  cases.push_back({"IPv4 header cut at 19 bytes", truncated(v4.bytes, v4.l3 + 19)});
  cases.push_back({"QinQ cut inside the second tag", truncated(qinq.bytes, 20)});
  {
    Frame f = v4;
    f.bytes[f.l3] = 0x44;  // IHL 4 (< 5)
    cases.push_back({"IPv4 IHL 4", f.bytes});
  }
  {
    Frame f = v4;
    f.bytes[f.l3] = 0x4f;  // IHL 15: options run past the frame's TCP header
    cases.push_back({"IPv4 IHL 15 past the end", f.bytes});
  }
  {
    Frame f = v4;
    f.bytes[f.l3] = 0x55;  // version 5
    cases.push_back({"IP version 5 under IPv4 type", f.bytes});
  }
  {
    Frame f = v4;
    f.bytes[f.l3 + 2] = 0;
    f.bytes[f.l3 + 3] = 10;  // total length 10 < IHL
    cases.push_back({"IPv4 total length below IHL", f.bytes});
  }
  {
    Frame f = v4;
    f.bytes[f.l4 + 12] = 0x40;  // doff 4
    cases.push_back({"TCP doff 4", f.bytes});
  }
  cases.push_back({"TCP header cut at 19 bytes", truncated(v4.bytes, v4.l4 + 19)});
  cases.push_back({"IPv6 header cut at 39 bytes", truncated(v6.bytes, v6.l3 + 39)});
  {
    Frame f = v6;
    f.bytes[f.l3] = 0x40;  // version 4 under the IPv6 type
    cases.push_back({"IP version 4 under IPv6 type", f.bytes});
  }
  cases.push_back({"IPv6 extension header cut", truncated(v6ext.bytes, v6ext.l3 + 40 + 12)});
  {
    Frame f = v6ext;
    f.bytes[f.l3 + 40 + 1] = 200;  // hop-by-hop length far past the end
    cases.push_back({"IPv6 extension length past the end", f.bytes});
  }
  cases.push_back({"IPv6 TCP header cut", truncated(v6.bytes, v6.l4 + 10)});
  return cases;
}

TEST_F(MalformedTest, NeverCountedNeverDropped) {
  uint64_t malformed = 0;
  for (const Case& c : malformedCases()) {
    SCOPED_TRACE(c.name);
    // Far more than the threshold: a malformed SYN must never add up.
    for (uint32_t i = 0; i < 2 * cfg_.threshold + 2; i++) {
      ASSERT_EQ(sendBytes(c.frame), XDP_PASS);
    }
    malformed += 2 * cfg_.threshold + 2;
    EXPECT_EQ(counter(SG_CNT_MALFORMED), malformed);
    EXPECT_EQ(counter(SG_CNT_SYN), 0u);
  }
  auto blocks = sensor_->listBlocks();
  ASSERT_OK(blocks);
  EXPECT_TRUE(blocks->empty());
  EXPECT_EQ(counter(SG_CNT_SOURCES_NEW), 0u);
}

TEST_F(MalformedTest, MalformedPacketsOfABlockedSourceAreDropped) {
  // A source that is blocked loses its malformed packets too: the source
  // address was read before the inconsistency.
  synBurst("192.0.2.1", cfg_.threshold + 1);
  Frame f = buildFrame(synFrom("192.0.2.1"));
  f.bytes[f.l4 + 12] = 0x40;
  EXPECT_EQ(sendBytes(f.bytes), XDP_DROP);
}

TEST_F(MalformedTest, WellFormedVariantsAreAttempts) {
  // The same parser paths, well formed: IPv4 options, TCP options, IPv6
  // extension headers including a first fragment (offset 0).
  PacketSpec opts = synFrom("192.0.2.2");
  opts.ip_options = 40;
  opts.tcp_options = 20;
  EXPECT_EQ(send(opts), XDP_PASS);
  PacketSpec ext = synFrom("2001:db8::2");
  ext.v6_ext = {kExtHop, kExtRouting, kExtDstOpts};
  EXPECT_EQ(send(ext), XDP_PASS);
  PacketSpec first = synFrom("2001:db8::3");
  first.v6_ext = {kExtFragment};
  first.more_fragments = true;
  EXPECT_EQ(send(first), XDP_PASS);
  PacketSpec later = first;
  later.frag_offset = 100;
  EXPECT_EQ(send(later), XDP_PASS);
  EXPECT_EQ(counter(SG_CNT_SYN), 3u);
  EXPECT_EQ(counter(SG_CNT_FRAGMENTS), 1u);
  EXPECT_EQ(counter(SG_CNT_MALFORMED), 0u);
}

}  // namespace
}  // namespace sg::test
