// The agent's configuration: one typed struct with a default and a comment per
// field, validated once at the edge (validateConfig) into a Result. The TOML
// file (deploy/syn-guard.toml documents every key) and the command-line flags
// fill the same struct; flags override the file.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/address.h"
#include "core/duration.h"
#include "core/port_flood_options.h"
#include "core/reflection.h"
#include "core/result.h"
#include "core/syncookie_config.h"

namespace sg {

enum class EnforcerKind { kXdp, kNftables, kNone };
enum class XdpMode { kAuto, kNative, kGeneric };
enum class LogFormat { kText, kJson };
enum class BlockScope { kAttempts, kAll };
enum class SourceResponse { kBlock, kChallenge };

struct AgentConfig {
  // Interfaces to protect; empty = those that carry the default routes.
  std::vector<std::string> interfaces;
  // A source is flagged when its attempts in `window` exceed this (1..1e6).
  uint32_t threshold = 200;
  // Handshake-aware counting (bpf/sg_handshake.h): `threshold` counts a
  // source's half-open attempts (attempts - completed handshakes), and this
  // one all its attempts, so a NAT gateway whose clients complete is not
  // blocked while a full-handshake connection flood still is (0 or
  // threshold..1e6). 0: kConnectionFactor x threshold (at most 1e6).
  // Equal to threshold: handshakes ignored, every attempt counted against it.
  uint32_t connection_threshold = 0;
  // Sliding-window length (1ms..1h).
  Nanos window = std::chrono::seconds(5);
  // Base block duration (1ms..24h); repeat offenders get doubled blocks.
  Nanos block_duration = std::chrono::seconds(60);
  // Repeat offences double the block up to block_duration << max_block_level (0..16).
  uint32_t max_block_level = 3;
  // An offence this long after the previous block's end starts again at level 0 (0s..720h).
  Nanos repeat_memory = std::chrono::hours(1);
  // IPv6 sources are counted (and blocked) per prefix of this length (1..128).
  uint32_t ipv6_prefix = 64;
  // Never blocked, in addition to loopback and the host's own addresses.
  std::vector<Prefix> allow;
  // Who drops blocked sources: the XDP program, nftables sets, or nobody.
  EnforcerKind enforcer = EnforcerKind::kXdp;
  // What a block drops: the source's connection attempts (SYN without ACK)
  // only, so a flood forged in a client's name cannot cut its established
  // connections; or all its packets.
  BlockScope block_scope = BlockScope::kAttempts;
  // What a source over the half-open threshold gets: a block, or a challenge
  // (bpf/sg_challenge.h: its SYNs answered with XDP SYN cookies for the block
  // duration, so an address a flood forges keeps connecting; blocked for real
  // once its completed handshakes pass the connection threshold). Challenge
  // needs the XDP enforcer.
  SourceResponse source_response = SourceResponse::kBlock;
  // XDP attach mode: native where the driver has it (auto), or forced.
  XdpMode xdp_mode = XdpMode::kAuto;
  // Join libxdp's dispatcher even on a free interface, so other XDP programs can join later
  // (the dispatcher is joined anyway where one runs already).
  bool xdp_coexist = false;
  // Sources with exact state: slots of a 2-way set-associative array, rounded up to a
  // power of two, 64 B each (1024..16M).
  uint32_t max_sources = 65536;
  // Concurrent blocks (16..1M); when full, over-threshold SYNs are still dropped.
  uint32_t max_blocks = 16384;
  // Prefix blocks (`block 198.51.100.0/24`, the console's Block Globally of a prefix),
  // IPv4 and IPv6 together (1..65536); beyond it a new prefix block is refused.
  uint32_t max_prefix_blocks = 4096;
  // New sources per CPU per second before the sketch gates admission (1..1e7).
  uint32_t admit_per_sec = 4096;
  // Sketch estimate above its noise floor that earns exact state while gated (0..1e6).
  uint32_t admit_min = 8;
  // Events per CPU per second the kernel may send, the rest are counted (1..1e6).
  uint32_t events_per_sec = 2048;
  // nftables table used by --enforcer nftables.
  std::string nft_table = "syn_guard";
  // Output format of the agent's log on stdout.
  LogFormat log_format = LogFormat::kText;
  // Prometheus endpoint, host:port; "" disables it. Loopback by default.
  std::string metrics_listen = "127.0.0.1:9469";
  // Root-only control socket used by `syn-guard status|blocks|block|unblock`.
  std::string control_socket = "/run/syn-guard/agent.sock";
  // bpffs directory where the block table and the count state are pinned, so
  // that blocks survive an agent restart; "" disables pinning.
  std::string pin_dir = "/sys/fs/bpf/syn-guard";
  // Directory of the agent's state (0700): permanent blocks (re-applied at
  // start), the isolation record, the console credentials and link state.
  std::string state_dir = "/var/lib/syn-guard/agent";
  // Port floods: floods keyed by target (local address and port), from the
  // destination-side counters (keys port_flood_*; core/port_flood_options.h).
  PortFloodOptions port_flood;
  // SYN cookies for a port under a flood (syncookie_* keys): the mode
  // (off, xdp, nftables) and the SYN-ACK's parameters.
  SynCookieConfig syncookies;
  // SYN-ACK reflection (reflection_* keys) and verified sources (verified_*,
  // max_verified): core/reflection.h.
  ReflectionOptions reflection;
  VerifiedOptions verified;
};

// connection_threshold's default: this many times the half-open threshold.
inline constexpr uint32_t kConnectionFactor = 10;
// The connection threshold in force: the configured one, or its default.
uint32_t connectionThreshold(const AgentConfig& config);

// Range and consistency checks (ranges in core/config_checks.h); the error
// names the field, the value and the range.
Result<void> validateConfig(const AgentConfig& config);

// Reads a TOML file into `base` (keys absent from the file keep base's value).
// Unknown keys, wrong types and bad values are errors naming file:line.
Result<AgentConfig> loadConfigFile(const std::string& path, AgentConfig base = {});
// Same, from text (used by the fuzz target and tests); `origin` names it in errors.
Result<AgentConfig> parseConfigToml(std::string_view text, const std::string& origin,
                                    AgentConfig base = {});

const char* enforcerName(EnforcerKind kind);
Result<EnforcerKind> parseEnforcer(std::string_view text);
Result<XdpMode> parseXdpMode(std::string_view text);
const char* blockScopeName(BlockScope scope);
Result<BlockScope> parseBlockScope(std::string_view text);
const char* sourceResponseName(SourceResponse response);  // "block", "challenge"
Result<SourceResponse> parseSourceResponse(std::string_view text);
Result<LogFormat> parseLogFormat(std::string_view text);

}  // namespace sg
