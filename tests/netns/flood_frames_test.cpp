// sg-flood's frames and its target check (no root needed).
#include <arpa/inet.h>

#include <vector>

#include "lab/flood.h"
#include "test_helpers.h"

namespace sg::lab {
namespace {

TEST(FloodFrames, Ipv4SynHasValidChecksumsAndFields) {
  uint8_t buf[64];
  uint8_t src[4] = {10, 200, 1, 2};
  uint8_t dst[4] = {10, 200, 1, 1};
  size_t n = buildSyn4(buf, src, dst, 40000, 8080, 0x12345678);
  ASSERT_EQ(n, 44u);
  EXPECT_EQ(tcpChecksum4(buf, n), 0) << "TCP checksum over the pseudo header";
  EXPECT_EQ(buf[9], 6);
  EXPECT_EQ(buf[20 + 13], 0x02) << "SYN only";
  EXPECT_EQ((buf[22] << 8) | buf[23], 8080);
  buf[20 + 4] ^= 1;  // corrupt the sequence number
  EXPECT_NE(tcpChecksum4(buf, n), 0);
}

TEST(FloodFrames, Ipv6SynHasValidChecksum) {
  uint8_t buf[64];
  uint8_t src[16];
  uint8_t dst[16];
  ASSERT_EQ(inet_pton(AF_INET6, "fd00:200:0:2::10", src), 1);
  ASSERT_EQ(inet_pton(AF_INET6, "fd00:200:0:1::1", dst), 1);
  size_t n = buildSyn6(buf, src, dst, 1234, 8080, 7);
  ASSERT_EQ(n, 64u);
  EXPECT_EQ(tcpChecksum6(buf, n), 0);
  EXPECT_EQ(buf[6], 6);
}

TEST(FloodFrames, ShapesCarryTheirOptionsAndWindow) {
  uint8_t buf[kMaxSynFrame];
  uint8_t src[4] = {10, 200, 1, 2};
  uint8_t dst[4] = {10, 200, 1, 1};
  // bare: no option, window 0 (the spoofed capture's SYNs)
  size_t n = buildSyn4(buf, src, dst, 40000, 8080, 99, SynShape::kBare);
  ASSERT_EQ(n, 40u);
  EXPECT_EQ((buf[2] << 8) | buf[3], 40) << "IP total length";
  EXPECT_EQ(buf[20 + 12] >> 4, 5) << "data offset: no option";
  EXPECT_EQ((buf[20 + 14] << 8) | buf[20 + 15], 0) << "window 0";
  EXPECT_EQ(tcpChecksum4(buf, n), 0);
  // linux: MSS, SACK-permitted, timestamps, NOP, window scale 7
  n = buildSyn4(buf, src, dst, 40000, 8080, 99, SynShape::kLinux);
  ASSERT_EQ(n, 60u);
  EXPECT_EQ(buf[20 + 12] >> 4, 10);
  EXPECT_EQ((buf[20 + 14] << 8) | buf[20 + 15], 64240);
  const uint8_t kinds[] = {buf[40], buf[44], buf[46], buf[56], buf[57]};
  EXPECT_EQ(std::vector<uint8_t>(kinds, kinds + 5), (std::vector<uint8_t>{2, 4, 8, 1, 3}));
  EXPECT_EQ(tcpChecksum4(buf, n), 0);
  uint8_t src6[16];
  uint8_t dst6[16];
  ASSERT_EQ(inet_pton(AF_INET6, "fd00:200:0:2::10", src6), 1);
  ASSERT_EQ(inet_pton(AF_INET6, "fd00:200:0:1::1", dst6), 1);
  n = buildSyn6(buf, src6, dst6, 1234, 8080, 7, SynShape::kLinux);
  ASSERT_EQ(n, kMaxSynFrame);
  EXPECT_EQ(buf[5], 40) << "payload length";
  EXPECT_EQ(tcpChecksum6(buf, n), 0);
  EXPECT_ERROR(parseSynShape("syn"), Errc::kInvalidArgument);
  EXPECT_EQ(*parseSynShape("bare"), SynShape::kBare);
}

TEST(FloodTarget, OnlyLabRangesAreAccepted) {
  EXPECT_OK(checkLabRange("10.200.1.1"));
  EXPECT_OK(checkLabRange("10.200.0.0/16"));
  EXPECT_OK(checkLabRange("fd00:200:0:1::1"));
  EXPECT_ERROR(checkLabRange("127.0.0.1"), Errc::kInvalidArgument);
  EXPECT_ERROR(checkLabRange("10.201.0.1"), Errc::kInvalidArgument);
  EXPECT_ERROR(checkLabRange("10.0.0.0/8"), Errc::kInvalidArgument);
  EXPECT_ERROR(checkLabRange("8.8.8.8"), Errc::kInvalidArgument);
  EXPECT_ERROR(checkLabRange("fd00:201::1"), Errc::kInvalidArgument);
  EXPECT_ERROR(checkLabRange("not-an-address"), Errc::kInvalidArgument);
  FloodOptions o;
  o.dst = "10.200.1.1";
  o.src = "10.200.1.2";
  EXPECT_OK(validateFlood(o));
  o.spoof_cidr = "10.200.0.0/16";
  EXPECT_ERROR(validateFlood(o), Errc::kInvalidArgument);  // both a source and a spoof prefix
  o.src.clear();
  o.dst = "fd00:200::1";
  EXPECT_ERROR(validateFlood(o), Errc::kInvalidArgument);  // mixed families
}

}  // namespace
}  // namespace sg::lab
