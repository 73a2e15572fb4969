// The TOML config file: flat keys (deploy/syn-guard.toml documents each one)
// read into an AgentConfig. Every error names the key, the file and the line.
#include <toml++/toml.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "core/config.h"
#include "core/config_checks.h"

namespace sg {
namespace {

constexpr size_t kMaxFileBytes = 1 << 20;

// Where a value came from, to make "KEY at FILE:LINE: why" errors.
struct KeyCtx {
  std::string_view key;
  const std::string& origin;

  Error fail(const toml::node& at, const std::string& why) const {
    return makeError(Errc::kInvalidArgument, std::string(key) + " at " + origin + ":" +
                                                 std::to_string(at.source().begin.line) + ": " +
                                                 why);
  }
  template <typename T>
  Result<T> check(const toml::node& at, Result<T> r) const {
    if (!r.ok()) return fail(at, r.error().message());
    return r;
  }
  Result<void> check(const toml::node& at, const Result<void>& r) const {
    if (!r.ok()) return fail(at, r.error().message());
    return Ok{};
  }
};

const char* typeName(toml::node_type t) {
  switch (t) {
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
    default:
      return "nothing";
  }
}

Error wrongType(const KeyCtx& ctx, const toml::node& n, const char* expected) {
  return ctx.fail(n, std::string("expected ") + expected + ", got " + typeName(n.type()));
}

Result<std::string> readString(const KeyCtx& ctx, const toml::node& n, const char* expected) {
  const auto* s = n.as_string();
  if (s == nullptr) return wrongType(ctx, n, expected);
  return s->get();
}

Result<uint32_t> readUint(const KeyCtx& ctx, const toml::node& n, limits::UintRange range) {
  const auto* i = n.as_integer();
  if (i == nullptr) return wrongType(ctx, n, "an integer");
  SG_TRY(ctx.check(n, limits::checkRange(i->get(), range)));
  return static_cast<uint32_t>(i->get());
}

Result<Nanos> readDuration(const KeyCtx& ctx, const toml::node& n, limits::DurationRange range) {
  auto text = readString(ctx, n, "a duration string such as \"5s\"");
  if (!text.ok()) return text.error();
  auto d = ctx.check(n, parseDuration(*text));
  if (!d.ok()) return d.error();
  SG_TRY(ctx.check(n, limits::checkRange(*d, range)));
  return *d;
}

// An array of strings, each checked by `parse` (which reports its own error).
template <typename T, typename Parse>
Result<std::vector<T>> readList(const KeyCtx& ctx, const toml::node& n, Parse parse) {
  const auto* arr = n.as_array();
  if (arr == nullptr) return wrongType(ctx, n, "an array of strings");
  std::vector<T> out;
  for (const auto& el : *arr) {
    auto text = readString(ctx, el, "an array of strings");
    if (!text.ok()) return text.error();
    auto v = ctx.check(el, parse(*text));
    if (!v.ok()) return v.error();
    out.push_back(std::move(*v));
  }
  return out;
}

// An integer or a float (ranges: validatePortFloodOptions, after the file).
Result<double> readNumber(const KeyCtx& ctx, const toml::node& n) {
  if (const auto* i = n.as_integer()) return static_cast<double>(i->get());
  if (const auto* f = n.as_floating_point()) return f->get();
  return wrongType(ctx, n, "a number");
}

Result<bool> readBool(const KeyCtx& ctx, const toml::node& n) {
  const auto* b = n.as_boolean();
  if (b == nullptr) return wrongType(ctx, n, "a boolean");
  return b->get();
}

Result<Nanos> readAnyDuration(const KeyCtx& ctx, const toml::node& n) {
  auto text = readString(ctx, n, "a duration string such as \"5s\"");
  if (!text.ok()) return text.error();
  return ctx.check(n, parseDuration(*text));
}

template <typename Enum, typename Parse>
Result<Enum> readEnum(const KeyCtx& ctx, const toml::node& n, Parse parse) {
  auto text = readString(ctx, n, "a string");
  if (!text.ok()) return text.error();
  return ctx.check(n, parse(*text));
}

// Sets `out` from `r`, or returns r's error from the enclosing function.
#define SG_SET(out, expr)                          \
  do {                                             \
    auto sg_set_r_ = (expr);                       \
    if (!sg_set_r_.ok()) return sg_set_r_.error(); \
    (out) = std::move(*sg_set_r_);                 \
  } while (0)

using Apply = Result<void> (*)(const KeyCtx&, const toml::node&, AgentConfig&);

struct KeySpec {
  const char* key;
  Apply apply;
};

Result<std::string> interfaceName(const std::string& s) {
  SG_TRY(limits::checkInterfaceName(s));
  return s;
}

// clang-format off
const KeySpec kKeys[] = {
  {"interfaces", [](const KeyCtx& k, const toml::node& n, AgentConfig& c) -> Result<void> {
     SG_SET(c.interfaces, readList<std::string>(k, n, interfaceName)); return Ok{}; }},
  {"flood_threshold", [](const KeyCtx& k, const toml::node& n, AgentConfig& c) -> Result<void> {
     SG_SET(c.threshold, readUint(k, n, limits::kThreshold)); return Ok{}; }},
  {"connection_threshold", [](const KeyCtx& k, const toml::node& n, AgentConfig& c) -> Result<void> {
     SG_SET(c.connection_threshold, readUint(k, n, limits::kConnectionThreshold)); return Ok{}; }},
  {"flood_window", [](const KeyCtx& k, const toml::node& n, AgentConfig& c) -> Result<void> {
     SG_SET(c.window, readDuration(k, n, limits::kWindow)); return Ok{}; }},
  {"block_duration", [](const KeyCtx& k, const toml::node& n, AgentConfig& c) -> Result<void> {
     SG_SET(c.block_duration, readDuration(k, n, limits::kBlockDuration)); return Ok{}; }},
  {"max_block_level", [](const KeyCtx& k, const toml::node& n, AgentConfig& c) -> Result<void> {
     SG_SET(c.max_block_level, readUint(k, n, limits::kMaxBlockLevel)); return Ok{}; }},
  {"repeat_memory", [](const KeyCtx& k, const toml::node& n, AgentConfig& c) -> Result<void> {
     SG_SET(c.repeat_memory, readDuration(k, n, limits::kRepeatMemory)); return Ok{}; }},
  {"ipv6_prefix", [](const KeyCtx& k, const toml::node& n, AgentConfig& c) -> Result<void> {
     SG_SET(c.ipv6_prefix, readUint(k, n, limits::kIpv6Prefix)); return Ok{}; }},
  {"allow", [](const KeyCtx& k, const toml::node& n, AgentConfig& c) -> Result<void> {
     SG_SET(c.allow, readList<Prefix>(k, n, parsePrefix)); return Ok{}; }},
  {"enforcer", [](const KeyCtx& k, const toml::node& n, AgentConfig& c) -> Result<void> {
     SG_SET(c.enforcer, readEnum<EnforcerKind>(k, n, parseEnforcer)); return Ok{}; }},
  {"xdp_mode", [](const KeyCtx& k, const toml::node& n, AgentConfig& c) -> Result<void> {
     SG_SET(c.xdp_mode, readEnum<XdpMode>(k, n, parseXdpMode)); return Ok{}; }},
  {"xdp_coexist", [](const KeyCtx& k, const toml::node& n, AgentConfig& c) -> Result<void> {
     const auto* b = n.as_boolean();
     if (b == nullptr) return wrongType(k, n, "a boolean");
     c.xdp_coexist = b->get(); return Ok{}; }},
  {"block_scope", [](const KeyCtx& k, const toml::node& n, AgentConfig& c) -> Result<void> {
     SG_SET(c.block_scope, readEnum<BlockScope>(k, n, parseBlockScope)); return Ok{}; }},
  {"source_response", [](const KeyCtx& k, const toml::node& n, AgentConfig& c) -> Result<void> {
     SG_SET(c.source_response, readEnum<SourceResponse>(k, n, parseSourceResponse)); return Ok{}; }},
  {"max_sources", [](const KeyCtx& k, const toml::node& n, AgentConfig& c) -> Result<void> {
     SG_SET(c.max_sources, readUint(k, n, limits::kMaxSources)); return Ok{}; }},
  {"max_blocks", [](const KeyCtx& k, const toml::node& n, AgentConfig& c) -> Result<void> {
     SG_SET(c.max_blocks, readUint(k, n, limits::kMaxBlocks)); return Ok{}; }},
  {"max_prefix_blocks", [](const KeyCtx& k, const toml::node& n, AgentConfig& c) -> Result<void> {
     SG_SET(c.max_prefix_blocks, readUint(k, n, limits::kMaxPrefixBlocks)); return Ok{}; }},
  {"admit_per_sec", [](const KeyCtx& k, const toml::node& n, AgentConfig& c) -> Result<void> {
     SG_SET(c.admit_per_sec, readUint(k, n, limits::kAdmitPerSec)); return Ok{}; }},
  {"admit_min", [](const KeyCtx& k, const toml::node& n, AgentConfig& c) -> Result<void> {
     SG_SET(c.admit_min, readUint(k, n, limits::kAdmitMin)); return Ok{}; }},
  {"events_per_sec", [](const KeyCtx& k, const toml::node& n, AgentConfig& c) -> Result<void> {
     SG_SET(c.events_per_sec, readUint(k, n, limits::kEventsPerSec)); return Ok{}; }},
  {"nft_table", [](const KeyCtx& k, const toml::node& n, AgentConfig& c) -> Result<void> {
     SG_SET(c.nft_table, readString(k, n, "a string"));
     return k.check(n, limits::checkNftTable(c.nft_table)); }},
  {"log_format", [](const KeyCtx& k, const toml::node& n, AgentConfig& c) -> Result<void> {
     SG_SET(c.log_format, readEnum<LogFormat>(k, n, parseLogFormat)); return Ok{}; }},
  {"metrics_listen", [](const KeyCtx& k, const toml::node& n, AgentConfig& c) -> Result<void> {
     SG_SET(c.metrics_listen, readString(k, n, "a string (host:port, or \"\" to disable)"));
     return k.check(n, limits::checkListenAddress(c.metrics_listen)); }},
  {"control_socket", [](const KeyCtx& k, const toml::node& n, AgentConfig& c) -> Result<void> {
     SG_SET(c.control_socket, readString(k, n, "a string"));
     return k.check(n, limits::checkSocketPath(c.control_socket)); }},
  {"pin_dir", [](const KeyCtx& k, const toml::node& n, AgentConfig& c) -> Result<void> {
     SG_SET(c.pin_dir, readString(k, n, "a string (a bpffs directory, or \"\" to disable)"));
     return k.check(n, limits::checkDirPath(c.pin_dir, true)); }},
  {"state_dir", [](const KeyCtx& k, const toml::node& n, AgentConfig& c) -> Result<void> {
     SG_SET(c.state_dir, readString(k, n, "a string"));
     return k.check(n, limits::checkDirPath(c.state_dir, false)); }},
  // Port floods (core/port_flood_options.h); ranges checked with the whole config.
  {"port_flood", [](const KeyCtx& k, const toml::node& n, AgentConfig& c) -> Result<void> {
     SG_SET(c.port_flood.enabled, readBool(k, n)); return Ok{}; }},
  {"port_flood_floor", [](const KeyCtx& k, const toml::node& n, AgentConfig& c) -> Result<void> {
     SG_SET(c.port_flood.floor, readNumber(k, n)); return Ok{}; }},
  {"port_flood_factor", [](const KeyCtx& k, const toml::node& n, AgentConfig& c) -> Result<void> {
     SG_SET(c.port_flood.factor, readNumber(k, n)); return Ok{}; }},
  {"port_flood_collapse", [](const KeyCtx& k, const toml::node& n, AgentConfig& c) -> Result<void> {
     SG_SET(c.port_flood.collapse, readNumber(k, n)); return Ok{}; }},
  {"port_flood_window", [](const KeyCtx& k, const toml::node& n, AgentConfig& c) -> Result<void> {
     SG_SET(c.port_flood.rate_window, readAnyDuration(k, n)); return Ok{}; }},
  {"port_flood_learn", [](const KeyCtx& k, const toml::node& n, AgentConfig& c) -> Result<void> {
     SG_SET(c.port_flood.learn_window, readAnyDuration(k, n)); return Ok{}; }},
  {"port_flood_warmup", [](const KeyCtx& k, const toml::node& n, AgentConfig& c) -> Result<void> {
     SG_SET(c.port_flood.warmup, readAnyDuration(k, n)); return Ok{}; }},
  {"port_flood_end_after", [](const KeyCtx& k, const toml::node& n, AgentConfig& c) -> Result<void> {
     SG_SET(c.port_flood.end_after, readAnyDuration(k, n)); return Ok{}; }},
  {"port_flood_concentration", [](const KeyCtx& k, const toml::node& n, AgentConfig& c) -> Result<void> {
     SG_SET(c.port_flood.concentration, readNumber(k, n)); return Ok{}; }},
  {"port_flood_max_prefixes", [](const KeyCtx& k, const toml::node& n, AgentConfig& c) -> Result<void> {
     SG_SET(c.port_flood.max_prefixes, readUint(k, n, limits::UintRange{0, 64})); return Ok{}; }},
  {"port_flood_prefix_blocks", [](const KeyCtx& k, const toml::node& n, AgentConfig& c) -> Result<void> {
     SG_SET(c.port_flood.prefix_blocks, readBool(k, n)); return Ok{}; }},
  {"port_flood_signature_drop", [](const KeyCtx& k, const toml::node& n, AgentConfig& c) -> Result<void> {
     SG_SET(c.port_flood.signature_drop, readBool(k, n)); return Ok{}; }},
  {"port_flood_signature_coverage", [](const KeyCtx& k, const toml::node& n, AgentConfig& c) -> Result<void> {
     SG_SET(c.port_flood.signature_coverage, readNumber(k, n)); return Ok{}; }},
  {"port_flood_signature_normal_share", [](const KeyCtx& k, const toml::node& n, AgentConfig& c) -> Result<void> {
     SG_SET(c.port_flood.signature_normal_share, readNumber(k, n)); return Ok{}; }},
  {"port_flood_max_dsts", [](const KeyCtx& k, const toml::node& n, AgentConfig& c) -> Result<void> {
     SG_SET(c.port_flood.max_dsts, readUint(k, n, limits::UintRange{64, 65536})); return Ok{}; }},
  // SYN-ACK reflection and verified sources (core/reflection.h); ranges checked with the whole config.
  {"reflection", [](const KeyCtx& k, const toml::node& n, AgentConfig& c) -> Result<void> {
     SG_SET(c.reflection.enabled, readBool(k, n)); return Ok{}; }},
  {"reflection_threshold", [](const KeyCtx& k, const toml::node& n, AgentConfig& c) -> Result<void> {
     SG_SET(c.reflection.threshold, readNumber(k, n)); return Ok{}; }},
  {"reflection_drop", [](const KeyCtx& k, const toml::node& n, AgentConfig& c) -> Result<void> {
     SG_SET(c.reflection.drop, readBool(k, n)); return Ok{}; }},
  {"reflection_window", [](const KeyCtx& k, const toml::node& n, AgentConfig& c) -> Result<void> {
     SG_SET(c.reflection.rate_window, readAnyDuration(k, n)); return Ok{}; }},
  {"reflection_end_after", [](const KeyCtx& k, const toml::node& n, AgentConfig& c) -> Result<void> {
     SG_SET(c.reflection.end_after, readAnyDuration(k, n)); return Ok{}; }},
  {"verified_sources", [](const KeyCtx& k, const toml::node& n, AgentConfig& c) -> Result<void> {
     SG_SET(c.verified.enabled, readBool(k, n)); return Ok{}; }},
  {"verified_ttl", [](const KeyCtx& k, const toml::node& n, AgentConfig& c) -> Result<void> {
     SG_SET(c.verified.ttl, readAnyDuration(k, n)); return Ok{}; }},
  {"verified_per_prefix", [](const KeyCtx& k, const toml::node& n, AgentConfig& c) -> Result<void> {
     SG_SET(c.verified.per_prefix, readUint(k, n, limits::UintRange{1, 65536})); return Ok{}; }},
  {"max_verified", [](const KeyCtx& k, const toml::node& n, AgentConfig& c) -> Result<void> {
     SG_SET(c.verified.max_entries, readUint(k, n, limits::UintRange{1024, 4u << 20})); return Ok{}; }},
  {"syncookies", [](const KeyCtx& k, const toml::node& n, AgentConfig& c) -> Result<void> {
     SG_SET(c.syncookies.mode, readEnum<SynCookieMode>(k, n, parseSynCookieMode)); return Ok{}; }},
  {"syncookie_mss4", [](const KeyCtx& k, const toml::node& n, AgentConfig& c) -> Result<void> {
     SG_SET(c.syncookies.mss4, readUint(k, n, limits::kCookieMss)); return Ok{}; }},
  {"syncookie_mss6", [](const KeyCtx& k, const toml::node& n, AgentConfig& c) -> Result<void> {
     SG_SET(c.syncookies.mss6, readUint(k, n, limits::kCookieMss)); return Ok{}; }},
  {"syncookie_wscale", [](const KeyCtx& k, const toml::node& n, AgentConfig& c) -> Result<void> {
     if (const auto* s = n.as_string(); s != nullptr && s->get() == "auto") {
       c.syncookies.wscale.reset();
       return Ok{};
     }
     if (n.as_string() != nullptr) return wrongType(k, n, "\"auto\" or an integer");
     SG_SET(c.syncookies.wscale, readUint(k, n, limits::kCookieWscale)); return Ok{}; }},
  {"syncookie_ttl", [](const KeyCtx& k, const toml::node& n, AgentConfig& c) -> Result<void> {
     SG_SET(c.syncookies.ttl, readUint(k, n, limits::kCookieTtl)); return Ok{}; }},
  {"syncookie_nft_table", [](const KeyCtx& k, const toml::node& n, AgentConfig& c) -> Result<void> {
     SG_SET(c.syncookies.nft_table, readString(k, n, "a string"));
     return k.check(n, limits::checkNftTable(c.syncookies.nft_table)); }},
};
// clang-format on

size_t editDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); j++) row[j] = j;
  for (size_t i = 1; i <= a.size(); i++) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); j++) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0u : 1u)});
      diag = up;
    }
  }
  return row[b.size()];
}

// The known key closest to `key`, or "" when none is close enough to guess.
std::string suggestKey(std::string_view key) {
  const KeySpec* best = nullptr;
  size_t best_distance = std::max<size_t>(2, key.size() / 3) + 1;
  for (const auto& spec : kKeys) {
    const std::string_view known = spec.key;
    size_t d = editDistance(key, known);
    // "threshold" for "flood_threshold": one is a part of the other.
    if (key.size() >= 4 && known.find(key) != std::string_view::npos) d = std::min<size_t>(d, 2);
    if (d < best_distance) {
      best = &spec;
      best_distance = d;
    }
  }
  return best == nullptr ? "" : best->key;
}

Error unknownKey(const toml::key& key, const std::string& origin) {
  std::string msg = "unknown key '" + std::string(key.str()) + "' at " + origin + ":" +
                    std::to_string(key.source().begin.line);
  const std::string guess = suggestKey(key.str());
  if (!guess.empty()) msg += " (did you mean '" + guess + "'?)";
  return makeError(Errc::kInvalidArgument, msg);
}

Result<AgentConfig> applyTable(const toml::table& table, const std::string& origin,
                               AgentConfig config) {
  for (const auto& [key, node] : table) {
    const KeySpec* spec = nullptr;
    for (const auto& s : kKeys) {
      if (key.str() == s.key) spec = &s;
    }
    if (spec == nullptr) return unknownKey(key, origin);
    SG_TRY(spec->apply(KeyCtx{spec->key, origin}, node, config));
  }
  // Every key was checked above; this catches values kept from `base`.
  auto valid = validateConfig(config);
  if (!valid.ok()) return valid.error().context("after reading " + origin);
  return config;
}

}  // namespace

Result<AgentConfig> parseConfigToml(std::string_view text, const std::string& origin,
                                    AgentConfig base) {
  toml::table table;
  try {
    table = toml::parse(text, origin);
  } catch (const toml::parse_error& e) {
    const auto& at = e.source().begin;
    return makeError(Errc::kInvalidArgument, origin + ":" + std::to_string(at.line) + ":" +
                                                 std::to_string(at.column) + ": " +
                                                 std::string(e.description()));
  } catch (const std::exception& e) {
    return makeError(Errc::kInvalidArgument, origin + ": " + e.what());
  }
  return applyTable(table, origin, std::move(base));
}

Result<AgentConfig> loadConfigFile(const std::string& path, AgentConfig base) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    const int err = errno;
    const Errc code = err == ENOENT   ? Errc::kNotFound
                      : err == EACCES ? Errc::kPermissionDenied
                                      : Errc::kIo;
    return makeError(code, "cannot open config file '" + path + "': " + std::strerror(err));
  }
  std::string text;
  char buf[16384];
  size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0 && text.size() <= kMaxFileBytes) {
    text.append(buf, n);
  }
  const int err = std::ferror(f) ? errno : 0;
  std::fclose(f);
  if (err != 0) {
    return makeError(Errc::kIo, "cannot read config file '" + path + "': " + std::strerror(err));
  }
  if (text.size() > kMaxFileBytes) {
    return makeError(Errc::kInvalidArgument, "config file '" + path + "' is larger than 1 MiB");
  }
  return parseConfigToml(text, path, std::move(base));
}

}  // namespace sg
