// The control protocol between `syn-guard status|blocks|block|unblock` and the
// running agent: one JSON object per line each way over a root-only unix
// socket.
//   request:  {"cmd":"status"} | {"cmd":"blocks"} |
//             {"cmd":"block","src":"192.0.2.7","for_ms":600000} |
//             {"cmd":"block","src":"192.0.2.7","permanent":true} |
//             {"cmd":"block","src":"198.51.100.0/24","for_ms":600000} |
//             {"cmd":"unblock","src":"192.0.2.7"} | {"cmd":"reload"}
//   "src" is an address, or a prefix (a.b.c.d/n, x::/n: a prefix block).
//   response: {"ok":true,...} or {"ok":false,"error":"why"}
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/address.h"
#include "core/result.h"

namespace sg::agent {

enum class ControlCmd { kStatus, kBlocks, kBlock, kUnblock, kReload };

struct ControlRequest {
  ControlCmd cmd = ControlCmd::kStatus;
  Address src;             // block, unblock
  uint64_t for_ms = 0;     // block: 0 = the configured block duration
  bool permanent = false;  // block: no expiry, until unblock (not with for_ms)
  // block, unblock: "src" written as a prefix (with '/'); `src` is then its
  // first address. An address-length prefix (/32, /128) is kept as a prefix:
  // the book sends it down the per-source path.
  std::optional<Prefix> prefix;
};

// Every malformed request gets an error that says what is wrong.
Result<ControlRequest> parseControlRequest(std::string_view line);
std::string encodeControlRequest(const ControlRequest& request);

constexpr size_t kMaxControlLine = 64 * 1024;

}  // namespace sg::agent
