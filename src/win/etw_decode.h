// Decoding of Microsoft-Windows-TCPIP ETW events into the core's attempt
// records (sg_pkt, as the XDP parser fills it: a TCP SYN from the remote
// address to the local port), which Tracker::onPacket counts unchanged.
//
// Events are resolved by their task name (the IDs and templates differ between
// Windows builds): TcpipDecoder takes the layouts TDH gives at start
// (etw_tdh.h on Windows; the built-in ones when TDH cannot say). An event whose
// layout matches the built-in one takes the fast path (fixed reads, no walk);
// any other is walked field by field from its TDH layout. Both paths answer
// the same for every payload (the fuzz target fuzz/etw_fuzz.cpp checks it).
// Every byte is bounds-checked: a truncated or inconsistent payload is an
// error, never a guess. Plain C++: built and tested on Linux too.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/result.h"
#include "sg_parse.h"
#include "sg_shared.h"
#include "win/etw_template.h"

namespace sg::win {

// What the ETW callback passes on from an EVENT_RECORD.
struct EtwRecordView {
  uint16_t id = 0;
  uint8_t version = 0;
  bool pointer64 = true;             // EVENT_HEADER_FLAG_64_BIT_HEADER (else 32-bit)
  std::span<const uint8_t> payload;  // UserData, UserDataLength bytes
};

enum class TcpipKind : uint8_t {
  kOther,           // an event of the provider syn-guard does not use
  kAcceptComplete,  // TcpAcceptListenerComplete: a handshake completed
  kAcceptRejected,  // TcpAcceptListenerRejected: a connection refused at accept
  kSynAttackEntry,  // TcpGlobalSynAttackEntry: tcpip.sys entered its SYN-attack state
  kSynAttackExit,   // TcpGlobalSynAttackExit
};

struct TcpipEvent {
  TcpipKind kind = TcpipKind::kOther;
  sg_pkt attempt{};  // accepts: the attempt as the core counts it
  uint32_t status = 0;
  uint32_t process_id = 0;
  uint32_t syn_attacks_detected = 0;  // SYN-attack events: tcpip.sys's count
};

// Windows' address families (ws2def.h): AF_INET6 is 23 there, not Linux's 10.
inline constexpr uint16_t kWinAfInet = 2;
inline constexpr uint16_t kWinAfInet6 = 23;

// A SOCKADDR_IN (16 bytes: family, port big-endian, address, zero) or
// SOCKADDR_IN6 (28 bytes: family, port, flow info, address, scope id) as the
// events carry them. Fills out->src, family and the given port; an error says why not.
Result<uint16_t> decodeSockaddr(std::span<const uint8_t> bytes, sg_addr* addr, uint8_t* family);

// The task names syn-guard resolves, and what each means.
TcpipKind kindOfTask(const std::string& task);

class TcpipDecoder {
 public:
  // From the layouts this host's TDH gave (or builtinTcpipTemplates()).
  // Events of unknown tasks are left out; layouts that cannot be walked are
  // left out too, each with a line in problems().
  explicit TcpipDecoder(const std::vector<EventTemplate>& resolved);

  // kOther for an event it does not use; an error (kInvalidArgument) for a
  // payload that does not fit its layout.
  Result<TcpipEvent> decode(const EtwRecordView& rec) const;

  // How each (id, version) is decoded, for the start-up log.
  struct Route {
    uint16_t id = 0;
    uint8_t version = 0;
    TcpipKind kind = TcpipKind::kOther;
    bool fast = false;  // the built-in layout (fixed reads), else a field walk
    EventTemplate layout;
  };
  const std::vector<Route>& routes() const { return routes_; }
  const std::vector<std::string>& problems() const { return problems_; }

 private:
  std::vector<Route> routes_;
  std::vector<std::string> problems_;
};

// The two paths, public for the differential fuzz target and the tests.
Result<TcpipEvent> decodeWithLayout(const EventTemplate& layout, TcpipKind kind,
                                    const EtwRecordView& rec);
Result<TcpipEvent> decodeConnectionFast(TcpipKind kind, const EtwRecordView& rec);
Result<TcpipEvent> decodeRateLimitFast(TcpipKind kind, const EtwRecordView& rec);

}  // namespace sg::win
