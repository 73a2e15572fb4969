// tcpAckNumber: the acknowledgement number, behind the same headers the
// kernel's parser walks, and nothing from a frame cut short or not TCP.
#include "core/tcp_ack.h"

#include <gtest/gtest.h>

#include "core/capture_test_util.h"

namespace sg {
namespace {

using test::Bytes;

void putAck(Bytes& ip, size_t tcp_at, uint32_t ack) {
  for (int i = 0; i < 4; i++) ip[tcp_at + 8 + i] = static_cast<uint8_t>(ack >> (24 - 8 * i));
}

TEST(TcpAck, ReadsIpv4AndIpv4WithOptionsAndVlanTags) {
  Bytes ip = test::ipv4Tcp(0x0A000001, 80, SG_TCP_ACK);
  putAck(ip, 20, 0xdeadbeef);
  EXPECT_EQ(tcpAckNumber(test::ethernet(ip, SG_ETH_P_IP)), 0xdeadbeefu);
  // Two VLAN tags before it.
  Bytes tagged = test::ethernet(Bytes{0x00, 0x05, 0x81, 0x00, 0x00, 0x06, 0x08, 0x00}, 0x88a8);
  tagged.insert(tagged.end(), ip.begin(), ip.end());
  EXPECT_EQ(tcpAckNumber(tagged), 0xdeadbeefu);
  // IHL 6: four bytes of IP options before TCP.
  Bytes opt = ip;
  opt[0] = 0x46;
  opt.insert(opt.begin() + 20, {1, 1, 1, 1});
  EXPECT_EQ(tcpAckNumber(test::ethernet(opt, SG_ETH_P_IP)), 0xdeadbeefu);
}

TEST(TcpAck, ReadsIpv6BehindAnExtensionHeader) {
  Bytes ip = test::ipv6Tcp(7, 443, SG_TCP_ACK);
  putAck(ip, 40, 12345);
  EXPECT_EQ(tcpAckNumber(test::ethernet(ip, SG_ETH_P_IPV6)), 12345u);
  // Hop-by-hop options (8 bytes) between the IPv6 header and TCP.
  Bytes ext = ip;
  ext[6] = 0;  // next header: hop-by-hop
  ext[5] = 28;
  ext.insert(ext.begin() + 40, {SG_IPPROTO_TCP, 0, 1, 4, 0, 0, 0, 0});
  EXPECT_EQ(tcpAckNumber(test::ethernet(ext, SG_ETH_P_IPV6)), 12345u);
}

TEST(TcpAck, NothingFromAFrameCutShortOrNotTcp) {
  Bytes ip = test::ipv4Tcp(0x0A000001, 80, SG_TCP_ACK);
  Bytes frame = test::ethernet(ip, SG_ETH_P_IP);
  frame.resize(14 + 20 + 11);  // the acknowledgement number cut
  EXPECT_FALSE(tcpAckNumber(frame).has_value());
  Bytes udp = ip;
  udp[9] = 17;
  EXPECT_FALSE(tcpAckNumber(test::ethernet(udp, SG_ETH_P_IP)).has_value());
  Bytes frag = ip;
  frag[7] = 8;  // a non-first fragment: no TCP header
  EXPECT_FALSE(tcpAckNumber(test::ethernet(frag, SG_ETH_P_IP)).has_value());
  EXPECT_FALSE(tcpAckNumber(Bytes{}).has_value());
  EXPECT_FALSE(tcpAckNumber(test::ethernet(Bytes(10, 0x60), SG_ETH_P_IPV6)).has_value());
}

}  // namespace
}  // namespace sg
