// Test-only builders: IP/TCP packets and pcap/pcapng files synthesized in
// memory, in either byte order.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "sg_parse.h"

namespace sg::test {

using Bytes = std::vector<uint8_t>;

// A new sequence number per packet built: each SYN a new attempt, never a
// retransmission (sg_syn_repeat).
inline void putNextSeq(Bytes& p, size_t at) {
  static uint32_t next = 1;
  const uint32_t seq = next++;
  for (int i = 0; i < 4; i++) p[at + i] = static_cast<uint8_t>(seq >> (24 - 8 * i));
}

// IPv4 + TCP (no options), from src (host order) port sport to 10.10.10.10:port.
inline Bytes ipv4Tcp(uint32_t src, uint16_t port, uint8_t flags, uint16_t sport = 12345) {
  Bytes p(40, 0);
  p[0] = 0x45;
  p[3] = 40;  // total length
  p[8] = 64;
  p[9] = SG_IPPROTO_TCP;
  for (int i = 0; i < 4; i++) p[12 + i] = static_cast<uint8_t>(src >> (24 - 8 * i));
  p[16] = p[17] = p[18] = p[19] = 10;
  p[20] = static_cast<uint8_t>(sport >> 8);
  p[21] = static_cast<uint8_t>(sport);
  p[22] = static_cast<uint8_t>(port >> 8);
  p[23] = static_cast<uint8_t>(port);
  putNextSeq(p, 24);
  p[32] = 0x50;  // data offset 5
  p[33] = flags;
  return p;
}

// IPv6 + TCP from 2001:db8::<host>.
inline Bytes ipv6Tcp(uint16_t host, uint16_t port, uint8_t flags) {
  Bytes p(60, 0);
  p[0] = 0x60;
  p[5] = 20;  // payload length
  p[6] = SG_IPPROTO_TCP;
  p[7] = 64;
  p[8] = 0x20, p[9] = 0x01, p[10] = 0x0d, p[11] = 0xb8;
  p[22] = static_cast<uint8_t>(host >> 8);
  p[23] = static_cast<uint8_t>(host);
  p[24] = 0xfd, p[39] = 1;
  p[42] = static_cast<uint8_t>(port >> 8);
  p[43] = static_cast<uint8_t>(port);
  putNextSeq(p, 44);
  p[52] = 0x50;
  p[53] = flags;
  return p;
}

inline Bytes ethernet(const Bytes& ip, uint16_t ethertype) {
  Bytes f(14, 0);
  f[0] = 0x02;
  f[6] = 0x02;
  f[11] = 1;
  f[12] = static_cast<uint8_t>(ethertype >> 8);
  f[13] = static_cast<uint8_t>(ethertype);
  f.insert(f.end(), ip.begin(), ip.end());
  return f;
}

inline void put16(Bytes& b, uint16_t v, bool big) {
  if (big) {
    b.push_back(static_cast<uint8_t>(v >> 8));
    b.push_back(static_cast<uint8_t>(v));
  } else {
    b.push_back(static_cast<uint8_t>(v));
    b.push_back(static_cast<uint8_t>(v >> 8));
  }
}

inline void put32(Bytes& b, uint32_t v, bool big) {
  put16(b, static_cast<uint16_t>(big ? v >> 16 : v), big);
  put16(b, static_cast<uint16_t>(big ? v : v >> 16), big);
}

struct PcapWriter {
  bool big = false, nano = false;
  Bytes out;
  PcapWriter(bool big_endian, bool nanos, uint32_t link, uint32_t snaplen = 65535)
      : big(big_endian), nano(nanos) {
    put32(out, nano ? 0xa1b23c4d : 0xa1b2c3d4, big);
    put16(out, 2, big);
    put16(out, 4, big);
    put32(out, 0, big);
    put32(out, 0, big);
    put32(out, snaplen, big);
    put32(out, link, big);
  }
  void add(uint64_t ts_ns, const Bytes& pkt) { add(ts_ns, pkt, static_cast<uint32_t>(pkt.size())); }
  void add(uint64_t ts_ns, const Bytes& pkt, uint32_t orig) {
    put32(out, static_cast<uint32_t>(ts_ns / 1'000'000'000u), big);
    const uint64_t frac = ts_ns % 1'000'000'000u;
    put32(out, static_cast<uint32_t>(nano ? frac : frac / 1000), big);
    put32(out, static_cast<uint32_t>(pkt.size()), big);
    put32(out, orig, big);
    out.insert(out.end(), pkt.begin(), pkt.end());
  }
};

struct PcapngWriter {
  bool big = false;
  Bytes out;
  explicit PcapngWriter(bool big_endian) : big(big_endian) { section(); }
  void block(uint32_t type, const Bytes& body) {
    Bytes padded = body;
    while (padded.size() % 4) padded.push_back(0);
    const auto len = static_cast<uint32_t>(padded.size() + 12);
    put32(out, type, big);
    put32(out, len, big);
    out.insert(out.end(), padded.begin(), padded.end());
    put32(out, len, big);
  }
  void section() {
    Bytes b;
    put32(b, 0x1a2b3c4d, big);
    put16(b, 1, big);
    put16(b, 0, big);
    put32(b, 0xffffffff, big);
    put32(b, 0xffffffff, big);
    block(0x0a0d0d0a, b);
  }
  // tsresol < 0: no option (µs).
  void interface(uint16_t link, int tsresol = -1, uint32_t snaplen = 0) {
    Bytes b;
    put16(b, link, big);
    put16(b, 0, big);
    put32(b, snaplen, big);
    if (tsresol >= 0) {
      put16(b, 9, big);
      put16(b, 1, big);
      b.push_back(static_cast<uint8_t>(tsresol));
      b.insert(b.end(), {0, 0, 0});
      put16(b, 0, big);
      put16(b, 0, big);
    }
    block(1, b);
  }
  void epb(uint32_t iface, uint64_t ts_units, const Bytes& pkt) {
    Bytes b;
    put32(b, iface, big);
    put32(b, static_cast<uint32_t>(ts_units >> 32), big);
    put32(b, static_cast<uint32_t>(ts_units), big);
    put32(b, static_cast<uint32_t>(pkt.size()), big);
    put32(b, static_cast<uint32_t>(pkt.size()), big);
    b.insert(b.end(), pkt.begin(), pkt.end());
    block(6, b);
  }
  void spb(const Bytes& pkt) {
    Bytes b;
    put32(b, static_cast<uint32_t>(pkt.size()), big);
    b.insert(b.end(), pkt.begin(), pkt.end());
    block(3, b);
  }
};

}  // namespace sg::test
