#include "core/tcp_ack.h"

#include "sg_parse.h"

namespace sg {

namespace {

// The TCP header's offset in an IPv6 packet at `ip` (`len` bytes), or nothing.
std::optional<size_t> ipv6TcpOffset(const uint8_t* ip, size_t len) {
  if (len < 40) return std::nullopt;
  size_t off = 40;
  uint8_t next = ip[6];
  for (int i = 0; i < SG_V6_MAX_EXT && sg_v6_is_ext(next); i++) {
    if (off + 8 > len) return std::nullopt;
    const uint8_t* p = ip + off;
    if (next == 44 && (sg_be16(p + 2) & 0xfff8) != 0) return std::nullopt;  // not a first fragment
    const size_t hlen = next == 44   ? 8
                        : next == 51 ? (static_cast<size_t>(p[1]) + 2) * 4
                                     : (static_cast<size_t>(p[1]) + 1) * 8;
    next = p[0];
    off += hlen;
  }
  if (next != SG_IPPROTO_TCP) return std::nullopt;
  return off;
}

}  // namespace

std::optional<uint32_t> tcpAckNumber(std::span<const uint8_t> frame) {
  const uint8_t* p = frame.data();
  size_t len = frame.size();
  if (len < 14) return std::nullopt;
  uint16_t proto = sg_be16(p + 12);
  size_t off = 14;
  for (int i = 0; i < 2; i++) {
    if (proto != SG_ETH_P_8021Q && proto != SG_ETH_P_8021AD && proto != SG_ETH_P_QINQ) break;
    if (off + 4 > len) return std::nullopt;
    proto = sg_be16(p + off + 2);
    off += 4;
  }
  const uint8_t* ip = p + off;
  const size_t ip_len = len - off;
  std::optional<size_t> tcp;
  if (proto == SG_ETH_P_IP) {
    if (ip_len < 20 || (ip[0] >> 4) != 4 || ip[9] != SG_IPPROTO_TCP) return std::nullopt;
    if ((sg_be16(ip + 6) & 0x1fff) != 0) return std::nullopt;  // not a first fragment
    tcp = static_cast<size_t>(ip[0] & 0x0f) * 4;
  } else if (proto == SG_ETH_P_IPV6) {
    if (ip_len < 40 || (ip[0] >> 4) != 6) return std::nullopt;
    tcp = ipv6TcpOffset(ip, ip_len);
  }
  if (!tcp || *tcp < 20 || *tcp + 20 > ip_len) return std::nullopt;
  return sg_be32(ip + *tcp + 8);
}

}  // namespace sg
