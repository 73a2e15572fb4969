// syn-guard agent: load the XDP program, attach it, run the event loop.
#include <net/if.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>

#include "agent/agent.h"
#include "agent/challenge_response_port.h"
#include "agent/xdp_sensor_port.h"
#include "cli/agent_flags.h"
#include "cli/commands.h"
#include "cli/privileges.h"
#include "core/allowlist.h"
#include "linux/interfaces.h"
#include "linux/isolation.h"
#include "linux/listener_probe.h"
#include "linux/nft_enforcer.h"
#include "linux/xdp_sensor.h"
#include "linux/xdp_sensor_clock.h"

namespace sg::cli {

namespace {

// Exit code for an error: 2 for what the user can fix in the invocation or
// the environment (bad input, missing privilege, interface busy or missing).
int exitCodeFor(const Error& e) {
  switch (e.code()) {
    case Errc::kInvalidArgument:
    case Errc::kNotFound:
    case Errc::kAlreadyExists:
    case Errc::kPermissionDenied:
    case Errc::kUnauthenticated:  // a refused enrollment token
      return 2;
    default:
      return 1;
  }
}

int fail(const Error& e) {
  std::fprintf(stderr, "syn-guard: agent: %s\n", e.message().c_str());
  return exitCodeFor(e);
}

std::string ifName(uint32_t ifindex) {
  char buf[IF_NAMESIZE] = {};
  if (if_indextoname(ifindex, buf) == nullptr) return "if" + std::to_string(ifindex);
  return buf;
}

// The state directory (default /var/lib/syn-guard/agent): its parents as
// usual, itself closed to others. What is kept there creates only itself.
Result<void> makeStateDir(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(dir).parent_path(), ec);
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return Error(Errc::kIo, "creating the state directory " + dir + ": " + std::strerror(errno));
  }
  return Ok{};
}

int runAgent(const AgentFlags& flags) {
  auto config = flags.resolve();
  if (!config) return fail(config.error());
  AgentConfig cfg = *config;

  if (cfg.interfaces.empty()) {
    auto found = defaultRouteInterfaces();
    if (!found) return fail(found.error());
    cfg.interfaces = *found;
  }
  for (const auto& name : cfg.interfaces) {
    if (auto idx = interfaceIndex(name); !idx) return fail(idx.error());
  }
  if (auto caps = checkAgentCapabilities(); !caps) return fail(caps.error());

  if (auto made = makeStateDir(cfg.state_dir); !made) return fail(made.error());
  agent::EventLog log(cfg.log_format, stdout);
  // Enrollment and credentials before anything touches the kernel: a bad
  // token or URL changes nothing on the host.
  auto link = agent::AgentLink::open(
      {flags.console_url, flags.enroll_token, flags.name, cfg.state_dir}, log);
  if (!link) return fail(link.error());
  // Isolation first, before XDP or nftables: a recorded isolation is back in
  // force before anything else of this agent runs. Independent of --enforcer.
  auto isolator = Isolator::create({cfg.state_dir, cfg.nft_table + "_isolation"});
  if (!isolator) {
    std::fprintf(stderr, "syn-guard: agent: isolation: %s\n", isolator.error().message().c_str());
    return 2;
  }
  if ((*isolator)->removedStaleTable()) {
    log.emit("cleanup", {{"note", "removed the nftables table inet " + (*isolator)->table() +
                                      " left by an earlier run"}});
  }
  SensorOptions so{cfg.max_sources, cfg.max_blocks, cfg.max_prefix_blocks, cfg.pin_dir};
  so.max_dsts = cfg.port_flood.max_dsts;
  so.max_verified = cfg.verified.max_entries;
  auto sensor = XdpSensor::load(so);
  if (!sensor) return fail(sensor.error());
  if (!(*sensor)->handshakeNote().empty()) {
    log.emit("notice", {{"port_floods", (*sensor)->handshakeNote()}});
  }
  for (const auto& note : (*sensor)->pinNotes()) log.emit("notice", {{"pins", note}});
  nlohmann::json modes = nlohmann::json::object();
  for (const auto& name : cfg.interfaces) {
    if (auto r = (*sensor)->attach(name, cfg.xdp_mode, cfg.xdp_coexist); !r) return fail(r.error());
  }
  for (const auto& a : (*sensor)->attachments()) {
    modes[a.ifname] = xdpModeName(a.mode);
    if (!a.note.empty()) log.emit("notice", {{"interface", a.ifname}, {"note", a.note}});
  }

  agent::AgentParts parts;
  if (cfg.enforcer == EnforcerKind::kNftables) {
    auto nft = NftEnforcer::create(cfg.nft_table, static_cast<uint8_t>(cfg.ipv6_prefix));
    if (!nft) return fail(nft.error());
    if ((*nft)->removedStaleTable()) {
      log.emit("cleanup", {{"note", "removed the nftables table inet " + cfg.nft_table +
                                        " left by an earlier run"}});
    }
    parts.enforcer = std::move(*nft);
  }
  parts.store = std::make_unique<agent::FileBlockStore>(cfg.state_dir);
  parts.link = std::move(*link);
  parts.isolation = std::move(*isolator);
  parts.interfaces = cfg.interfaces;
  parts.ifname = ifName;
  // Loopback and the host's own addresses (exact, /128), re-read whenever
  // rtnetlink reports an address change.
  auto hostAllow = []() -> Result<std::vector<Prefix>> {
    auto own = localAddresses();
    if (!own) return own.error();
    std::vector<Prefix> out = loopbackPrefixes();
    for (const auto& a : *own) out.push_back(Prefix{a, static_cast<uint8_t>(128)});
    return out;
  };
  auto watch = AddressWatch::open();
  if (!watch) {
    log.emit("warning",
             {{"message", "host address changes not followed: " + watch.error().message()}});
  } else {
    parts.host_changes_fd = watch->fd();
    parts.refresh_implicit_allow = [&w = *watch,
                                    hostAllow]() -> Result<std::optional<std::vector<Prefix>>> {
      auto changed = w.drain();
      if (!changed) return changed.error();
      if (!*changed) return std::optional<std::vector<Prefix>>{};
      auto allow = hostAllow();
      if (!allow) return allow.error();
      return std::optional<std::vector<Prefix>>{std::move(*allow)};
    };
  }
  if (auto own = hostAllow(); own.ok()) {
    parts.implicit_allow = std::move(*own);
  } else {
    parts.implicit_allow = loopbackPrefixes();
    log.emit("warning", {{"message", "own addresses not allowlisted: " + own.error().message()}});
  }
  parts.local_addresses = localAddresses;
  parts.reload = [&flags, interfaces = cfg.interfaces]() -> Result<AgentConfig> {
    auto next = flags.resolve();
    if (!next) return next.error();
    if (next->interfaces.empty()) next->interfaces = interfaces;
    return next;
  };
  parts.ready_fields["xdp_modes"] = modes;
  parts.listeners = std::make_unique<SockDiagListenerProbe>();
  // SYN cookies for flooded ports: the SYNPROXY table from the start, so
  // conntrack knows the connections opened before a flood. A failure costs
  // the cookies, not the agent.
  // Challenged sources (source_response challenge) share that table: its
  // source sets put them under SYNPROXY. Without it, or without the
  // conntrack kfuncs, the kernel blocks them instead, and the log says so.
  const bool challenge = cfg.source_response == SourceResponse::kChallenge;
  if (cfg.syncookies.mode != SynCookieMode::kOff || challenge) {
    SynCookieConfig cc = cfg.syncookies;
    if (cc.mode == SynCookieMode::kOff) cc.mode = SynCookieMode::kXdp;  // challenges only
    auto made = CookieResponse::create(cc, sensor->get());
    std::shared_ptr<CookieResponse> cookies;
    if (made) cookies = std::move(*made);
    if (cookies) parts.ready_fields["syncookie_wscale"] = cookies->wscale();  // "auto" resolved
    if (cookies && cfg.syncookies.mode != SynCookieMode::kOff) {
      parts.cookies = std::make_unique<agent::CookieResponsePort>(cookies);
    } else if (!cookies && cfg.syncookies.mode != SynCookieMode::kOff) {
      log.emit("error",
               {{"message", "syncookies " + std::string(synCookieModeName(cfg.syncookies.mode)) +
                                " unavailable, port floods get none: " + made.error().message()}});
    }
    if (challenge) {
      if (!cookies) {
        parts.challenge_note = "no SYNPROXY table: " + made.error().message();
      } else if (!XdpSensor::challengeAvailable()) {
        parts.challenge_note =
            "the kernel lacks the conntrack kfuncs (bpf_xdp_ct_lookup): load nf_conntrack "
            "(modprobe nf_conntrack) and restart the agent";
      } else {
        parts.challenges = std::make_unique<agent::ChallengeResponsePort>(
            cookies, sensor->get(), static_cast<uint8_t>(cfg.ipv6_prefix));
      }
      if (!parts.challenges) {
        log.emit("warning", {{"message",
                              "source_response challenge unavailable, sources over "
                              "the threshold are blocked instead: " +
                                  parts.challenge_note}});
      }
    }
  }
  // Block times are in the XDP program's time base (jiffies), not CLOCK_MONOTONIC.
  KernelClock clock(**sensor);
  parts.sensor = std::make_unique<agent::XdpSensorPort>(std::move(*sensor));

  int code = 0;
  {
    agent::Agent agent(cfg, std::move(parts), log, clock);
    if (auto r = agent.run(); !r) code = fail(r.error());
  }  // detaches XDP, deletes the nftables tables (enforcer, isolation)
  log.emit("stopped", {{"interfaces", cfg.interfaces}});
  return code;
}

}  // namespace

void registerAgent(CLI::App& app, int* exit_code) {
  auto flags = std::make_shared<AgentFlags>();
  auto* sub = app.add_subcommand("agent", "Detect and block connection floods on this host");
  flags->addTo(sub);
  sub->callback([flags, exit_code] { *exit_code = runAgent(*flags); });
}

}  // namespace sg::cli
