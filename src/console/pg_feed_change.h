// One change as PgStore announces it: every write NOTIFYs kPgChangeChannel in
// its own transaction (so a listener hears it at commit, in commit order, and
// never for a write rolled back) with a small JSON payload:
//   {"kind":"block","key":"192.0.2.7","op":"put","version":42,"origin":"..."}
// A key longer than kPgChangeMaxKey travels as "" (reload that kind).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.h"

namespace sg::console {

inline constexpr const char* kPgChangeChannel = "syn_guard_changes";
inline constexpr size_t kPgChangeMaxKey = 1024;

// What changed: the record kinds of the Store interface.
namespace change_kind {
inline constexpr const char* kEndpoint = "endpoint";
inline constexpr const char* kEnrollmentToken = "enrollment_token";
inline constexpr const char* kApiToken = "api_token";
inline constexpr const char* kFlood = "flood";
inline constexpr const char* kBlock = "block";
inline constexpr const char* kPolicy = "policy";
inline constexpr const char* kIncident = "incident";
inline constexpr const char* kAudit = "audit";
inline constexpr const char* kMeta = "meta";
inline constexpr const char* kPortFlood = "port_flood";
}  // namespace change_kind

struct StoreChange {
  std::string kind;      // change_kind::*
  std::string key;       // the record's key: endpoint name, block source, flood id, ...
  std::string op;        // "put" | "delete" | "consume"
  uint64_t version = 0;  // the resource version this write made
  std::string origin;    // PgStore::origin() of the store that wrote it
  bool operator==(const StoreChange&) const = default;
};

// kInvalidArgument for a payload that is not such an object (another
// program NOTIFYing the channel).
Result<StoreChange> parseChange(std::string_view payload);

}  // namespace sg::console
