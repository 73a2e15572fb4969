// Capture readers over files synthesized here: both formats, both byte
// orders, timestamp resolutions, link types, and malformed input.
#include "core/pcap.h"

#include <gtest/gtest.h>

#include "core/capture_test_util.h"
#include "test_helpers.h"

namespace sg {
namespace {

using test::Bytes;

const Bytes kSyn = test::ethernet(test::ipv4Tcp(0xC6336407, 80, SG_TCP_SYN), SG_ETH_P_IP);
const Bytes kAck = test::ethernet(test::ipv4Tcp(0xC6336408, 443, SG_TCP_ACK), SG_ETH_P_IP);

std::string errorOf(const Bytes& file) {
  auto r = readCapture(file);
  return r.ok() ? std::string("(no error)") : r.error().message();
}

class ClassicPcap : public ::testing::TestWithParam<std::tuple<bool, bool>> {};

TEST_P(ClassicPcap, ReadsPacketsTimestampsAndLinkType) {
  const auto [big, nano] = GetParam();
  test::PcapWriter w(big, nano, kLinkEthernet);
  w.add(1'700'000'000'123'456'789ull, kSyn);
  w.add(1'700'000'001'000'001'000ull, kAck);
  auto r = readCapture(w.out);
  ASSERT_OK(r);
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].timestamp_ns,
            nano ? 1'700'000'000'123'456'789ull : 1'700'000'000'123'456'000ull);
  EXPECT_EQ((*r)[1].timestamp_ns, 1'700'000'001'000'001'000ull);
  EXPECT_EQ((*r)[0].link_type, kLinkEthernet);
  EXPECT_EQ(Bytes((*r)[1].bytes.begin(), (*r)[1].bytes.end()), kAck);
}

INSTANTIATE_TEST_SUITE_P(ByteOrderAndResolution, ClassicPcap,
                         ::testing::Combine(::testing::Bool(), ::testing::Bool()));

class Pcapng : public ::testing::TestWithParam<bool> {};

TEST_P(Pcapng, InterfacesWithTheirOwnLinkTypeAndResolution) {
  test::PcapngWriter w(GetParam());
  w.interface(kLinkEthernet);                 // µs (default)
  w.interface(kLinkRaw, 9);                   // ns
  w.interface(kLinkEthernet, 0x80 | 10);      // 2^-10 s
  w.block(0x00000BAD, Bytes{1, 2, 3, 4, 5});  // unknown: skipped
  w.epb(0, 1'500'000, kSyn);                  // 1.5 s
  w.epb(1, 2'000'000'007, test::ipv4Tcp(1, 22, SG_TCP_SYN));
  w.epb(2, 3 * 1024 + 512, kAck);  // 3.5 s
  w.spb(kAck);                     // interface 0, previous timestamp
  auto r = readCapture(w.out);
  ASSERT_OK(r);
  ASSERT_EQ(r->size(), 4u);
  EXPECT_EQ((*r)[0].timestamp_ns, 1'500'000'000ull);
  EXPECT_EQ((*r)[1].timestamp_ns, 2'000'000'007ull);
  EXPECT_EQ((*r)[1].link_type, kLinkRaw);
  EXPECT_EQ((*r)[2].timestamp_ns, 3'500'000'000ull);
  EXPECT_EQ((*r)[3].timestamp_ns, 3'500'000'000ull);
  EXPECT_EQ(Bytes((*r)[3].bytes.begin(), (*r)[3].bytes.end()), kAck);
}

TEST_P(Pcapng, NewSectionForgetsInterfacesAndMayChangeByteOrder) {
  test::PcapngWriter w(GetParam());
  w.interface(kLinkRaw);
  w.epb(0, 1, test::ipv4Tcp(1, 22, SG_TCP_SYN));
  test::PcapngWriter w2(!GetParam());
  w2.epb(0, 1, kSyn);  // no interface in this section
  Bytes file = w.out;
  file.insert(file.end(), w2.out.begin(), w2.out.end());
  EXPECT_NE(errorOf(file).find("interface 0 of 0"), std::string::npos) << errorOf(file);
}

INSTANTIATE_TEST_SUITE_P(ByteOrder, Pcapng, ::testing::Bool());

sg_pkt parseAs(uint32_t link, const Bytes& frame, bool* outgoing = nullptr) {
  auto f = toEthernetFrame(link, frame);
  EXPECT_OK(f);
  sg_pkt p{};
  if (!f.ok()) return p;
  if (outgoing) *outgoing = f->outgoing;
  sg_parse_eth(f->bytes.data(), f->bytes.data() + f->bytes.size(), &p);
  return p;
}

TEST(LinkFrame, EveryLinkTypeReachesTheParser) {
  const Bytes v4 = test::ipv4Tcp(0xC6336407, 80, SG_TCP_SYN);
  const Bytes v6 = test::ipv6Tcp(7, 443, SG_TCP_SYN);
  for (uint32_t link : {kLinkRaw, kLinkIpv4}) {
    sg_pkt p = parseAs(link, v4);
    EXPECT_EQ(p.kind, SG_PKT_TCP);
    EXPECT_EQ(p.family, 4);
    EXPECT_EQ(p.dst_port, 80);
  }
  for (uint32_t link : {kLinkRaw, kLinkIpv6}) {
    sg_pkt p = parseAs(link, v6);
    EXPECT_EQ(p.kind, SG_PKT_TCP);
    EXPECT_EQ(p.family, 6);
    EXPECT_EQ(p.dst_port, 443);
  }
  EXPECT_EQ(parseAs(kLinkEthernet, kSyn).kind, SG_PKT_TCP);
  Bytes sll = {0, 4, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0, 0x86, 0xdd};  // outgoing
  sll.insert(sll.end(), v6.begin(), v6.end());
  bool out = false;
  EXPECT_EQ(parseAs(kLinkLinuxSll, sll, &out).family, 6);
  EXPECT_TRUE(out);
  Bytes sll2 = {0x08, 0x00, 0, 0, 0, 0, 0, 3, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0};
  sll2.insert(sll2.end(), v4.begin(), v4.end());
  EXPECT_EQ(parseAs(kLinkLinuxSll2, sll2, &out).dst_port, 80);
  EXPECT_FALSE(out);
  // A raw frame of version 5 goes to the IPv4 parser, which says malformed.
  Bytes bad = v4;
  bad[0] = 0x55;
  EXPECT_EQ(parseAs(kLinkRaw, bad).kind, SG_PKT_MALFORMED);
  EXPECT_ERROR(toEthernetFrame(kLinkLinuxSll, Bytes(15, 0)), Errc::kInvalidArgument);
  EXPECT_ERROR(toEthernetFrame(kLinkLinuxSll2, Bytes(19, 0)), Errc::kInvalidArgument);
  EXPECT_ERROR(toEthernetFrame(105, kSyn), Errc::kInvalidArgument);  // 802.11
}

TEST(MalformedCapture, ClassicErrorsNameTheOffset) {
  EXPECT_NE(errorOf({}).find("byte offset 0"), std::string::npos);
  EXPECT_NE(errorOf({1, 2, 3, 4, 5, 6}).find("magic"), std::string::npos);
  test::PcapWriter ok(false, false, kLinkEthernet, 100);
  ok.add(1000, kSyn);
  Bytes trunc = ok.out;
  trunc.resize(trunc.size() - 1);
  EXPECT_NE(errorOf(trunc).find("byte offset 24: truncated packet"), std::string::npos)
      << errorOf(trunc);
  Bytes hdr = ok.out;
  hdr.resize(30);
  EXPECT_NE(errorOf(hdr).find("byte offset 24: truncated pcap record header"), std::string::npos);
  EXPECT_NE(errorOf(Bytes(ok.out.begin(), ok.out.begin() + 20)).find("truncated pcap file header"),
            std::string::npos);
  test::PcapWriter lies(false, false, kLinkEthernet, 100);
  lies.add(1000, kSyn, 10);  // captured 54 of an original 10
  EXPECT_NE(errorOf(lies.out).find("exceeds the original length"), std::string::npos);
  test::PcapWriter snap(true, false, kLinkEthernet, 20);
  snap.add(1000, kSyn);
  EXPECT_NE(errorOf(snap.out).find("exceeds the file's snaplen 20"), std::string::npos);
  test::PcapWriter huge(false, true, kLinkEthernet, 0);
  huge.add(1000, kSyn);
  huge.out[32] = 0xff, huge.out[33] = 0xff, huge.out[34] = 0xff, huge.out[35] = 0x7f;
  EXPECT_NE(errorOf(huge.out).find("byte offset 32: absurd"), std::string::npos)
      << errorOf(huge.out);
  test::PcapWriter frac(false, false, kLinkEthernet);
  frac.add(1000, kSyn);
  frac.out[28] = 0x40, frac.out[29] = 0x42, frac.out[30] = 0x0f;  // 1,000,000 µs
  EXPECT_NE(errorOf(frac.out).find("fraction"), std::string::npos);
}

TEST(MalformedCapture, PcapngErrorsNameTheOffset) {
  test::PcapngWriter w(false);
  w.interface(kLinkEthernet);
  w.epb(0, 1, kSyn);
  const size_t epb = 28 + 20;  // SHB 28 bytes, IDB 20 bytes
  ASSERT_OK(readCapture(w.out));
  Bytes b = w.out;
  b[epb + 4] = 0x4a;  // length 74: not a multiple of 4
  EXPECT_NE(errorOf(b).find("byte offset 52: block length 74 not a multiple of 4"),
            std::string::npos)
      << errorOf(b);
  b = w.out;
  b[epb + 4] = 8;
  EXPECT_NE(errorOf(b).find("smaller than its header"), std::string::npos);
  b = w.out;
  b.resize(b.size() - 4);
  EXPECT_NE(errorOf(b).find("byte offset 52: truncated block"), std::string::npos) << errorOf(b);
  b = w.out;
  b[b.size() - 4] ^= 4;
  EXPECT_NE(errorOf(b).find("trailing block length"), std::string::npos);
  b = w.out;
  b[epb + 20] = 200;  // captured (and original) length past the block
  b[epb + 24] = 200;
  EXPECT_NE(errorOf(b).find("runs past its block"), std::string::npos) << errorOf(b);
  b = w.out;
  b[8] = 0x11;
  EXPECT_NE(errorOf(b).find("byte offset 8: bad byte-order magic"), std::string::npos);
  test::PcapngWriter noidb(true);
  noidb.epb(0, 1, kSyn);
  EXPECT_NE(errorOf(noidb.out).find("interface 0 of 0"), std::string::npos);
  b = w.out;
  b.erase(b.begin(), b.begin() + 28);  // no section header first
  EXPECT_NE(errorOf(b).find("not a"), std::string::npos) << errorOf(b);
}

// Every prefix of a valid file ends cleanly (at a record boundary) or with an
// error: no read past the end (the fuzz target checks this under ASan too).
TEST(MalformedCapture, EveryTruncationIsHandled) {
  test::PcapngWriter ng(true);
  ng.interface(kLinkEthernet, 9);
  ng.epb(0, 5, kSyn);
  ng.spb(kAck);
  test::PcapWriter pc(true, true, kLinkRaw);
  pc.add(5, test::ipv4Tcp(1, 1, 2));
  pc.add(6, test::ipv4Tcp(1, 1, 2));
  for (const Bytes* file : {&ng.out, &pc.out}) {
    int errors = 0;
    for (size_t n = 0; n < file->size(); n++) {
      Bytes cut(file->begin(), file->begin() + static_cast<long>(n));
      errors += readCapture(cut).ok() ? 0 : 1;
    }
    EXPECT_GT(errors, static_cast<int>(file->size()) - 4);
  }
}

}  // namespace
}  // namespace sg
