// Capture files from a memory buffer: classic pcap (both byte orders, µs and
// ns timestamps) and pcapng (sections of either byte order; IDB with its own
// link type and if_tsresol; EPB, SPB and the obsolete PB; other blocks skipped
// by their length). Untrusted input: every inconsistency is an error naming
// the byte offset where it was found, and nothing is read out of bounds.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/result.h"

namespace sg {

// Link types we can turn into Ethernet frames (LINKTYPE_* values).
inline constexpr uint32_t kLinkEthernet = 1;
inline constexpr uint32_t kLinkRaw = 101;
inline constexpr uint32_t kLinkLinuxSll = 113;
inline constexpr uint32_t kLinkIpv4 = 228;
inline constexpr uint32_t kLinkIpv6 = 229;
inline constexpr uint32_t kLinkLinuxSll2 = 276;

struct CapturedPacket {
  uint64_t timestamp_ns = 0;       // capture time (SPB carries none: previous packet's)
  uint32_t link_type = 0;          // of the interface that captured it
  std::span<const uint8_t> bytes;  // a view into the buffer given to readCapture
};

// The bound on one packet's captured length; longer is an error.
inline constexpr uint32_t kMaxCapturedPacket = 256 * 1024;

// All packets of a pcap or pcapng buffer, in file order. The packets' bytes
// point into `data`, which must outlive them.
Result<std::vector<CapturedPacket>> readCapture(std::span<const uint8_t> data);

// Per-format readers (readCapture picks one from the first four bytes).
Result<std::vector<CapturedPacket>> readPcap(std::span<const uint8_t> data);
Result<std::vector<CapturedPacket>> readPcapng(std::span<const uint8_t> data);

// A frame of any supported link type as an Ethernet II frame that
// sg_parse_eth() understands; `outgoing` when the link header says the host
// sent it (SLL/SLL2 packet type 4), which an ingress sensor never sees.
struct EthernetFrame {
  std::vector<uint8_t> bytes;
  bool outgoing = false;
};
Result<EthernetFrame> toEthernetFrame(uint32_t link_type, std::span<const uint8_t> frame);

// "Ethernet", "raw IP", ... for messages; "link type N" when unknown.
std::string linkTypeName(uint32_t link_type);

}  // namespace sg
