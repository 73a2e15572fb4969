#include "bpf/packet_builder.h"

#include <arpa/inet.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace sg::test {
namespace {

uint16_t ipChecksum(const uint8_t* p, size_t n) {
  uint32_t sum = 0;
  for (size_t i = 0; i + 1 < n; i += 2) sum += static_cast<uint32_t>(p[i] << 8 | p[i + 1]);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

[[noreturn]] void badSpec(const std::string& what) {
  std::fprintf(stderr, "packet_builder: bad spec: %s\n", what.c_str());
  std::abort();
}

size_t l4Length(const PacketSpec& s) {
  if (s.proto == kProtoTcp) return 20 + s.tcp_options + s.payload;
  if (s.proto == kProtoUdp) return 8 + s.payload;
  return 8 + s.payload;  // ICMP-like: an 8-byte header
}

size_t extLength(uint8_t type) { return type == kExtAuth ? 24 : 8; }

void writeL4(const PacketSpec& s, std::vector<uint8_t>& b, size_t at) {
  if (s.proto == kProtoTcp) {
    put16(b, at, s.sport);
    put16(b, at + 2, s.dport);
    put16(b, at + 4, static_cast<uint16_t>(s.seq >> 16));
    put16(b, at + 6, static_cast<uint16_t>(s.seq));
    b[at + 12] = static_cast<uint8_t>(((20 + s.tcp_options) / 4) << 4);
    b[at + 13] = s.tcp_flags;
    put16(b, at + 14, 64240);                                       // window
    for (size_t i = 0; i < s.tcp_options; i++) b[at + 20 + i] = 1;  // NOP options
  } else if (s.proto == kProtoUdp) {
    put16(b, at, s.sport);
    put16(b, at + 2, s.dport);
    put16(b, at + 4, static_cast<uint16_t>(8 + s.payload));
  } else {
    b[at] = 8;  // echo request
  }
}

}  // namespace

PacketSpec synFrom(const std::string& src, uint16_t dport) {
  PacketSpec s;
  s.family = src.find(':') != std::string::npos ? 6 : 4;
  s.src = src;
  s.dst = s.family == 6 ? "2001:db8:ffff::1" : "198.51.100.1";
  s.dport = dport;
  return s;
}

PacketSpec ackFrom(const std::string& src, uint16_t dport) {
  PacketSpec s = synFrom(src, dport);
  s.tcp_flags = kAck;
  return s;
}

PacketSpec udpFrom(const std::string& src, uint16_t dport) {
  PacketSpec s = synFrom(src, dport);
  s.proto = kProtoUdp;
  return s;
}

std::vector<uint8_t> addrBytes(const std::string& text) {
  std::vector<uint8_t> out(16, 0);
  in_addr v4{};
  if (inet_pton(AF_INET, text.c_str(), &v4) == 1) {
    out[10] = out[11] = 0xff;
    std::memcpy(out.data() + 12, &v4, 4);
    return out;
  }
  if (inet_pton(AF_INET6, text.c_str(), out.data()) == 1) return out;
  badSpec("address '" + text + "'");
}

Frame buildFrame(const PacketSpec& s) {
  if (s.ip_options % 4 != 0 || s.ip_options > 40) badSpec("ip_options");
  if (s.tcp_options % 4 != 0 || s.tcp_options > 40) badSpec("tcp_options");
  Frame f;
  std::vector<uint8_t>& b = f.bytes;
  const size_t eth = 14 + 4 * s.vlan_tpids.size();
  b.assign(eth, 0);
  for (size_t i = 0; i < 6; i++) {
    b[i] = 0x02;             // destination: locally administered
    b[6 + i] = 0x02 + 0x10;  // source
  }
  size_t at = 12;
  for (uint16_t tpid : s.vlan_tpids) {
    put16(b, at, tpid);
    put16(b, at + 2, 100);  // VLAN id 100
    at += 4;
  }
  put16(b, at, s.family == 6 ? 0x86DD : 0x0800);
  f.l3 = eth;

  const size_t l4full = l4Length(s);
  if (s.l4_bytes && *s.l4_bytes > l4full) badSpec("l4_bytes past the L4 header and payload");
  const size_t l4len = s.l4_bytes ? *s.l4_bytes : l4full;
  if (s.family == 4) {
    const size_t ihl = 20 + s.ip_options;
    b.resize(eth + ihl + l4len, 0);
    uint8_t* ip = b.data() + eth;
    ip[0] = static_cast<uint8_t>(0x40 | (ihl / 4));
    put16(b, eth + 2, static_cast<uint16_t>(ihl + l4len));
    put16(b, eth + 4, 0x1234);
    put16(b, eth + 6,
          static_cast<uint16_t>((s.more_fragments ? 0x2000 : 0) | (s.frag_offset & 0x1fff)));
    ip[8] = 64;
    ip[9] = s.proto;
    std::vector<uint8_t> src = addrBytes(s.src), dst = addrBytes(s.dst);
    std::memcpy(ip + 12, src.data() + 12, 4);
    std::memcpy(ip + 16, dst.data() + 12, 4);
    for (size_t i = 0; i < s.ip_options; i++) ip[20 + i] = 1;  // NOP options
    put16(b, eth + 10, ipChecksum(ip, ihl));
    f.l4 = eth + ihl;
  } else {
    size_t ext_len = 0;
    for (uint8_t e : s.v6_ext) ext_len += extLength(e);
    b.resize(eth + 40 + ext_len + l4len, 0);
    uint8_t* ip = b.data() + eth;
    ip[0] = 0x60;
    put16(b, eth + 4, static_cast<uint16_t>(ext_len + l4len));
    ip[6] = s.v6_ext.empty() ? s.proto : s.v6_ext[0];
    ip[7] = 64;
    std::vector<uint8_t> src = addrBytes(s.src), dst = addrBytes(s.dst);
    std::memcpy(ip + 8, src.data(), 16);
    std::memcpy(ip + 24, dst.data(), 16);
    size_t p = eth + 40;
    for (size_t i = 0; i < s.v6_ext.size(); i++) {
      b[p] = i + 1 < s.v6_ext.size() ? s.v6_ext[i + 1] : s.proto;
      if (s.v6_ext[i] == kExtFragment) {
        put16(b, p + 2, static_cast<uint16_t>((s.frag_offset << 3) | (s.more_fragments ? 1 : 0)));
        b[p + 7] = 0x42;  // identification
      } else if (s.v6_ext[i] == kExtAuth) {
        b[p + 1] = 24 / 4 - 2;  // length in 4-byte units, minus 2
        b[p + 7] = 1;           // SPI 1; sequence and ICV left zero
      } else {
        b[p + 1] = 0;  // length: (0 + 1) * 8 bytes
        b[p + 2] = 1;  // PadN option covering the rest
        b[p + 3] = 4;
      }
      p += extLength(s.v6_ext[i]);
    }
    f.l4 = p;
  }
  // Written whole, then cut: the L4 header's first l4_bytes bytes remain.
  b.resize(f.l4 + l4full, 0);
  writeL4(s, b, f.l4);
  b.resize(f.l4 + l4len);
  if (s.eth_pad && b.size() < 60) b.resize(60, 0);
  return f;
}

}  // namespace sg::test
