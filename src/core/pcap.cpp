// Classic pcap, and the format dispatch. Layout (all fields in the writer's
// byte order, given by the magic):
//   file header (24 B): magic, version 2+2, thiszone, sigfigs, snaplen, network
//   record (16 B + data): ts_sec, ts_frac (µs or ns by magic), incl_len, orig_len
#include "core/pcap.h"

#include <limits>

#include "core/pcap_bytes.h"

namespace sg {

using pcap_detail::errorAt;
using pcap_detail::fits;
using pcap_detail::load32;

namespace {

constexpr uint32_t kMagicMicro = 0xa1b2c3d4;
constexpr uint32_t kMagicNano = 0xa1b23c4d;
constexpr uint32_t kPcapngShb = 0x0a0d0d0a;
constexpr size_t kFileHeader = 24;
constexpr size_t kRecordHeader = 16;

}  // namespace

Result<std::vector<CapturedPacket>> readCapture(std::span<const uint8_t> data) {
  if (data.size() < 4) {
    return errorAt(0, "not a capture file: " + std::to_string(data.size()) + " bytes");
  }
  const uint32_t le = load32(data, 0, false);
  if (le == kPcapngShb) return readPcapng(data);
  const uint32_t be = load32(data, 0, true);
  if (le == kMagicMicro || le == kMagicNano || be == kMagicMicro || be == kMagicNano) {
    return readPcap(data);
  }
  return errorAt(0, "not a pcap or pcapng file (unknown magic)");
}

Result<std::vector<CapturedPacket>> readPcap(std::span<const uint8_t> data) {
  if (!fits(data, 0, kFileHeader)) return errorAt(0, "truncated pcap file header");
  bool big = false;
  uint32_t magic = load32(data, 0, false);
  if (magic != kMagicMicro && magic != kMagicNano) {
    big = true;
    magic = load32(data, 0, true);
    if (magic != kMagicMicro && magic != kMagicNano) return errorAt(0, "bad pcap magic");
  }
  const bool nano = magic == kMagicNano;
  const uint32_t major = data[big ? 4 : 5] << 8 | data[big ? 5 : 4];
  if (major != 2) return errorAt(4, "unsupported pcap version " + std::to_string(major));
  const uint32_t snaplen = load32(data, 16, big);
  // The upper bits of the link-type field carry FCS information.
  const uint32_t link_type = load32(data, 20, big) & 0xffff;

  std::vector<CapturedPacket> out;
  size_t off = kFileHeader;
  while (off < data.size()) {
    if (!fits(data, off, kRecordHeader)) return errorAt(off, "truncated pcap record header");
    const uint32_t sec = load32(data, off, big);
    const uint32_t frac = load32(data, off + 4, big);
    const uint32_t incl = load32(data, off + 8, big);
    const uint32_t orig = load32(data, off + 12, big);
    if (frac >= (nano ? 1'000'000'000u : 1'000'000u)) {
      return errorAt(off + 4, "timestamp fraction out of range: " + std::to_string(frac));
    }
    if (incl > kMaxCapturedPacket) {
      return errorAt(off + 8, "absurd captured length " + std::to_string(incl));
    }
    if (incl > orig) {
      return errorAt(off + 8, "captured length " + std::to_string(incl) +
                                  " exceeds the original length " + std::to_string(orig));
    }
    if (snaplen != 0 && incl > snaplen) {
      return errorAt(off + 8, "captured length " + std::to_string(incl) +
                                  " exceeds the file's snaplen " + std::to_string(snaplen));
    }
    if (!fits(data, off + kRecordHeader, incl)) {
      return errorAt(off, "truncated packet: record says " + std::to_string(incl) + " bytes, " +
                              std::to_string(data.size() - off - kRecordHeader) + " left");
    }
    CapturedPacket p;
    p.timestamp_ns = static_cast<uint64_t>(sec) * 1'000'000'000u + (nano ? frac : frac * 1000ull);
    p.link_type = link_type;
    p.bytes = data.subspan(off + kRecordHeader, incl);
    out.push_back(p);
    off += kRecordHeader + incl;
  }
  return out;
}

std::string linkTypeName(uint32_t link_type) {
  switch (link_type) {
    case kLinkEthernet:
      return "Ethernet";
    case kLinkRaw:
      return "raw IP";
    case kLinkIpv4:
      return "raw IPv4";
    case kLinkIpv6:
      return "raw IPv6";
    case kLinkLinuxSll:
      return "Linux cooked (SLL)";
    case kLinkLinuxSll2:
      return "Linux cooked v2 (SLL2)";
    default:
      return "link type " + std::to_string(link_type);
  }
}

}  // namespace sg
