// pcapng (draft-ietf-opsawg-pcapng). Every block: type, total length, body,
// total length again; lengths are multiples of 4. A Section Header Block sets
// the byte order of the blocks after it; Interface Description Blocks give
// each interface its link type, snaplen and timestamp resolution.
#include <limits>

#include "core/pcap.h"
#include "core/pcap_bytes.h"

namespace sg {

using pcap_detail::errorAt;
using pcap_detail::fits;
using pcap_detail::load16;
using pcap_detail::load32;

namespace {

constexpr uint32_t kShb = 0x0a0d0d0a, kIdb = 1, kPb = 2, kSpb = 3, kEpb = 6;
constexpr uint32_t kByteOrderMagic = 0x1a2b3c4d;
constexpr uint16_t kOptEnd = 0, kOptTsresol = 9;

struct Interface {
  uint32_t link_type = 0;
  uint32_t snaplen = 0;
  uint8_t tsresol = 6;  // pcapng's if_tsresol byte: 10^-6 s by default
};

struct Section {
  bool big = false;
  std::vector<Interface> ifaces;
};

// Timestamp in units of the interface's resolution -> ns, or an error.
Result<uint64_t> toNs(uint64_t ts, uint8_t tsresol, size_t off) {
  const unsigned exp = tsresol & 0x7f;
  unsigned __int128 ns;
  if (tsresol & 0x80) {  // 2^-exp seconds
    ns = (static_cast<unsigned __int128>(ts) * 1'000'000'000u) >> exp;
  } else {  // 10^-exp seconds
    ns = ts;
    for (unsigned e = exp; e < 9; e++) ns *= 10;
    for (unsigned e = 9; e < exp && ns != 0; e++) ns /= 10;
  }
  if (ns > std::numeric_limits<uint64_t>::max()) return errorAt(off, "timestamp out of range");
  return static_cast<uint64_t>(ns);
}

Result<Interface> parseIdb(std::span<const uint8_t> d, size_t off, uint32_t len, bool big) {
  if (len < 20) return errorAt(off, "interface description block too short");
  Interface ifc;
  ifc.link_type = load16(d, off + 8, big);
  ifc.snaplen = load32(d, off + 12, big);
  size_t o = off + 16;
  const size_t end = off + len - 4;
  while (o < end) {
    if (end - o < 4) return errorAt(o, "truncated option header");
    const uint16_t code = load16(d, o, big), olen = load16(d, o + 2, big);
    const size_t padded = (static_cast<size_t>(olen) + 3) & ~size_t{3};
    if (padded > end - o - 4) return errorAt(o, "option runs past its block");
    if (code == kOptEnd) break;
    if (code == kOptTsresol) {
      if (olen != 1) return errorAt(o, "if_tsresol must be 1 byte");
      ifc.tsresol = d[o + 4];
    }
    o += 4 + padded;
  }
  return ifc;
}

// EPB / PB / SPB -> packet. `hdr` is the fixed part of the body before data.
Result<CapturedPacket> parsePacket(std::span<const uint8_t> d, size_t off, uint32_t type,
                                   uint32_t len, const Section& s, uint64_t last_ts) {
  const bool big = s.big;
  const size_t hdr = type == kSpb ? 4 : 20;
  if (len < 12 + hdr) return errorAt(off, "packet block too short");
  const size_t room = len - 12 - hdr;  // data + padding + options
  uint32_t iface = 0, cap = 0, orig = 0;
  uint64_t ts = 0;
  if (type == kSpb) {
    orig = load32(d, off + 8, big);
    cap = orig;
  } else {
    iface = type == kEpb ? load32(d, off + 8, big) : load16(d, off + 8, big);
    ts = static_cast<uint64_t>(load32(d, off + 12, big)) << 32 | load32(d, off + 16, big);
    cap = load32(d, off + 20, big);
    orig = load32(d, off + 24, big);
  }
  if (iface >= s.ifaces.size()) {
    return errorAt(off + 8, "packet names interface " + std::to_string(iface) + " of " +
                                std::to_string(s.ifaces.size()) + " described");
  }
  const Interface& ifc = s.ifaces[iface];
  if (type == kSpb) {  // captured length is implied: min(orig, snaplen, room)
    if (ifc.snaplen != 0 && cap > ifc.snaplen) cap = ifc.snaplen;
    if (cap > room) cap = static_cast<uint32_t>(room);
  }
  if (cap > kMaxCapturedPacket)
    return errorAt(off + 20, "absurd captured length " + std::to_string(cap));
  if (cap > orig) {
    return errorAt(off + 20, "captured length " + std::to_string(cap) +
                                 " exceeds the original length " + std::to_string(orig));
  }
  if (ifc.snaplen != 0 && cap > ifc.snaplen) {
    return errorAt(off + 20, "captured length " + std::to_string(cap) +
                                 " exceeds the interface's snaplen " + std::to_string(ifc.snaplen));
  }
  if (((static_cast<size_t>(cap) + 3) & ~size_t{3}) > room) {
    return errorAt(off, "packet data (" + std::to_string(cap) + " bytes) runs past its block");
  }
  CapturedPacket p;
  p.link_type = ifc.link_type;
  p.bytes = d.subspan(off + 8 + hdr, cap);
  if (type == kSpb) {
    p.timestamp_ns = last_ts;
  } else {
    auto ns = toNs(ts, ifc.tsresol, off + 12);
    if (!ns.ok()) return ns.error();
    p.timestamp_ns = *ns;
  }
  return p;
}

}  // namespace

Result<std::vector<CapturedPacket>> readPcapng(std::span<const uint8_t> d) {
  std::vector<CapturedPacket> out;
  Section s;
  bool have_section = false;
  uint64_t last_ts = 0;
  size_t off = 0;
  while (off < d.size()) {
    if (!fits(d, off, 12)) return errorAt(off, "truncated block header");
    uint32_t type = load32(d, off, s.big);
    if (load32(d, off, false) == kShb) {
      type = kShb;
      if (load32(d, off + 8, false) == kByteOrderMagic) {
        s.big = false;
      } else if (load32(d, off + 8, true) == kByteOrderMagic) {
        s.big = true;
      } else {
        return errorAt(off + 8, "bad byte-order magic in section header");
      }
      s.ifaces.clear();
      have_section = true;
    } else if (!have_section) {
      return errorAt(off, "not a pcapng file: no section header block first");
    }
    const uint32_t len = load32(d, off + 4, s.big);
    if (len % 4 != 0)
      return errorAt(off + 4, "block length " + std::to_string(len) + " not a multiple of 4");
    if (len < (type == kShb ? 28u : 12u)) {
      return errorAt(off + 4, "block length " + std::to_string(len) + " smaller than its header");
    }
    if (!fits(d, off, len)) {
      return errorAt(off + 4, "truncated block: length " + std::to_string(len) + ", " +
                                  std::to_string(d.size() - off) + " bytes left");
    }
    if (load32(d, off + len - 4, s.big) != len) {
      return errorAt(off + len - 4, "trailing block length differs from the leading one");
    }
    if (type == kShb) {
      const uint16_t major = load16(d, off + 12, s.big);
      if (major != 1)
        return errorAt(off + 12, "unsupported pcapng version " + std::to_string(major));
    } else if (type == kIdb) {
      auto ifc = parseIdb(d, off, len, s.big);
      if (!ifc.ok()) return ifc.error();
      s.ifaces.push_back(*ifc);
    } else if (type == kEpb || type == kPb || type == kSpb) {
      auto p = parsePacket(d, off, type, len, s, last_ts);
      if (!p.ok()) return p.error();
      last_ts = p->timestamp_ns;
      out.push_back(*p);
    }
    off += len;  // every other block type is skipped by its length
  }
  if (!have_section) return errorAt(0, "empty pcapng file");
  return out;
}

}  // namespace sg
