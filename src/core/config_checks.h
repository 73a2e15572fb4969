// The accepted values of every AgentConfig field, written once: used by
// validateConfig, by the TOML loader (which names the key and line), and by
// anyone who shows the ranges (flag help, docs). Each check's message says
// what is wrong with the value; the caller prefixes the field or key name.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/duration.h"
#include "core/result.h"

namespace sg::limits {

struct UintRange {
  uint32_t lo;
  uint32_t hi;
};
struct DurationRange {
  Nanos lo;
  Nanos hi;
};

using std::chrono::hours;
using std::chrono::milliseconds;

inline constexpr UintRange kThreshold{1, 1'000'000};
inline constexpr UintRange kConnectionThreshold{0, 1'000'000};  // 0: 10x kThreshold's value
inline constexpr DurationRange kWindow{milliseconds(1), hours(1)};
inline constexpr DurationRange kBlockDuration{milliseconds(1), hours(24)};
inline constexpr UintRange kMaxBlockLevel{0, 16};
inline constexpr DurationRange kRepeatMemory{Nanos(0), hours(720)};  // 30 days
inline constexpr UintRange kIpv6Prefix{1, 128};
// SYN cookies (core/syncookie_config.h).
inline constexpr UintRange kCookieMss{536, 9000};
inline constexpr UintRange kCookieWscale{0, 14};
inline constexpr UintRange kCookieTtl{1, 255};
inline constexpr UintRange kMaxSources{1024, 16u << 20};
inline constexpr UintRange kMaxBlocks{16, 1u << 20};
inline constexpr UintRange kMaxPrefixBlocks{1, 1u << 16};
inline constexpr UintRange kAdmitPerSec{1, 10'000'000};
inline constexpr UintRange kAdmitMin{0, 1'000'000};
inline constexpr UintRange kEventsPerSec{1, 1'000'000};
inline constexpr size_t kMaxNftTableName = 255;  // NFT_NAME_MAXLEN - 1
inline constexpr size_t kMaxInterfaceName = 15;  // IFNAMSIZ - 1
inline constexpr size_t kMaxSocketPath = 107;    // sizeof(sun_path) - 1

// "0 is out of range (1..1000000)"; `value` is wider than the field so that
// a too-large or negative config value is reported as written.
Result<void> checkRange(int64_t value, UintRange range);
// "0s is out of range (1ms..1h)"
Result<void> checkRange(Nanos value, DurationRange range);
// A Linux interface name: 1..15 bytes, not "." or "..", no '/', ':', spaces.
Result<void> checkInterfaceName(std::string_view name);
// An nftables table name: a letter, then letters, digits, '_' or '-' (the one
// check: NftEnforcer and the nft baseline use it too).
Result<void> checkNftTable(std::string_view name);
// host:port with port 0..65535; host an IPv4 address, a DNS name, or an IPv6
// address in brackets ("[::1]:9469"). "" is accepted (disabled).
Result<void> checkListenAddress(std::string_view text);
// An absolute path that fits in sockaddr_un.
Result<void> checkSocketPath(std::string_view path);
// An absolute directory path ("" allowed when `may_be_empty`).
Result<void> checkDirPath(std::string_view path, bool may_be_empty);

}  // namespace sg::limits
