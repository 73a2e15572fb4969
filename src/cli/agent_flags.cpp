#include "cli/agent_flags.h"

namespace sg::cli {

void AgentFlags::addTo(CLI::App* sub) {
  sub_ = sub;
  sub->add_option("--config", config_path, "TOML config file (flags override it; SIGHUP reloads)");
  sub->add_option("--interface,-i", interfaces,
                  "Interface to protect (repeatable); default: those with default routes");
  sub->add_option("--flood-threshold", threshold,
                  "Block a source whose attempts in the window exceed this (default 200)");
  sub->add_option("--connection-threshold", connection_threshold,
                  "Block a source whose attempts in the window exceed this even when its "
                  "handshakes complete; --flood-threshold then counts only half-open ones "
                  "(default 10x --flood-threshold; equal to it: handshakes ignored)");
  sub->add_option("--flood-window", window, "Sliding window, e.g. 5s (default 5s)");
  sub->add_option("--block-duration", block, "Block length, e.g. 60s (default 60s)");
  sub->add_option("--max-block-level", max_block_level,
                  "Repeat offenders: block doubles up to 2^N times (default 3)");
  sub->add_option("--repeat-memory", repeat_memory,
                  "Offences this long after the last block are forgotten (default 1h)");
  sub->add_option("--ipv6-prefix", ipv6_prefix, "Count IPv6 sources per prefix (default 64)");
  sub->add_option("--allow", allow, "Never block this CIDR (repeatable)");
  sub->add_option("--enforcer", enforcer, "xdp (default), nftables, or none (detect only)");
  sub->add_option("--xdp-mode", xdp_mode, "auto (default), native or generic");
  sub->add_flag("--xdp-coexist", xdp_coexist,
                "Join libxdp's dispatcher even on a free interface, so that other XDP programs "
                "can run too (joined anyway where one runs)");
  sub->add_option("--block-scope", block_scope,
                  "What a block drops: attempts (default: SYNs only) or all (every packet)");
  sub->add_option("--source-response", source_response,
                  "A source over the half-open threshold: block (default) or challenge (answered "
                  "with XDP SYN cookies, blocked once its completions pass the connection "
                  "threshold)");
  sub->add_option("--max-sources", max_sources, "Exact per-source state entries (default 65536)");
  sub->add_option("--max-blocks", max_blocks, "Concurrent blocks (default 16384)");
  sub->add_option("--admit-per-sec", admit_per_sec,
                  "New sources per CPU per second before the sketch gates (default 4096)");
  sub->add_option("--admit-min", admit_min, "Sketch margin for exact state (default 8)");
  sub->add_option("--events-per-sec", events_per_sec, "Kernel event budget per CPU (default 2048)");
  sub->add_option("--nft-table", nft_table, "nftables table name (default syn_guard)");
  sub->add_option("--log-format", log_format, "text (default) or json");
  sub->add_option("--metrics-listen", metrics_listen,
                  "Prometheus endpoint host:port (default 127.0.0.1:9469; '' disables)");
  sub->add_option("--control-socket", control_socket,
                  "Control socket (default /run/syn-guard/agent.sock)");
  sub->add_option("--pin-dir", pin_dir,
                  "bpffs directory for the pinned block table and count state, so blocks "
                  "survive a restart (default /sys/fs/bpf/syn-guard; '' disables)");
  sub->add_option("--state-dir", state_dir,
                  "Directory of the agent's state: permanent blocks, isolation, console "
                  "credentials (default /var/lib/syn-guard/agent)");
  sub->add_option("--console", console_url,
                  "Report to the console at https://HOST[:PORT] and apply its blocks, isolation "
                  "and policy (needs an enrollment; without it the agent runs alone)");
  sub->add_option("--enroll", enroll_token,
                  "Enroll with --console using this one-time token (sgE_...) first; the "
                  "credentials are kept in --state-dir");
  sub->add_option("--name", name, "Endpoint name when enrolling (default: the hostname)");
  sub->add_option("--port-flood-floor", port_flood_floor,
                  "Attempts/s a port must reach to be flooded (default 1000)");
  sub->add_option("--port-flood-factor", port_flood_factor,
                  "... and this many times its learned normal rate (default 10)");
  sub->add_option("--port-flood-collapse", port_flood_collapse,
                  "... or a completion ratio under this share of its normal one (default 0.5; "
                  "0 off)");
  sub->add_option("--port-flood-end-after", port_flood_end_after,
                  "A port flood ends after its test failed this long (default 3s)");
  sub->add_option("--port-flood-prefix-blocks", port_flood_prefix_blocks,
                  "on (default) or off: block the few prefixes a port flood comes from");
  sub->add_option("--port-flood-max-dsts", port_flood_max_dsts,
                  "Destinations (address, port) the kernel counts (default 1024)");
  sub->add_flag("--no-port-flood", no_port_flood, "Do not detect port floods");
  sub->add_flag("--enable-syn-guard", enable_syn_guard,
                "Accepted for compatibility with the original agent; always on");
}

bool AgentFlags::given(const std::string& name) const {
  return sub_ != nullptr && sub_->count(name) > 0;
}

Result<void> AgentFlags::applyTo(AgentConfig& c) const {
  auto duration = [](const std::string& flag, const std::string& text, Nanos& out) -> Result<void> {
    auto d = parseDuration(text);
    if (!d) return d.error().context(flag);
    out = *d;
    return Ok{};
  };
  if (given("--interface")) c.interfaces = interfaces;
  if (given("--flood-threshold")) c.threshold = threshold;
  if (given("--connection-threshold")) c.connection_threshold = connection_threshold;
  if (given("--flood-window")) SG_TRY(duration("--flood-window", window, c.window));
  if (given("--block-duration")) SG_TRY(duration("--block-duration", block, c.block_duration));
  if (given("--repeat-memory")) SG_TRY(duration("--repeat-memory", repeat_memory, c.repeat_memory));
  if (given("--max-block-level")) c.max_block_level = max_block_level;
  if (given("--ipv6-prefix")) c.ipv6_prefix = ipv6_prefix;
  if (given("--xdp-coexist")) c.xdp_coexist = xdp_coexist;
  if (given("--max-sources")) c.max_sources = max_sources;
  if (given("--max-blocks")) c.max_blocks = max_blocks;
  if (given("--admit-per-sec")) c.admit_per_sec = admit_per_sec;
  if (given("--admit-min")) c.admit_min = admit_min;
  if (given("--events-per-sec")) c.events_per_sec = events_per_sec;
  if (given("--nft-table")) c.nft_table = nft_table;
  if (given("--metrics-listen")) c.metrics_listen = metrics_listen;
  if (given("--control-socket")) c.control_socket = control_socket;
  if (given("--pin-dir")) c.pin_dir = pin_dir;
  if (given("--state-dir")) c.state_dir = state_dir;
  if (given("--port-flood-floor")) c.port_flood.floor = port_flood_floor;
  if (given("--port-flood-factor")) c.port_flood.factor = port_flood_factor;
  if (given("--port-flood-collapse")) c.port_flood.collapse = port_flood_collapse;
  if (given("--port-flood-max-dsts")) c.port_flood.max_dsts = port_flood_max_dsts;
  if (given("--no-port-flood")) c.port_flood.enabled = false;
  if (given("--port-flood-end-after")) {
    SG_TRY(duration("--port-flood-end-after", port_flood_end_after, c.port_flood.end_after));
  }
  if (given("--port-flood-prefix-blocks")) {
    if (port_flood_prefix_blocks != "on" && port_flood_prefix_blocks != "off") {
      return makeError(
          Errc::kInvalidArgument,
          "--port-flood-prefix-blocks: '" + port_flood_prefix_blocks + "' is neither on nor off");
    }
    c.port_flood.prefix_blocks = port_flood_prefix_blocks == "on";
  }
  if (given("--allow")) {
    for (const auto& a : allow) {
      auto p = parsePrefix(a);
      if (!p) return p.error().context("--allow");
      c.allow.push_back(*p);
    }
  }
  if (given("--enforcer")) {
    auto e = parseEnforcer(enforcer);
    if (!e) return e.error().context("--enforcer");
    c.enforcer = *e;
  }
  if (given("--xdp-mode")) {
    auto m = parseXdpMode(xdp_mode);
    if (!m) return m.error().context("--xdp-mode");
    c.xdp_mode = *m;
  }
  if (given("--block-scope")) {
    auto s = parseBlockScope(block_scope);
    if (!s) return s.error().context("--block-scope");
    c.block_scope = *s;
  }
  if (given("--source-response")) {
    auto r = parseSourceResponse(source_response);
    if (!r) return r.error().context("--source-response");
    c.source_response = *r;
  }
  if (given("--log-format")) {
    auto f = parseLogFormat(log_format);
    if (!f) return f.error().context("--log-format");
    c.log_format = *f;
  }
  return Ok{};
}

namespace {

// validateConfig names the config field; when the value came from a flag,
// the message names the flag the user typed.
struct FieldFlag {
  const char* field;
  const char* flag;
};
constexpr FieldFlag kFieldFlags[] = {
    {"interfaces", "--interface"},
    {"threshold", "--flood-threshold"},
    {"connection_threshold", "--connection-threshold"},
    {"window", "--flood-window"},
    {"block_duration", "--block-duration"},
    {"max_block_level", "--max-block-level"},
    {"repeat_memory", "--repeat-memory"},
    {"ipv6_prefix", "--ipv6-prefix"},
    {"max_sources", "--max-sources"},
    {"max_blocks", "--max-blocks"},
    {"admit_per_sec", "--admit-per-sec"},
    {"admit_min", "--admit-min"},
    {"events_per_sec", "--events-per-sec"},
    {"nft_table", "--nft-table"},
    {"metrics_listen", "--metrics-listen"},
    {"control_socket", "--control-socket"},
    {"pin_dir", "--pin-dir"},
    {"state_dir", "--state-dir"},
    {"port_flood_floor", "--port-flood-floor"},
    {"port_flood_factor", "--port-flood-factor"},
    {"port_flood_collapse", "--port-flood-collapse"},
    {"port_flood_end_after", "--port-flood-end-after"},
    {"port_flood_max_dsts", "--port-flood-max-dsts"},
};

}  // namespace

Result<AgentConfig> AgentFlags::resolve() const {
  AgentConfig c;
  if (!config_path.empty()) {
    auto loaded = loadConfigFile(config_path);
    if (!loaded) return loaded.error();
    c = *loaded;
  }
  SG_TRY(applyTo(c));
  if (auto v = validateConfig(c); !v) {
    const std::string& m = v.error().message();
    for (const auto& ff : kFieldFlags) {
      std::string prefix = std::string(ff.field) + ":";
      if (m.rfind(prefix, 0) == 0 && given(ff.flag)) {
        return Error(v.error().code(), ff.flag + m.substr(std::string(ff.field).size()));
      }
    }
    return v.error();
  }
  return c;
}

}  // namespace sg::cli
