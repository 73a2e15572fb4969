#include "win/etw_decode.h"

#include <array>
#include <cstring>

namespace sg::win {
namespace {

Error malformed(const std::string& why) { return Error(Errc::kInvalidArgument, why); }

uint32_t le32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 |
         static_cast<uint32_t>(p[2]) << 16 | static_cast<uint32_t>(p[3]) << 24;
}
uint16_t le16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | p[1] << 8); }
uint64_t le64(const uint8_t* p) { return le32(p) | static_cast<uint64_t>(le32(p + 4)) << 32; }
// A pointer field: 8 bytes in a 64-bit event, 4 in a 32-bit one.
uint64_t pointerAt(const uint8_t* p, bool pointer64) { return pointer64 ? le64(p) : le32(p); }

bool isAccept(TcpipKind k) {
  return k == TcpipKind::kAcceptComplete || k == TcpipKind::kAcceptRejected;
}

// Builds the attempt from the two sockaddrs: remote = source, local port = destination.
Result<TcpipEvent> connectionEvent(TcpipKind kind, std::span<const uint8_t> local,
                                   std::span<const uint8_t> remote, uint32_t status, uint32_t pid,
                                   uint64_t tcb) {
  TcpipEvent ev;
  ev.kind = kind;
  ev.status = status;
  ev.process_id = pid;
  sg_addr local_addr{};
  uint8_t local_family = 0;
  auto local_port = decodeSockaddr(local, &local_addr, &local_family);
  if (!local_port.ok()) return local_port.error().context("LocalAddress");
  auto remote_port = decodeSockaddr(remote, &ev.attempt.src, &ev.attempt.family);
  if (!remote_port.ok()) return remote_port.error().context("RemoteAddress");
  if (local_family != ev.attempt.family)
    return malformed("local and remote address families differ");
  ev.attempt.dst_port = *local_port;
  ev.attempt.src_port = *remote_port;
  ev.attempt.kind = SG_PKT_TCP;
  ev.attempt.tcp_flags = SG_TCP_SYN;
  // No sequence number in the event: the connection's Tcb stands for it, so
  // that the core's retransmission check (sg_syn_repeat) sees each accepted
  // connection as a new attempt and a repeated event of one as a repeat.
  ev.attempt.tcp_seq = static_cast<uint32_t>(tcb ^ (tcb >> 32));
  ev.attempt.has_src = 1;
  return ev;
}

struct Span {
  size_t offset = 0;
  size_t size = 0;
};

size_t fixedSize(InType t, bool pointer64) {
  switch (t) {
    case InType::kUInt8:
      return 1;
    case InType::kUInt16:
      return 2;
    case InType::kInt32:
    case InType::kUInt32:
    case InType::kBoolean:
    case InType::kHexInt32:
      return 4;
    case InType::kInt64:
    case InType::kUInt64:
    case InType::kFiletime:
    case InType::kHexInt64:
      return 8;
    case InType::kGuid:
      return 16;
    case InType::kPointer:
      return pointer64 ? 8 : 4;
    case InType::kBinary:
      return 0;
  }
  return 0;
}

// Where each field lies in the payload; an error when one does not fit.
Result<size_t> walk(const EventTemplate& t, const EtwRecordView& rec,
                    std::array<Span, kMaxTemplateFields>* spans) {
  const auto& p = rec.payload;
  size_t at = 0;
  for (size_t i = 0; i < t.fields.size(); i++) {
    const TemplateField& f = t.fields[i];
    size_t size = fixedSize(f.type, rec.pointer64);
    if (f.type == InType::kBinary) {
      if (f.length_field < 0) {
        size = f.fixed_length;
      } else {
        const Span& len = (*spans)[static_cast<size_t>(f.length_field)];
        size = len.size == 2 ? le16(p.data() + len.offset) : le32(p.data() + len.offset);
      }
    }
    if (size > p.size() - at) {
      return malformed("payload of " + std::to_string(p.size()) + " bytes ends inside " + f.name);
    }
    (*spans)[i] = Span{at, size};
    at += size;
  }
  return at;
}

int fieldIndex(const EventTemplate& t, const char* name, InType type) {
  for (size_t i = 0; i < t.fields.size(); i++) {
    if (t.fields[i].name == name && t.fields[i].type == type) return static_cast<int>(i);
  }
  return -1;
}

}  // namespace

Result<uint16_t> decodeSockaddr(std::span<const uint8_t> b, sg_addr* addr, uint8_t* family) {
  if (b.size() < 2) return malformed("sockaddr of " + std::to_string(b.size()) + " bytes");
  const uint16_t af = le16(b.data());
  std::memset(addr, 0, sizeof(*addr));
  if (af == kWinAfInet) {
    if (b.size() < 16) return malformed("SOCKADDR_IN of " + std::to_string(b.size()) + " bytes");
    addr->b[10] = 0xff;
    addr->b[11] = 0xff;
    std::memcpy(addr->b + 12, b.data() + 4, 4);
    *family = 4;
    return sg_be16(b.data() + 2);
  }
  if (af == kWinAfInet6) {
    if (b.size() < 28) return malformed("SOCKADDR_IN6 of " + std::to_string(b.size()) + " bytes");
    std::memcpy(addr->b, b.data() + 8, 16);
    *family = 6;
    return sg_be16(b.data() + 2);
  }
  return malformed("address family " + std::to_string(af) + " is neither AF_INET nor AF_INET6");
}

TcpipKind kindOfTask(const std::string& task) {
  if (task == "TcpAcceptListenerComplete") return TcpipKind::kAcceptComplete;
  if (task == "TcpAcceptListenerRejected") return TcpipKind::kAcceptRejected;
  if (task == "TcpGlobalSynAttackEntry") return TcpipKind::kSynAttackEntry;
  if (task == "TcpGlobalSynAttackExit") return TcpipKind::kSynAttackExit;
  return TcpipKind::kOther;
}

Result<TcpipEvent> decodeWithLayout(const EventTemplate& layout, TcpipKind kind,
                                    const EtwRecordView& rec) {
  std::array<Span, kMaxTemplateFields> spans{};
  if (layout.fields.size() > kMaxTemplateFields) return malformed("layout too long");
  auto end = walk(layout, rec, &spans);
  if (!end.ok()) return end.error();
  const uint8_t* p = rec.payload.data();
  auto u32 = [&](const char* name) -> uint32_t {
    const int i = fieldIndex(layout, name, InType::kUInt32);
    return i < 0 ? 0 : le32(p + spans[static_cast<size_t>(i)].offset);
  };
  if (isAccept(kind)) {
    const int local = fieldIndex(layout, "LocalAddress", InType::kBinary);
    const int remote = fieldIndex(layout, "RemoteAddress", InType::kBinary);
    if (local < 0 || remote < 0) return malformed("layout has no LocalAddress/RemoteAddress");
    const Span l = spans[static_cast<size_t>(local)];
    const Span r = spans[static_cast<size_t>(remote)];
    const int tcb = fieldIndex(layout, "Tcb", InType::kPointer);
    const uint64_t tcb_value =
        tcb < 0 ? 0 : pointerAt(p + spans[static_cast<size_t>(tcb)].offset, rec.pointer64);
    return connectionEvent(kind, rec.payload.subspan(l.offset, l.size),
                           rec.payload.subspan(r.offset, r.size), u32("Status"), u32("ProcessId"),
                           tcb_value);
  }
  TcpipEvent ev;
  ev.kind = kind;
  if (kind == TcpipKind::kSynAttackEntry || kind == TcpipKind::kSynAttackExit) {
    ev.syn_attacks_detected = u32("SynAttacksDetected");
  }
  return ev;
}

Result<TcpipEvent> decodeConnectionFast(TcpipKind kind, const EtwRecordView& rec) {
  // LocalAddressLength u32, LocalAddress[len], RemoteAddressLength u32,
  // RemoteAddress[len], Status u32, ProcessId u32, Compartment u32, Tcb
  // pointer, (version 1) ProcessSequenceNumber u64.
  const auto& p = rec.payload;
  const size_t n = p.size();
  if (n < 4)
    return malformed("payload of " + std::to_string(n) + " bytes ends inside LocalAddressLength");
  const size_t llen = le32(p.data());
  if (llen > n - 4)
    return malformed("payload of " + std::to_string(n) + " bytes ends inside LocalAddress");
  const size_t roff = 4 + llen;
  if (n - roff < 4)
    return malformed("payload of " + std::to_string(n) + " bytes ends inside RemoteAddressLength");
  const size_t rlen = le32(p.data() + roff);
  if (rlen > n - roff - 4)
    return malformed("payload of " + std::to_string(n) + " bytes ends inside RemoteAddress");
  const size_t tail = roff + 4 + rlen;  // Status onwards
  const size_t tail_size = 12 + (rec.pointer64 ? 8 : 4) + (rec.version >= 1 ? 8 : 0);
  if (n - tail < tail_size)
    return malformed("payload of " + std::to_string(n) + " bytes ends inside its fixed fields");
  return connectionEvent(kind, p.subspan(4, llen), p.subspan(roff + 4, rlen), le32(p.data() + tail),
                         le32(p.data() + tail + 4), pointerAt(p.data() + tail + 12, rec.pointer64));
}

Result<TcpipEvent> decodeRateLimitFast(TcpipKind kind, const EtwRecordView& rec) {
  if (rec.payload.size() < 24) {
    return malformed("payload of " + std::to_string(rec.payload.size()) +
                     " bytes ends inside its fields");
  }
  TcpipEvent ev;
  ev.kind = kind;
  ev.syn_attacks_detected = le32(rec.payload.data());
  return ev;
}

TcpipDecoder::TcpipDecoder(const std::vector<EventTemplate>& resolved) {
  const std::vector<EventTemplate> builtin = builtinTcpipTemplates();
  for (const EventTemplate& t : resolved) {
    const TcpipKind kind = kindOfTask(t.task);
    if (kind == TcpipKind::kOther) continue;
    if (const std::string why = layoutProblem(t); !why.empty()) {
      problems_.push_back(t.task + " (id " + std::to_string(t.id) + " version " +
                          std::to_string(t.version) + "): " + why);
      continue;
    }
    Route r{t.id, t.version, kind, false, t};
    for (const EventTemplate& b : builtin) {
      if (b.task == t.task && b.version == t.version && sameLayout(b, t)) r.fast = true;
    }
    if (!r.fast) {
      problems_.push_back(t.task + " (id " + std::to_string(t.id) + " version " +
                          std::to_string(t.version) +
                          "): layout differs from the built-in one; fields are walked");
    }
    routes_.push_back(std::move(r));
  }
}

Result<TcpipEvent> TcpipDecoder::decode(const EtwRecordView& rec) const {
  for (const Route& r : routes_) {
    if (r.id != rec.id || r.version != rec.version) continue;
    if (!r.fast) return decodeWithLayout(r.layout, r.kind, rec);
    if (isAccept(r.kind)) return decodeConnectionFast(r.kind, rec);
    return decodeRateLimitFast(r.kind, rec);
  }
  return TcpipEvent{};
}

}  // namespace sg::win
