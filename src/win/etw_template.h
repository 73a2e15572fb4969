// An ETW event's field layout, as TDH describes it (TRACE_EVENT_INFO's
// EventPropertyInfoArray) or as syn-guard knows it from the provider's
// manifest: the portable form both the decoder (etw_decode.h) and the
// start-up check (a built-in fast-path layout against what TDH says on this
// Windows build) work on. Plain C++: built and tested on Linux too.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace sg::win {

// TDH's _TDH_IN_TYPE values (tdh.h), the ones the TCPIP events use or that
// have a fixed size. Any other type makes a layout unusable here.
enum class InType : uint16_t {
  kUInt8 = 4,
  kUInt16 = 6,
  kInt32 = 7,
  kUInt32 = 8,
  kInt64 = 9,
  kUInt64 = 10,
  kBoolean = 13,  // 4 bytes (a Win32 BOOL)
  kBinary = 14,   // length from an earlier field, or fixed
  kGuid = 15,
  kPointer = 16,  // 4 or 8 bytes: the event header's 32/64-bit flag says
  kFiletime = 17,
  kHexInt32 = 20,
  kHexInt64 = 21,
};

struct TemplateField {
  std::string name;
  InType type = InType::kUInt32;
  int length_field = -1;      // kBinary: index of the earlier field holding its byte length
  uint16_t fixed_length = 0;  // kBinary without a length field: its fixed size
  friend bool operator==(const TemplateField&, const TemplateField&) = default;
};

struct EventTemplate {
  uint16_t id = 0;
  uint8_t version = 0;
  std::string task;  // the event's task name: what syn-guard resolves events by
  std::vector<TemplateField> fields;
};

// At most this many fields are walked (the TCPIP events used have 9 or fewer).
inline constexpr size_t kMaxTemplateFields = 16;

// Whether two layouts put the same fields, of the same types, in the same
// order (names included): a built-in fast path may stand for TDH's layout only then.
bool sameLayout(const EventTemplate& a, const EventTemplate& b);

// Empty when the layout can be walked (supported types, length fields that
// come earlier and are integers, at most kMaxTemplateFields); else why not.
std::string layoutProblem(const EventTemplate& t);

// Microsoft-Windows-TCPIP ({2F07E2EE-15DB-40F1-90EF-9D7BA282188A}) events
// syn-guard consumes, as the provider's manifest lays them out (see
// docs/windows-notes.md for the manifests read): 1017 TcpAcceptListenerComplete
// and 1016 TcpAcceptListenerRejected (template TcpAccpetListenerRouteLookupFailureArgs,
// version 0; version 1 appends ProcessSequenceNumber), 1055
// TcpGlobalSynAttackEntry and 1063 TcpGlobalSynAttackExit (TcpSecurityRateLimitArgs).
std::vector<EventTemplate> builtinTcpipTemplates();

}  // namespace sg::win
