// A small builder of Ethernet frames for the XDP tests and benchmarks:
// VLAN/QinQ tags, IPv4 with options and fragments, IPv6 with extension
// headers, TCP with flags and options, UDP. Offsets into the frame are
// exposed so that tests can corrupt one field (IHL, doff, lengths) or cut
// the frame short.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sg::test {

inline constexpr uint8_t kFin = 0x01, kSyn = 0x02, kRst = 0x04, kPsh = 0x08, kAck = 0x10;
inline constexpr uint8_t kProtoTcp = 6, kProtoUdp = 17, kProtoIcmp = 1;
// IPv6 extension header types (AH's length counts 4-byte units, the others' 8).
inline constexpr uint8_t kExtHop = 0, kExtRouting = 43, kExtFragment = 44, kExtAuth = 51,
                         kExtDstOpts = 60;

struct PacketSpec {
  std::vector<uint16_t> vlan_tpids;  // VLAN tags, outermost first (0x8100, 0x88a8, 0x9100)
  int family = 4;                    // 4 or 6
  std::string src = "192.0.2.1";
  std::string dst = "198.51.100.1";
  uint8_t proto = kProtoTcp;  // L4 protocol (the last next-header for IPv6)
  uint8_t tcp_flags = kSyn;
  uint16_t sport = 40000;
  uint16_t dport = 80;
  uint32_t seq = 1;       // TCP sequence number
  size_t ip_options = 0;  // IPv4 option bytes (multiple of 4, <= 40)
  // IPv6 extension headers in order; kExtFragment makes a fragment header
  // that uses frag_offset/more_fragments, kExtAuth a 24-byte AH, the others
  // 8 bytes of padding options.
  std::vector<uint8_t> v6_ext;
  uint16_t frag_offset = 0;  // in 8-byte units; non-zero: a non-first fragment
  bool more_fragments = false;
  size_t tcp_options = 0;  // bytes (multiple of 4, <= 40)
  size_t payload = 0;
  // When set, only this many bytes of the L4 header (and payload) are carried,
  // and the IP lengths say so: a tiny first fragment (RFC 1858).
  std::optional<size_t> l4_bytes;
  // Zero-pad the frame to Ethernet's 60-byte minimum, as it arrives from the
  // wire; the IP lengths do not count the padding.
  bool eth_pad = false;
};

// Convenience specs.
PacketSpec synFrom(const std::string& src, uint16_t dport = 80);
PacketSpec ackFrom(const std::string& src, uint16_t dport = 80);
PacketSpec udpFrom(const std::string& src, uint16_t dport = 53);

struct Frame {
  std::vector<uint8_t> bytes;
  size_t l3 = 0;  // offset of the IP header
  size_t l4 = 0;  // offset of the TCP/UDP header (after IPv6 extension headers)
};

Frame buildFrame(const PacketSpec& spec);
inline std::vector<uint8_t> buildPacket(const PacketSpec& spec) { return buildFrame(spec).bytes; }

// Big-endian (network order) fields of a frame, for tests that read or patch
// one: a sequence number, a port, a checksum.
inline uint16_t get16(const std::vector<uint8_t>& b, size_t at) {
  return static_cast<uint16_t>(b[at] << 8 | b[at + 1]);
}
inline uint32_t get32(const std::vector<uint8_t>& b, size_t at) {
  return static_cast<uint32_t>(get16(b, at)) << 16 | get16(b, at + 2);
}
inline void put16(std::vector<uint8_t>& b, size_t at, uint16_t v) {
  b[at] = static_cast<uint8_t>(v >> 8);
  b[at + 1] = static_cast<uint8_t>(v);
}
inline void put32(std::vector<uint8_t>& b, size_t at, uint32_t v) {
  put16(b, at, static_cast<uint16_t>(v >> 16));
  put16(b, at + 2, static_cast<uint16_t>(v));
}

// The 16-byte key the kernel uses for an address ("192.0.2.1" mapped,
// "2001:db8::1" as is); aborts on a malformed literal (test input).
std::vector<uint8_t> addrBytes(const std::string& text);

}  // namespace sg::test
