#include "bpf/evasion_cases.h"

#include "bpf/packet_builder.h"
#include "sg_parse.h"

namespace sg::test {
namespace {

// A SYN from `src` with these IPv6 extension headers before TCP.
PacketSpec v6Chain(const std::string& src, std::vector<uint8_t> ext, uint8_t proto = kProtoTcp) {
  PacketSpec s = synFrom(src);
  s.v6_ext = std::move(ext);
  s.proto = proto;
  return s;
}

ShapeCase shape(std::string name, const PacketSpec& s, Expect expect, uint8_t kind) {
  return {std::move(name), s.src, buildPacket(s), expect, kind};
}

}  // namespace

std::vector<ShapeCase> evasionCases() {
  std::vector<ShapeCase> c;
  const auto tiny = Expect::kDropped;

  // IPv4 first fragments (offset 0, MF set).
  PacketSpec f4 = synFrom("10.77.0.1");
  f4.more_fragments = true;
  f4.l4_bytes = 8;  // ports and sequence number only: the flags come later
  c.push_back(shape("IPv4 first fragment with 8 bytes of TCP", f4, tiny, SG_PKT_TINY_FRAGMENT));
  f4.src = "10.77.0.2";
  f4.eth_pad = true;  // the padding must not be read as the rest of the header
  c.push_back(shape("IPv4 tiny first fragment padded to 60 bytes", f4, tiny, SG_PKT_TINY_FRAGMENT));
  f4.src = "10.77.0.3";
  f4.eth_pad = false;
  f4.l4_bytes = 16;  // the flags are there, but not the whole fixed header
  c.push_back(shape("IPv4 first fragment with 16 bytes of TCP", f4, tiny, SG_PKT_TINY_FRAGMENT));
  f4.src = "10.77.0.4";
  f4.l4_bytes = 8;
  f4.ip_options = 40;
  c.push_back(
      shape("IPv4 tiny first fragment behind 40 bytes of options", f4, tiny, SG_PKT_TINY_FRAGMENT));
  PacketSpec whole4 = synFrom("10.77.0.5");
  whole4.more_fragments = true;
  whole4.payload = 200;
  c.push_back(
      shape("IPv4 first fragment carrying a whole SYN", whole4, Expect::kAttempt, SG_PKT_TCP));
  whole4.src = "10.77.0.6";
  whole4.payload = 0;
  whole4.l4_bytes = 20;
  c.push_back(shape("IPv4 first fragment with exactly the 20-byte TCP header", whole4,
                    Expect::kAttempt, SG_PKT_TCP));
  // Later fragments.
  PacketSpec o1 = synFrom("10.77.0.7");
  o1.frag_offset = 1;  // rewrites TCP bytes 8..15, the flags among them (RFC 1858)
  c.push_back(shape("IPv4 TCP fragment at offset 1", o1, tiny, SG_PKT_TINY_FRAGMENT));
  PacketSpec o1udp = udpFrom("10.77.0.8");
  o1udp.frag_offset = 1;
  c.push_back(shape("IPv4 UDP fragment at offset 1", o1udp, Expect::kPassed, SG_PKT_FRAGMENT));
  PacketSpec o2 = synFrom("10.77.0.9");
  o2.frag_offset = 3;
  c.push_back(shape("IPv4 TCP fragment at offset 3", o2, Expect::kPassed, SG_PKT_FRAGMENT));

  // IPv6 fragments.
  PacketSpec f6 = v6Chain("2001:db8:77:1::", {kExtFragment});
  f6.more_fragments = true;
  f6.l4_bytes = 8;
  c.push_back(shape("IPv6 first fragment with 8 bytes of TCP", f6, tiny, SG_PKT_TINY_FRAGMENT));
  PacketSpec cut6 = v6Chain("2001:db8:77:2::", {kExtHop, kExtFragment, kExtDstOpts});
  cut6.more_fragments = true;
  cut6.l4_bytes = 0;
  {
    // The destination options header claims 40 bytes where the packet ends
    // after 8: the header chain does not fit in the first fragment (RFC 7112).
    Frame fr = buildFrame(cut6);
    fr.bytes[fr.l4 - 8 + 1] = 4;
    c.push_back({"IPv6 first fragment whose header chain runs past its end", cut6.src, fr.bytes,
                 tiny, SG_PKT_TINY_FRAGMENT});
  }
  PacketSpec whole6 = v6Chain("2001:db8:77:3::", {kExtDstOpts, kExtFragment});
  whole6.more_fragments = true;
  whole6.payload = 200;
  c.push_back(
      shape("IPv6 first fragment carrying a whole SYN", whole6, Expect::kAttempt, SG_PKT_TCP));
  PacketSpec o16 = v6Chain("2001:db8:77:4::", {kExtFragment});
  o16.frag_offset = 1;
  c.push_back(shape("IPv6 TCP fragment at offset 1", o16, tiny, SG_PKT_TINY_FRAGMENT));
  o16.src = "2001:db8:77:5::";
  o16.frag_offset = 3;
  c.push_back(shape("IPv6 TCP fragment at offset 3", o16, Expect::kPassed, SG_PKT_FRAGMENT));

  // IPv6 extension-header chains.
  c.push_back(shape("IPv6 SYN behind AH", v6Chain("2001:db8:77:10::", {kExtAuth}), Expect::kAttempt,
                    SG_PKT_TCP));
  c.push_back(shape("IPv6 SYN behind 6 extension headers",
                    v6Chain("2001:db8:77:11::", {kExtHop, kExtDstOpts, kExtRouting, kExtFragment,
                                                 kExtAuth, kExtDstOpts}),
                    Expect::kAttempt, SG_PKT_TCP));
  std::vector<uint8_t> longest(SG_V6_MAX_EXT, kExtDstOpts);
  longest[0] = kExtHop;
  c.push_back(shape("IPv6 SYN behind as many headers as the parser walks",
                    v6Chain("2001:db8:77:12::", longest), Expect::kAttempt, SG_PKT_TCP));
  std::vector<uint8_t> too_long = longest;
  too_long.push_back(kExtDstOpts);
  c.push_back(shape("IPv6 SYN behind one header more than the parser walks",
                    v6Chain("2001:db8:77:13::", too_long), tiny, SG_PKT_LONG_CHAIN));
  c.push_back(shape("IPv6 UDP behind one header more than the parser walks",
                    v6Chain("2001:db8:77:14::", too_long, kProtoUdp), tiny, SG_PKT_LONG_CHAIN));
  c.push_back(shape(
      "IPv6 UDP behind 6 extension headers",
      v6Chain("2001:db8:77:15::",
              {kExtHop, kExtDstOpts, kExtRouting, kExtAuth, kExtDstOpts, kExtDstOpts}, kProtoUdp),
      Expect::kPassed, SG_PKT_OTHER));
  c.push_back(shape("IPv6 chain ending in No Next Header",
                    v6Chain("2001:db8:77:16::", {kExtHop, kExtDstOpts}, 59), Expect::kPassed,
                    SG_PKT_OTHER));
  return c;
}

}  // namespace sg::test
