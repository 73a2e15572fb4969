// toEthernetFrame(): every supported link type as an Ethernet II frame, so
// that the one parser (sg_parse_eth) reads every capture. Non-Ethernet frames
// get a synthetic header: zero MAC addresses and the ethertype the link
// header names (SLL, SLL2) or the IP version implies (raw IP).
#include "core/pcap.h"
#include "core/pcap_bytes.h"
#include "sg_parse.h"

namespace sg {

namespace {

constexpr size_t kEthHeader = 14;
constexpr size_t kSllHeader = 16;   // pkttype, hatype, halen, addr[8], protocol
constexpr size_t kSll2Header = 20;  // protocol, rsvd, ifindex, hatype, pkttype, halen, addr[8]
constexpr uint8_t kPacketOutgoing = 4;

EthernetFrame withEthertype(uint16_t ethertype, std::span<const uint8_t> payload) {
  EthernetFrame f;
  f.bytes.assign(kEthHeader, 0);
  f.bytes[12] = static_cast<uint8_t>(ethertype >> 8);
  f.bytes[13] = static_cast<uint8_t>(ethertype);
  f.bytes.insert(f.bytes.end(), payload.begin(), payload.end());
  return f;
}

// Raw IP: the version nibble picks the ethertype; anything but 6 is handed
// to the IPv4 parser, which rejects a wrong version as malformed.
uint16_t rawIpEthertype(std::span<const uint8_t> frame) {
  if (!frame.empty() && (frame[0] >> 4) == 6) return SG_ETH_P_IPV6;
  return SG_ETH_P_IP;
}

}  // namespace

Result<EthernetFrame> toEthernetFrame(uint32_t link_type, std::span<const uint8_t> frame) {
  switch (link_type) {
    case kLinkEthernet: {
      EthernetFrame f;
      f.bytes.assign(frame.begin(), frame.end());
      return f;
    }
    case kLinkRaw:
      return withEthertype(rawIpEthertype(frame), frame);
    case kLinkIpv4:
      return withEthertype(SG_ETH_P_IP, frame);
    case kLinkIpv6:
      return withEthertype(SG_ETH_P_IPV6, frame);
    case kLinkLinuxSll: {
      if (frame.size() < kSllHeader) {
        return makeError(Errc::kInvalidArgument, "SLL frame shorter than its 16-byte header");
      }
      EthernetFrame f =
          withEthertype(pcap_detail::load16(frame, 14, true), frame.subspan(kSllHeader));
      f.outgoing = pcap_detail::load16(frame, 0, true) == kPacketOutgoing;
      return f;
    }
    case kLinkLinuxSll2: {
      if (frame.size() < kSll2Header) {
        return makeError(Errc::kInvalidArgument, "SLL2 frame shorter than its 20-byte header");
      }
      EthernetFrame f =
          withEthertype(pcap_detail::load16(frame, 0, true), frame.subspan(kSll2Header));
      f.outgoing = frame[10] == kPacketOutgoing;
      return f;
    }
    default:
      return makeError(Errc::kInvalidArgument,
                       "unsupported " + linkTypeName(link_type) +
                           " (supported: Ethernet, raw IP, Linux cooked SLL/SLL2)");
  }
}

}  // namespace sg
