// The TCP acknowledgement number of an Ethernet frame, for replay's handshake
// matching (core/handshake_match.h). The kernel's parser (bpf/sg_parse.h,
// struct sg_pkt, shared with the XDP program) does not carry it: the XDP
// program has no use for it, so it is read here, on the C++ side only, with
// the same walk (up to two VLAN tags, IPv4 with options, IPv6 with up to
// SG_V6_MAX_EXT extension headers) and the same fail-closed bounds checks.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

namespace sg {

// The acknowledgement number (host order) of a frame that sg_parse_eth()
// reads as TCP, or nothing when the frame is not TCP or cut short.
std::optional<uint32_t> tcpAckNumber(std::span<const uint8_t> frame);

}  // namespace sg
