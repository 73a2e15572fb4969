// validateConfig, the field checks it shares with the TOML loader, and the
// names of the enums.
#include "core/config.h"

#include <algorithm>
#include <set>

#include "core/config_checks.h"

namespace sg {
namespace limits {
namespace {

Error invalid(std::string message) { return makeError(Errc::kInvalidArgument, std::move(message)); }

std::string quoted(std::string_view text) { return "'" + std::string(text) + "'"; }

bool isDigit(char c) { return c >= '0' && c <= '9'; }
bool isAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// A DNS name: labels of letters, digits and '-', separated by dots.
bool isHostName(std::string_view host) {
  if (host.empty() || host.size() > 253) return false;
  size_t label = 0;
  for (size_t i = 0; i <= host.size(); i++) {
    if (i == host.size() || host[i] == '.') {
      if (label == 0 || label > 63) return false;
      label = 0;
      continue;
    }
    const char c = host[i];
    if (!isAlpha(c) && !isDigit(c) && c != '-') return false;
    ++label;
  }
  // All-numeric names ("1.2.3") are mistyped IPv4 addresses, not names.
  return std::any_of(host.begin(), host.end(), isAlpha);
}

}  // namespace

Result<void> checkRange(int64_t value, UintRange range) {
  if (value < range.lo || value > range.hi) {
    return invalid(std::to_string(value) + " is out of range (" + std::to_string(range.lo) + ".." +
                   std::to_string(range.hi) + ")");
  }
  return Ok{};
}

Result<void> checkRange(Nanos value, DurationRange range) {
  if (value < range.lo || value > range.hi) {
    return invalid(formatDuration(value) + " is out of range (" + formatDuration(range.lo) + ".." +
                   formatDuration(range.hi) + ")");
  }
  return Ok{};
}

Result<void> checkInterfaceName(std::string_view name) {
  if (name.empty()) return invalid("empty interface name");
  if (name.size() > kMaxInterfaceName) {
    return invalid("interface name " + quoted(name) + " is longer than " +
                   std::to_string(kMaxInterfaceName) + " bytes");
  }
  const bool bad_char = std::any_of(name.begin(), name.end(), [](char c) {
    return c == '/' || c == ':' || c == '\0' || static_cast<unsigned char>(c) <= ' ' || c == 0x7f;
  });
  if (bad_char || name == "." || name == "..") {
    return invalid(quoted(name) + " is not a valid interface name");
  }
  return Ok{};
}

Result<void> checkNftTable(std::string_view name) {
  if (name.empty()) return invalid("empty nftables table name");
  if (name.size() > kMaxNftTableName) {
    return invalid("nftables table name is longer than " + std::to_string(kMaxNftTableName) +
                   " bytes");
  }
  const bool ok = isAlpha(name.front()) && std::all_of(name.begin(), name.end(), [](char c) {
                    return isAlpha(c) || isDigit(c) || c == '_' || c == '-';
                  });
  if (!ok) {
    return invalid(quoted(name) +
                   " is not a valid nftables table name (a letter, then letters, digits, '_' "
                   "or '-')");
  }
  return Ok{};
}

Result<void> checkListenAddress(std::string_view text) {
  if (text.empty()) return Ok{};  // disabled
  const std::string hint = " (expected host:port, e.g. 127.0.0.1:9469 or [::1]:9469)";
  std::string_view host;
  std::string_view port;
  if (text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return invalid(quoted(text) + " is not a listen address" + hint);
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
    auto addr = parseAddress(host);
    if (!addr.ok() || host.find(':') == std::string_view::npos) {
      return invalid(quoted(text) + ": " + quoted(host) + " is not an IPv6 address" + hint);
    }
  } else {
    const size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      return invalid(quoted(text) + " has no port" + hint);
    }
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) {
      return invalid(quoted(text) + ": an IPv6 host needs brackets, e.g. [::1]:9469");
    }
    if (host.empty()) {
      return invalid(quoted(text) + " has no host (use 0.0.0.0 or [::] for every address)");
    }
    if (!parseAddress(host).ok() && !isHostName(host)) {
      return invalid(quoted(text) + ": " + quoted(host) + " is not an IPv4 address or host name" +
                     hint);
    }
  }
  if (port.empty() || port.size() > 5 || !std::all_of(port.begin(), port.end(), isDigit) ||
      std::stoul(std::string(port)) > 65535) {
    return invalid(quoted(text) + ": port " + quoted(port) + " is not a number in 0..65535");
  }
  return Ok{};
}

Result<void> checkSocketPath(std::string_view path) {
  if (path.empty()) return invalid("empty socket path");
  if (path.front() != '/') return invalid(quoted(path) + " is not an absolute path");
  if (path.find('\0') != std::string_view::npos) return invalid("socket path contains a NUL byte");
  if (path.size() > kMaxSocketPath) {
    return invalid("socket path is longer than " + std::to_string(kMaxSocketPath) + " bytes");
  }
  return Ok{};
}

// Windows (the agent's mingw build): also a drive path (C:\ or C:/) or UNC.
static bool isAbsoluteDir(std::string_view path) {
#ifdef _WIN32
  const bool drive = path.size() >= 3 && ((path[0] | 0x20) >= 'a' && (path[0] | 0x20) <= 'z') &&
                     path[1] == ':' && (path[2] == '\\' || path[2] == '/');
  if (drive || path.substr(0, 2) == "\\\\") return true;
#endif
  return path.front() == '/';
}

Result<void> checkDirPath(std::string_view path, bool may_be_empty) {
  if (path.empty()) return may_be_empty ? Result<void>(Ok{}) : invalid("empty directory path");
  if (!isAbsoluteDir(path)) return invalid(quoted(path) + " is not an absolute path");
  if (path.find('\0') != std::string_view::npos) return invalid("path contains a NUL byte");
  if (path.size() > 4000) return invalid("path is longer than 4000 bytes");
  return Ok{};
}

}  // namespace limits

uint32_t connectionThreshold(const AgentConfig& c) {
  if (c.connection_threshold != 0) return c.connection_threshold;
  const uint64_t auto_value = uint64_t{c.threshold} * kConnectionFactor;
  return static_cast<uint32_t>(std::min<uint64_t>(auto_value, limits::kThreshold.hi));
}

Result<void> validateConfig(const AgentConfig& c) {
  using namespace limits;
  auto field = [](const char* name, Result<void> r) -> Result<void> {
    if (!r.ok()) return r.error().context(name);
    return Ok{};
  };
  std::set<std::string> seen;
  for (const auto& name : c.interfaces) {
    SG_TRY(field("interfaces", checkInterfaceName(name)));
    if (!seen.insert(name).second) {
      return makeError(Errc::kInvalidArgument, "interfaces: '" + name + "' is listed twice");
    }
  }
  SG_TRY(field("threshold", checkRange(c.threshold, kThreshold)));
  SG_TRY(field("connection_threshold", checkRange(c.connection_threshold, kConnectionThreshold)));
  if (c.connection_threshold != 0 && c.connection_threshold < c.threshold) {
    return makeError(Errc::kInvalidArgument,
                     "connection_threshold: " + std::to_string(c.connection_threshold) +
                         " is below the flood threshold " + std::to_string(c.threshold) +
                         " (0 takes " + std::to_string(kConnectionFactor) + "x it)");
  }
  SG_TRY(field("window", checkRange(c.window, kWindow)));
  SG_TRY(field("block_duration", checkRange(c.block_duration, kBlockDuration)));
  SG_TRY(field("max_block_level", checkRange(c.max_block_level, kMaxBlockLevel)));
  SG_TRY(field("repeat_memory", checkRange(c.repeat_memory, kRepeatMemory)));
  SG_TRY(field("ipv6_prefix", checkRange(c.ipv6_prefix, kIpv6Prefix)));
  SG_TRY(field("max_sources", checkRange(c.max_sources, kMaxSources)));
  SG_TRY(field("max_blocks", checkRange(c.max_blocks, kMaxBlocks)));
  SG_TRY(field("max_prefix_blocks", checkRange(c.max_prefix_blocks, kMaxPrefixBlocks)));
  SG_TRY(field("admit_per_sec", checkRange(c.admit_per_sec, kAdmitPerSec)));
  SG_TRY(field("admit_min", checkRange(c.admit_min, kAdmitMin)));
  SG_TRY(field("events_per_sec", checkRange(c.events_per_sec, kEventsPerSec)));
  SG_TRY(field("nft_table", checkNftTable(c.nft_table)));
  SG_TRY(field("metrics_listen", checkListenAddress(c.metrics_listen)));
  SG_TRY(field("control_socket", checkSocketPath(c.control_socket)));
  SG_TRY(field("pin_dir", checkDirPath(c.pin_dir, true)));
  SG_TRY(field("state_dir", checkDirPath(c.state_dir, false)));
  SG_TRY(validatePortFloodOptions(c.port_flood));
  SG_TRY(validateSynCookieConfig(c.syncookies));
  if (c.source_response == SourceResponse::kChallenge && c.enforcer != EnforcerKind::kXdp) {
    return makeError(Errc::kInvalidArgument,
                     std::string("source_response: challenge needs enforcer xdp (not ") +
                         enforcerName(c.enforcer) + "): XDP answers the challenged SYNs");
  }
  SG_TRY(validateReflectionOptions(c.reflection));
  SG_TRY(validateVerifiedOptions(c.verified));
  return Ok{};
}

const char* enforcerName(EnforcerKind kind) {
  switch (kind) {
    case EnforcerKind::kXdp:
      return "xdp";
    case EnforcerKind::kNftables:
      return "nftables";
    case EnforcerKind::kNone:
      return "none";
  }
  return "unknown";
}

Result<EnforcerKind> parseEnforcer(std::string_view text) {
  if (text == "xdp") return EnforcerKind::kXdp;
  if (text == "nftables") return EnforcerKind::kNftables;
  if (text == "none") return EnforcerKind::kNone;
  return makeError(Errc::kInvalidArgument,
                   "unknown enforcer '" + std::string(text) + "' (use xdp, nftables or none)");
}

Result<XdpMode> parseXdpMode(std::string_view text) {
  if (text == "auto") return XdpMode::kAuto;
  if (text == "native") return XdpMode::kNative;
  if (text == "generic") return XdpMode::kGeneric;
  return makeError(Errc::kInvalidArgument,
                   "unknown XDP mode '" + std::string(text) + "' (use auto, native or generic)");
}

const char* sourceResponseName(SourceResponse response) {
  return response == SourceResponse::kChallenge ? "challenge" : "block";
}

Result<SourceResponse> parseSourceResponse(std::string_view text) {
  if (text == "block") return SourceResponse::kBlock;
  if (text == "challenge") return SourceResponse::kChallenge;
  return makeError(Errc::kInvalidArgument,
                   "unknown source response '" + std::string(text) + "' (use block or challenge)");
}

const char* blockScopeName(BlockScope scope) {
  return scope == BlockScope::kAll ? "all" : "attempts";
}

Result<BlockScope> parseBlockScope(std::string_view text) {
  if (text == "attempts") return BlockScope::kAttempts;
  if (text == "all") return BlockScope::kAll;
  return makeError(Errc::kInvalidArgument,
                   "unknown block scope '" + std::string(text) + "' (use attempts or all)");
}

Result<LogFormat> parseLogFormat(std::string_view text) {
  if (text == "text") return LogFormat::kText;
  if (text == "json") return LogFormat::kJson;
  return makeError(Errc::kInvalidArgument,
                   "unknown log format '" + std::string(text) + "' (use text or json)");
}

}  // namespace sg
