// The agent's command-line flags: kept apart from the config file so that a
// SIGHUP reload re-reads the file and re-applies exactly the flags given.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <string>
#include <vector>

#include "core/config.h"

namespace sg::cli {

struct AgentFlags {
  std::string config_path;
  std::vector<std::string> interfaces;
  uint32_t threshold = 0;
  uint32_t connection_threshold = 0;
  std::string window, block, repeat_memory;
  uint32_t max_block_level = 0, ipv6_prefix = 0, max_sources = 0, max_blocks = 0;
  uint32_t admit_per_sec = 0, admit_min = 0, events_per_sec = 0;
  std::vector<std::string> allow;
  std::string enforcer, xdp_mode, block_scope, source_response, log_format, metrics_listen,
      control_socket, nft_table, pin_dir, state_dir;
  // The console link (not in the config file: credentials live in the state dir).
  std::string console_url, enroll_token, name;
  bool xdp_coexist = false;
  // Port floods (core/port_flood_options.h).
  double port_flood_floor = 0, port_flood_factor = 0, port_flood_collapse = 0;
  std::string port_flood_end_after, port_flood_prefix_blocks;
  uint32_t port_flood_max_dsts = 0;
  bool no_port_flood = false;
  bool enable_syn_guard = false;  // the seed's flag: accepted, always on

  // Options added to `sub`, remembered to tell given from defaulted.
  void addTo(CLI::App* sub);
  // The file (if any) with the given flags on top, validated.
  Result<AgentConfig> resolve() const;

 private:
  Result<void> applyTo(AgentConfig& c) const;
  bool given(const std::string& name) const;
  CLI::App* sub_ = nullptr;
};

}  // namespace sg::cli
