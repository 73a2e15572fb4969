// SYN cookies in XDP (bpf/sg_syncookie.h) through BPF_PROG_TEST_RUN: a SYN
// to a port with cookies on comes back as an XDP_TX SYN-ACK whose cookie the
// kernel's own check accepts; the matching ACK passes; a forged one is
// dropped; other ports, other addresses and ports turned off again are
// untouched; IPv4 and IPv6.
#include <linux/bpf.h>

#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "bpf/kernel_fixture.h"

namespace sg::test {
namespace {

constexpr uint16_t kPort = 8080;
constexpr uint32_t kClientIsn = 0x11223344;
constexpr uint32_t kClientTsval = 0xa1b2c3d4;

// One's complement sum of the TCP segment and its pseudo header (0 when the
// checksum in it is right).
uint16_t tcpSum(const std::vector<uint8_t>& f, size_t l3, size_t l4, bool v6) {
  uint32_t sum = 0;
  auto add = [&](size_t at, size_t n) {
    for (size_t i = 0; i < n; i += 2) sum += get16(f, at + i);
  };
  const size_t len = f.size() - l4;
  if (v6) {
    add(l3 + 8, 32);
  } else {
    add(l3 + 12, 8);
  }
  sum += 6 + static_cast<uint32_t>(len);
  for (size_t i = 0; i + 1 < len; i += 2) sum += get16(f, l4 + i);
  if (len % 2) sum += static_cast<uint32_t>(f[l4 + len - 1] << 8);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

class SynCookie : public KernelTest {
 protected:
  // A SYN as Linux sends it: MSS 1460, SACK permitted, timestamps, window
  // scale 7 (20 option bytes); `linux_opts` false: no options at all.
  Frame syn(const std::string& src, const std::string& dst, uint16_t dport,
            bool linux_opts = true) {
    PacketSpec s = synFrom(src, dport);
    s.dst = dst;
    s.seq = kClientIsn;
    s.tcp_options = linux_opts ? 20 : 0;
    Frame f = buildFrame(s);
    if (linux_opts) {
      const uint8_t opts[20] = {2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 0, 0, 0, 0, 0, 1, 3, 3, 7};
      std::memcpy(&f.bytes[f.l4 + 20], opts, sizeof(opts));
      put32(f.bytes, f.l4 + 28, kClientTsval);
    }
    return f;
  }

  // The client's ACK to a SYN-ACK (`synack` as the program sent it), with
  // acknowledgement number ack_delta past the cookie.
  std::vector<uint8_t> ackFor(const Frame& syn_frame, const TestOutput& synack,
                              uint32_t ack_delta = 1) {
    std::vector<uint8_t> f = syn_frame.bytes;
    f[syn_frame.l4 + 13] = kAck;
    put32(f, syn_frame.l4 + 4, kClientIsn + 1);
    put32(f, syn_frame.l4 + 8, get32(synack.frame, syn_frame.l4 + 4) + ack_delta);
    return f;
  }

  void cookiesOn(std::optional<Address> dst = std::nullopt, uint16_t port = kPort) {
    ASSERT_OK(sensor_->setCookies(port, dst, true));
  }

  // Everything a SYN-ACK for `in` must be.
  void expectSynAck(const Frame& in, const TestOutput& out, bool v6, uint16_t mss) {
    ASSERT_EQ(out.verdict, static_cast<uint32_t>(XDP_TX));
    const size_t l3 = in.l3, l4 = in.l4;
    ASSERT_GE(out.frame.size(), l4 + 20);
    // Ethernet and IP addresses swapped, ports swapped.
    EXPECT_TRUE(std::equal(in.bytes.begin(), in.bytes.begin() + 6, out.frame.begin() + 6));
    EXPECT_TRUE(std::equal(in.bytes.begin() + 6, in.bytes.begin() + 12, out.frame.begin()));
    const size_t alen = v6 ? 16 : 4, src = l3 + (v6 ? 8 : 12);
    EXPECT_TRUE(std::equal(in.bytes.begin() + src, in.bytes.begin() + src + alen,
                           out.frame.begin() + src + alen));
    EXPECT_EQ(get16(out.frame, l4), get16(in.bytes, l4 + 2));
    EXPECT_EQ(get16(out.frame, l4 + 2), get16(in.bytes, l4));
    EXPECT_EQ(out.frame[l4 + 13], kSyn | kAck);
    EXPECT_EQ(get32(out.frame, l4 + 8), kClientIsn + 1);
    // Lengths agree with the frame, checksums hold.
    const size_t tcp_len = (out.frame[l4 + 12] >> 4) * 4u;
    EXPECT_EQ(out.frame.size(), l4 + tcp_len);
    if (v6) {
      EXPECT_EQ(get16(out.frame, l3 + 4), tcp_len);
    } else {
      EXPECT_EQ(get16(out.frame, l3 + 2), 20 + tcp_len);
      uint32_t sum = 0;
      for (size_t i = 0; i < 20; i += 2) sum += get16(out.frame, l3 + i);
      while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
      EXPECT_EQ(sum, 0xffffu) << "IPv4 header checksum";
    }
    EXPECT_EQ(tcpSum(out.frame, l3, l4, v6), 0) << "TCP checksum";
    // MSS first, as configured.
    EXPECT_EQ(out.frame[l4 + 20], 2);
    EXPECT_EQ(get16(out.frame, l4 + 22), mss);
  }
};

TEST_F(SynCookie, SynGetsSynAckWhoseCookieTheKernelAccepts) {
  cookiesOn();
  const Frame s = syn("192.0.2.1", "198.51.100.1", kPort);
  const TestOutput out = run(s.bytes);
  expectSynAck(s, out, false, 1460);
  // SACK permitted + timestamps (tsecr = the client's tsval) + window scale 7.
  const size_t o = s.l4 + 20;
  ASSERT_EQ(out.frame.size(), s.l4 + 40);
  EXPECT_EQ(get32(out.frame, o + 4), 0x0402080au);
  EXPECT_EQ(get32(out.frame, o + 12), kClientTsval);
  EXPECT_EQ(get32(out.frame, o + 8) & 0x3f, 0x10u | 7u) << "timestamp cookie: SACK, wscale 7";
  EXPECT_EQ(get32(out.frame, o + 16), 0x01030307u);
  EXPECT_EQ(counter(SG_CNT_COOKIE_SYNACKS), 1u);

  // The client's ACK passes (to the kernel's SYNPROXY); a forged one does not.
  EXPECT_EQ(run(ackFor(s, out)).verdict, static_cast<uint32_t>(XDP_PASS));
  EXPECT_EQ(counter(SG_CNT_COOKIE_ACKS_VALID), 1u);
  EXPECT_EQ(run(ackFor(s, out, 0x5a5a5a5a)).verdict, static_cast<uint32_t>(XDP_DROP));
  std::vector<uint8_t> other_src = ackFor(s, out);
  other_src[s.l3 + 15] ^= 1;  // the same numbers from another address
  EXPECT_EQ(run(other_src).verdict, static_cast<uint32_t>(XDP_DROP));
  EXPECT_EQ(counter(SG_CNT_COOKIE_ACKS_DROPPED), 2u);
}

TEST_F(SynCookie, SynWithoutOptionsGetsMssOnly) {
  cookiesOn();
  const Frame s = syn("192.0.2.9", "198.51.100.1", kPort, false);
  const TestOutput out = run(s.bytes);
  expectSynAck(s, out, false, 1460);
  EXPECT_EQ(out.frame.size(), s.l4 + 24);
  EXPECT_EQ(run(ackFor(s, out)).verdict, static_cast<uint32_t>(XDP_PASS));
}

TEST_F(SynCookie, Ipv6) {
  cookiesOn();
  sensor_->setCookieParams(1400, 1380, 9, 50);
  const Frame s = syn("2001:db8::1", "2001:db8:1::1", kPort);
  const TestOutput out = run(s.bytes);
  expectSynAck(s, out, true, 1380);
  EXPECT_EQ(out.frame[s.l3 + 7], 50) << "hop limit";
  EXPECT_EQ(get32(out.frame, s.l4 + 36), 0x01030309u) << "window scale 9";
  EXPECT_EQ(run(ackFor(s, out)).verdict, static_cast<uint32_t>(XDP_PASS));
  EXPECT_EQ(run(ackFor(s, out, 0x5a5a5a5a)).verdict, static_cast<uint32_t>(XDP_DROP));
}

TEST_F(SynCookie, OtherPortsAndAddressesUntouched) {
  cookiesOn(*parseAddress("198.51.100.1"));
  const Frame other_port = syn("192.0.2.1", "198.51.100.1", 80);
  TestOutput out = run(other_port.bytes);
  EXPECT_EQ(out.verdict, static_cast<uint32_t>(XDP_PASS));
  EXPECT_EQ(out.frame, other_port.bytes);
  const Frame other_addr = syn("192.0.2.1", "198.51.100.2", kPort);
  out = run(other_addr.bytes);
  EXPECT_EQ(out.verdict, static_cast<uint32_t>(XDP_PASS));
  EXPECT_EQ(out.frame, other_addr.bytes);
  // A stray ACK to another port is no business of the cookies.
  std::vector<uint8_t> ack = other_port.bytes;
  ack[other_port.l4 + 13] = kAck;
  EXPECT_EQ(run(ack).verdict, static_cast<uint32_t>(XDP_PASS));
  // The address with cookies on gets them.
  expectSynAck(syn("192.0.2.1", "198.51.100.1", kPort),
               run(syn("192.0.2.1", "198.51.100.1", kPort).bytes), false, 1460);
  EXPECT_EQ(sensor_->cookiePorts(), 1u);
}

// On a host that forwards (a router, a bridge), a SYN to another host must
// not be answered on its behalf (review finding): cookies only for the
// host's own addresses once the agent has written them (bpf/sg_local.h).
TEST_F(SynCookie, OnlyTheHostsOwnAddressesAreAnswered) {
  cookiesOn();                               // every address
  cookiesOn(*parseAddress("198.51.100.7"));  // and this one by name
  ASSERT_OK(
      sensor_->setLocalAddresses({*parseAddress("198.51.100.1"), *parseAddress("2001:db8:1::1")}));
  for (const char* dst : {"198.51.100.7", "198.51.100.2"}) {
    const Frame forwarded = syn("192.0.2.1", dst, kPort);
    const TestOutput out = run(forwarded.bytes);
    EXPECT_EQ(out.verdict, static_cast<uint32_t>(XDP_PASS)) << dst;
    EXPECT_EQ(out.frame, forwarded.bytes) << dst;
    std::vector<uint8_t> ack = forwarded.bytes;  // nor its ACKs judged
    ack[forwarded.l4 + 13] = kAck;
    EXPECT_EQ(run(ack).verdict, static_cast<uint32_t>(XDP_PASS)) << dst;
  }
  const Frame forwarded6 = syn("2001:db8::1", "2001:db8:1::2", kPort);
  EXPECT_EQ(run(forwarded6.bytes).verdict, static_cast<uint32_t>(XDP_PASS));
  EXPECT_EQ(counter(SG_CNT_COOKIE_SYNACKS), 0u);
  EXPECT_EQ(counter(SG_CNT_COOKIE_ACKS_DROPPED), 0u);
  EXPECT_EQ(counter(SG_CNT_NOT_LOCAL), 5u);  // 3 SYNs, 2 ACKs
  // Our own addresses get them.
  const Frame own = syn("192.0.2.1", "198.51.100.1", kPort);
  expectSynAck(own, run(own.bytes), false, 1460);
  const Frame own6 = syn("2001:db8::1", "2001:db8:1::1", kPort);
  expectSynAck(own6, run(own6.bytes), true, 1440);
  // The list follows the host: .7 becomes ours, .1 is gone.
  ASSERT_OK(sensor_->setLocalAddresses({*parseAddress("198.51.100.7")}));
  const Frame now_own = syn("192.0.2.1", "198.51.100.7", kPort);
  expectSynAck(now_own, run(now_own.bytes), false, 1460);
  EXPECT_EQ(run(own.bytes).verdict, static_cast<uint32_t>(XDP_PASS));
}

TEST_F(SynCookie, TurnedOffPassesAgain) {
  cookiesOn();
  cookiesOn(*parseAddress("2001:db8:1::1"));
  EXPECT_EQ(sensor_->cookiePorts(), 1u);
  ASSERT_OK(sensor_->setCookies(kPort, std::nullopt, false));
  ASSERT_OK(sensor_->setCookies(kPort, *parseAddress("2001:db8:1::1"), false));
  EXPECT_EQ(sensor_->cookiePorts(), 0u);
  const Frame s = syn("192.0.2.1", "198.51.100.1", kPort);
  EXPECT_EQ(run(s.bytes).verdict, static_cast<uint32_t>(XDP_PASS));
  std::vector<uint8_t> ack = s.bytes;
  ack[s.l4 + 13] = kAck;
  EXPECT_EQ(run(ack).verdict, static_cast<uint32_t>(XDP_PASS));
  EXPECT_EQ(counter(SG_CNT_COOKIE_SYNACKS), 0u);
}

TEST_F(SynCookie, BlockedSourceIsDroppedNotAnswered) {
  cookiesOn();
  // Over its threshold the source is blocked; its SYNs get no SYN-ACK.
  synBurst("192.0.2.77", static_cast<int>(cfg_.threshold) + 1, kPort);
  ASSERT_TRUE(isBlocked("192.0.2.77"));
  Frame s = syn("192.0.2.77", "198.51.100.1", kPort);
  put32(s.bytes, s.l4 + 4, 999);
  EXPECT_EQ(run(s.bytes).verdict, static_cast<uint32_t>(XDP_DROP));
}

}  // namespace
}  // namespace sg::test
