// syn-guard status | blocks [--json] | block IP|PREFIX [--for 10m] | unblock IP|PREFIX |
// isolate --console ADDR [--allow CIDR] | release: talk to the running agent
// over its root-only control socket.
#include <cstdio>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "agent/control_protocol.h"
#include "agent/sockets.h"
#include "cli/commands.h"
#include "core/config.h"
#include "core/duration.h"
#include "core/isolation.h"

namespace sg::cli {

namespace {

struct ControlArgs {
  std::string socket = AgentConfig{}.control_socket;
  bool json = false;
  std::string ip;  // an address, or a prefix (a prefix block)
  std::string duration;
  bool permanent = false;
  std::vector<std::string> console;  // isolate
  std::vector<std::string> allow;    // isolate
};

int fail(const std::string& cmd, const std::string& why, int code) {
  std::fprintf(stderr, "syn-guard: %s: %s\n", cmd.c_str(), why.c_str());
  return code;
}

// Sends one request line, returns the agent's answer (an error when "ok" is false).
Result<nlohmann::json> callLine(const std::string& socket, const std::string& request) {
  auto fd = agent::connectUnix(socket);
  if (!fd) {
    return Error(fd.error().code(), "cannot reach the agent at " + socket + " (" +
                                        fd.error().message() +
                                        "); is `syn-guard agent` running, and are you root?");
  }
  SG_TRY(agent::writeAll(fd->get(), request + "\n"));
  auto line = agent::readLine(fd->get(), 16 * 1024 * 1024, std::chrono::milliseconds(5000));
  if (!line) return line.error().context("reading the agent's answer");
  auto j = nlohmann::json::parse(*line, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return Error(Errc::kIo, "the agent's answer is not a JSON object");
  }
  if (!j.value("ok", false)) return Error(Errc::kInvalidArgument, j.value("error", "failed"));
  return j;
}

Result<nlohmann::json> call(const std::string& socket, const agent::ControlRequest& req) {
  return callLine(socket, agent::encodeControlRequest(req));
}

// A block/unblock request for "192.0.2.7" or "198.51.100.0/24".
Result<agent::ControlRequest> targetRequest(agent::ControlCmd cmd, const std::string& text) {
  agent::ControlRequest req{cmd, {}, 0};
  if (text.find('/') != std::string::npos) {
    auto p = parsePrefix(text);
    if (!p) return p.error();
    req.prefix = *p;
    req.src = p->addr;
    return req;
  }
  auto addr = parseAddress(text);
  if (!addr) return addr.error();
  req.src = *addr;
  return req;
}

void printIsolation(const nlohmann::json& iso) {
  if (!iso.value("isolated", false)) {
    std::printf("isolation: off\n");
    return;
  }
  std::printf("isolation: ON, reachable only:");
  for (const auto& c : iso.value("console", nlohmann::json::array())) {
    std::printf(" %s", c.get<std::string>().c_str());
  }
  for (const auto& a : iso.value("allow", nlohmann::json::array())) {
    std::printf(" %s", a.get<std::string>().c_str());
  }
  std::printf("\n");
}

// The console link (agent --console): absent when the agent runs alone.
void printConsole(const nlohmann::json& c) {
  if (!c.is_object()) return;
  std::printf("console: %s %s as %s, applied version %llu, report queue %zu (dropped %llu)\n",
              c.value("connected", false) ? "connected to" : "NOT connected to",
              c.value("url", "?").c_str(), c.value("name", "?").c_str(),
              c.value("applied_version", 0ull), c.value("queue_depth", size_t{0}),
              c.value("dropped", 0ull));
  if (!c.value("connected", false) && c.contains("last_error")) {
    std::printf("  last error: %s\n", c.value("last_error", "").c_str());
  }
}

// Port floods going on (the agent's port_floods.active).
void printPortFloods(const nlohmann::json& pf) {
  const nlohmann::json active = pf.value("active", nlohmann::json::array());
  std::printf("port floods: %zu active, %llu detected, %llu ended%s\n", active.size(),
              pf.value("detected", 0ull), pf.value("ended", 0ull),
              pf.value("enabled", true) ? "" : " (detection off)");
  for (const auto& f : active) {
    std::printf(
        "  %s:%d  %.0f attempts/s (peak %.0f), ~%llu sources, completion ratio %.3f, "
        "response %s\n",
        f.value("dst", "?").c_str(), f.value("dst_port", 0), f.value("rate", 0.0),
        f.value("peak_rate", 0.0), f.value("distinct_sources", 0ull),
        f.value("completion_ratio", 0.0), f.value("response", "?").c_str());
  }
}

void printStatus(const nlohmann::json& j) {
  std::printf("agent pid %d, up %llus, enforcer %s, threshold %u per %llums, block %llums\n",
              j.value("pid", 0), j.value("uptime_s", 0ull), j.value("enforcer", "?").c_str(),
              j.value("threshold", 0u), j.value("window_ms", 0ull), j.value("block_ms", 0ull));
  if (j.value("half_open_counting", false)) {
    std::printf("handshake-aware: threshold counts half-open attempts, connection threshold %u\n",
                j.value("connection_threshold", 0u));
  }
  std::printf("interfaces:");
  for (const auto& i : j.value("interfaces", nlohmann::json::array())) {
    std::printf(" %s", i.get<std::string>().c_str());
  }
  std::printf("\nsources tracked %zu/%zu, blocks %zu/%zu, prefix blocks %zu/%zu, rss %.1f MB\n",
              j.value("sources", size_t{0}), j.value("source_capacity", size_t{0}),
              j.value("blocks", size_t{0}), j.value("block_capacity", size_t{0}),
              j.value("prefix_blocks", size_t{0}), j.value("prefix_block_capacity", size_t{0}),
              j.value("rss_bytes", 0.0) / 1e6);
  printIsolation(j.value("isolation", nlohmann::json::object()));
  printConsole(j.value("console", nlohmann::json()));
  if (j.contains("port_floods")) printPortFloods(j["port_floods"]);
  const nlohmann::json counters = j.value("counters", nlohmann::json::object());
  for (const auto& [k, v] : counters.items()) {
    std::printf("  %-32s %llu\n", k.c_str(), v.get<unsigned long long>());
  }
}

void printBlocks(const nlohmann::json& blocks) {
  if (blocks.empty()) {
    std::printf("no blocks\n");
    return;
  }
  std::printf("%-28s %6s %8s %10s %10s %6s %8s %s\n", "SOURCE", "PORT", "COUNT", "BLOCK", "LEFT",
              "LEVEL", "DROPPED", "BY");
  for (const auto& b : blocks) {
    if (b.value("prefix", false)) {  // a prefix block: no port, count or level
      const std::string left = b.value("permanent", false)
                                   ? "permanent"
                                   : std::to_string(b.value("remaining_ms", 0ull) / 1000) + "s";
      std::printf("%-28s %6s %8s %10s %10s %6s %8llu %s/%s\n", b.value("src", "").c_str(), "-", "-",
                  "-", left.c_str(), "-", b.value("dropped", 0ull), b.value("origin", "").c_str(),
                  b.value("enforced_by", "").c_str());
      continue;
    }
    if (b.value("permanent", false)) {
      std::printf("%-28s %6u %8u %10s %10s %6u %8llu %s/%s\n", b.value("src", "").c_str(),
                  b.value("dst_port", 0u), b.value("count", 0u), "permanent", "-",
                  b.value("level", 0u), b.value("dropped", 0ull), b.value("origin", "").c_str(),
                  b.value("enforced_by", "").c_str());
      continue;
    }
    // "detector:half_open/xdp": the threshold a detector block crossed.
    std::string origin = b.value("origin", "");
    if (b.contains("threshold")) origin += ":" + b.value("threshold", "");
    // "xdp-challenge": challenged, not dropped (bpf/sg_challenge.h).
    std::string by = b.value("enforced_by", "");
    if (b.value("response", "") == "challenge") by += "-challenge";
    std::printf("%-28s %6u %8u %9.1fs %9.1fs %6u %8llu %s/%s\n", b.value("src", "").c_str(),
                b.value("dst_port", 0u), b.value("count", 0u), b.value("block_ms", 0.0) / 1000,
                b.value("remaining_ms", 0.0) / 1000, b.value("level", 0u), b.value("dropped", 0ull),
                origin.c_str(), by.c_str());
  }
}

}  // namespace

void registerControl(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<ControlArgs>();
  auto socket_opt = [args](CLI::App* sub) {
    sub->add_option("--control-socket", args->socket, "The agent's control socket")
        ->capture_default_str();
  };

  auto* status = app.add_subcommand("status", "Show the running agent's state and counters");
  socket_opt(status);
  status->add_flag("--json", args->json, "Print JSON");
  status->callback([args, exit_code] {
    auto r = call(args->socket, {agent::ControlCmd::kStatus, {}, 0});
    if (!r) {
      *exit_code = fail("status", r.error().message(), 1);
      return;
    }
    if (args->json)
      std::cout << r->dump(2) << "\n";
    else
      printStatus(*r);
  });

  auto* blocks = app.add_subcommand("blocks", "List the blocks in force");
  socket_opt(blocks);
  blocks->add_flag("--json", args->json, "Print JSON");
  blocks->callback([args, exit_code] {
    auto r = call(args->socket, {agent::ControlCmd::kBlocks, {}, 0});
    if (!r) {
      *exit_code = fail("blocks", r.error().message(), 1);
      return;
    }
    if (args->json)
      std::cout << (*r)["blocks"].dump(2) << "\n";
    else
      printBlocks((*r)["blocks"]);
  });

  auto* block = app.add_subcommand(
      "block", "Block a source now (IPv6: its counted prefix), or every source of a prefix");
  socket_opt(block);
  block->add_option("ip", args->ip, "Address or prefix to block (192.0.2.7, 198.51.100.0/24)")
      ->required();
  block->add_option("--for,--duration", args->duration,
                    "How long (e.g. 10m); default: the block duration");
  block->add_flag("--permanent", args->permanent,
                  "No expiry: until `syn-guard unblock`, kept across agent restarts");
  block->callback([args, exit_code] {
    auto req = targetRequest(agent::ControlCmd::kBlock, args->ip);
    if (!req) {
      *exit_code = fail("block", req.error().message(), 2);
      return;
    }
    req->permanent = args->permanent;
    if (req->permanent && !args->duration.empty()) {
      *exit_code = fail("block", "--permanent and --for exclude each other", 2);
      return;
    }
    if (!args->duration.empty()) {
      auto d = parseDuration(args->duration);
      if (!d) {
        *exit_code = fail("block", "--for: " + d.error().message(), 2);
        return;
      }
      req->for_ms = static_cast<uint64_t>(d->count() / 1'000'000);
      if (req->for_ms == 0) {
        *exit_code = fail("block", "--for must be at least 1ms", 2);
        return;
      }
    }
    auto r = call(args->socket, *req);
    if (!r) {
      *exit_code = fail("block", r.error().message(), 1);
      return;
    }
    const auto& b = (*r)["block"];
    if (b.value("permanent", false)) {
      std::printf("blocked %s permanently\n", b.value("src", "").c_str());
    } else {
      std::printf("blocked %s for %.1fs\n", b.value("src", "").c_str(),
                  b.value("block_ms", 0.0) / 1000);
    }
  });

  auto* unblock = app.add_subcommand("unblock", "Lift a block now");
  socket_opt(unblock);
  unblock->add_option("ip", args->ip, "Address or prefix to unblock")->required();
  unblock->callback([args, exit_code] {
    auto req = targetRequest(agent::ControlCmd::kUnblock, args->ip);
    if (!req) {
      *exit_code = fail("unblock", req.error().message(), 2);
      return;
    }
    auto r = call(args->socket, *req);
    if (!r) {
      *exit_code = fail("unblock", r.error().message(), 1);
      return;
    }
    std::printf("unblocked %s\n", (*r)["removed"].value("src", "").c_str());
  });

  auto* isolate = app.add_subcommand(
      "isolate", "Cut this host off from every peer but the console and the allowlist");
  socket_opt(isolate);
  isolate->add_option("--console", args->console, "Console address (repeatable)")->required();
  isolate->add_option("--allow", args->allow,
                      "Another prefix that stays reachable (repeatable; the agent's --allow "
                      "always does)");
  isolate->callback([args, exit_code] {
    // Checked here too, so that a typo exits 2 without reaching the agent.
    if (auto spec = parseIsolationSpec(args->console, args->allow); !spec) {
      *exit_code = fail("isolate", spec.error().message(), 2);
      return;
    }
    nlohmann::json req = {{"cmd", "isolate"}, {"console", args->console}, {"allow", args->allow}};
    auto r = callLine(args->socket, req.dump());
    if (!r) {
      *exit_code = fail("isolate", r.error().message(), 1);
      return;
    }
    printIsolation((*r)["isolation"]);
  });

  auto* release = app.add_subcommand("release", "Lift the isolation");
  socket_opt(release);
  release->callback([args, exit_code] {
    auto r = callLine(args->socket, nlohmann::json{{"cmd", "release"}}.dump());
    if (!r) {
      *exit_code = fail("release", r.error().message(), 1);
      return;
    }
    printIsolation((*r)["isolation"]);
  });
}

}  // namespace sg::cli
