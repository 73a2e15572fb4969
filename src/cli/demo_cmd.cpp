// syn-guard demo: builds a throwaway lab of network namespaces (victim with
// the agent and a server, attacker, client), floods the victim, and shows live
// what the agent does; then removes the lab and prints a verdict. Touches
// nothing of the host beyond creating and removing its own namespaces. When a
// console runs on this host (or --console names one), the victim's agent
// enrolls to it through a relay out of the sealed lab (demo_console.h), so
// `syn-guard ctl floods` shows the demo's flood.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <deque>
#include <fstream>
#include <memory>
#include <string>
#include <thread>

#include "cli/commands.h"
#include "cli/demo_console.h"
#include "core/duration.h"
#include "lab/agent_process.h"
#include "lab/client.h"
#include "lab/flood.h"
#include "lab/lab.h"

namespace sg::cli {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using Json = nlohmann::json;

std::atomic<bool> g_interrupted{false};
void onSignal(int) { g_interrupted.store(true); }

// Ctrl-C and SIGTERM only raise a flag while the demo runs, so the lab is
// always torn down in order; a closed stdout (`syn-guard demo | head`) ends
// the demo the same way instead of killing it with SIGPIPE half-way, which
// left its namespaces behind. The previous handlers come back afterwards.
class SignalGuard {
 public:
  SignalGuard() {
    struct sigaction sa {};
    sa.sa_handler = onSignal;
    sigaction(SIGINT, &sa, &old_int_);
    sigaction(SIGTERM, &sa, &old_term_);
    sigaction(SIGPIPE, &sa, &old_pipe_);
    g_interrupted.store(false);
  }
  ~SignalGuard() {
    sigaction(SIGINT, &old_int_, nullptr);
    sigaction(SIGTERM, &old_term_, nullptr);
    sigaction(SIGPIPE, &old_pipe_, nullptr);
  }

 private:
  struct sigaction old_int_ {
  }, old_term_{}, old_pipe_{};
};

struct DemoArgs {
  std::string duration = "40s";
  uint32_t threshold = 200;
  std::string window = "5s";
  std::string block = "10s";
  uint64_t rate = 20000;
  DemoConsoleFlags console;
};

struct DemoPlan {
  Nanos duration, window, block, flood_start, flood_len;
};

int fail(const std::string& what, const std::string& why, int code) {
  std::fprintf(stderr, "syn-guard: demo: %s: %s\n", what.c_str(), why.c_str());
  return code;
}

double secs(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

std::string describe(const Json& e, double t) {
  std::string ev = e.value("event", "");
  char buf[256];
  if (ev == "flood_detected") {
    std::snprintf(buf, sizeof buf, "%6.2fs  DETECTED  %s: %u attempts in %.1fs on port %u", t,
                  e.value("src", "").c_str(), e.value("count", 0u),
                  e.value("window_ms", 0.0) / 1000, e.value("dst_port", 0u));
  } else if (ev == "block_added") {
    // XDP dropped the crossing attempt itself; the agent reports when it heard.
    const bool xdp = !e.contains("latency_us");
    std::snprintf(
        buf, sizeof buf, "%6.2fs  BLOCKED   %s for %.0fs (level %u), %s %lld us after detection", t,
        e.value("src", "").c_str(), e.value("block_ms", 0.0) / 1000, e.value("level", 0u),
        xdp ? "agent notified" : "in place", e.value(xdp ? "notified_us" : "latency_us", -1ll));
  } else if (ev == "block_expired" || ev == "block_removed") {
    std::snprintf(buf, sizeof buf, "%6.2fs  %s   %s after dropping %llu packets", t,
                  ev == "block_expired" ? "EXPIRED" : "REMOVED", e.value("src", "").c_str(),
                  e.value("dropped", 0ull));
  } else if (ev == "source_pressure") {
    std::snprintf(buf, sizeof buf, "%6.2fs  PRESSURE  %u new sources/s: admission gated", t,
                  e.value("new_sources", 0u));
  } else {
    std::snprintf(buf, sizeof buf, "%6.2fs  %s", t, ev.c_str());
  }
  return buf;
}

// Everything the screen shows, refreshed every 250 ms.
struct Snapshot {
  double t = 0;
  const char* phase = "";
  uint64_t attempts = 0, dropped = 0, reached = 0, sources = 0;
  double attempt_rate = 0, drop_rate = 0;
  lab::ClientStats client;
  bool blocked = false;
};

// How this program was invoked (argv[0]), for the commands it suggests.
std::string programName() {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  std::string argv0;
  std::getline(in, argv0, '\0');
  return argv0.empty() ? "syn-guard" : argv0;
}

void render(const Snapshot& s, const DemoArgs& args, const DemoPlan& plan,
            const std::string& console_note, const std::deque<std::string>& log, bool tty) {
  if (!tty) {
    std::printf(
        "%6.2fs  %-8s SYNs in %8.0f/s  dropped %8.0f/s  reached victim %llu  client %llu ok "
        "%llu failed\n",
        s.t, s.phase, s.attempt_rate + s.drop_rate, s.drop_rate,
        static_cast<unsigned long long>(s.reached), static_cast<unsigned long long>(s.client.ok),
        static_cast<unsigned long long>(s.client.failed));
    std::fflush(stdout);
    return;
  }
  std::string out = "\x1b[H";
  char line[256];
  auto add = [&](const char* text) {
    out += text;
    out += "\x1b[K\n";
  };
  std::snprintf(line, sizeof line,
                "\x1b[1msyn-guard demo\x1b[0m  %5.1fs / %.0fs   phase: \x1b[1m%s\x1b[0m", s.t,
                std::chrono::duration<double>(plan.duration).count(), s.phase);
  add(line);
  std::snprintf(line, sizeof line,
                "agent   xdp on %s, flagged over %u attempts / %s, blocked for %s",
                lab::kVictim.dev, args.threshold, args.window.c_str(), args.block.c_str());
  add(line);
  add(console_note.c_str());
  add("");
  std::snprintf(line, sizeof line,
                "SYNs arriving   %9.0f /s   (counted %.0f /s, total %llu; sources tracked %llu)",
                s.attempt_rate + s.drop_rate, s.attempt_rate,
                static_cast<unsigned long long>(s.attempts),
                static_cast<unsigned long long>(s.sources));
  add(line);
  std::snprintf(line, sizeof line, "dropped         %9.0f /s   (total %llu)", s.drop_rate,
                static_cast<unsigned long long>(s.dropped));
  add(line);
  std::snprintf(line, sizeof line, "attacker %s   %s   SYNs that reached the server: %llu",
                lab::kAttacker.v4, s.blocked ? "\x1b[31mBLOCKED\x1b[0m" : "\x1b[32mallowed\x1b[0m",
                static_cast<unsigned long long>(s.reached));
  add(line);
  double avg_ms = s.client.ok ? s.client.latency_us_sum / 1000.0 / s.client.ok : 0;
  std::snprintf(line, sizeof line, "client   %s   ok %llu  failed %llu  (%.1f%%)  avg %.2f ms",
                lab::kClient.v4, static_cast<unsigned long long>(s.client.ok),
                static_cast<unsigned long long>(s.client.failed), 100 * s.client.successRate(),
                avg_ms);
  add(line);
  add("");
  add("events:");
  for (const auto& l : log) add(("  " + l).c_str());
  out += "\x1b[J";
  std::fputs(out.c_str(), stdout);
  std::fflush(stdout);
}

int runDemo(const DemoArgs& args) {
  if (geteuid() != 0) {
    return fail("needs root", "it creates network namespaces and attaches XDP", 1);
  }
  DemoPlan plan{};
  for (auto [text, out, name] : {std::tuple{&args.duration, &plan.duration, "--duration"},
                                 std::tuple{&args.window, &plan.window, "--window"},
                                 std::tuple{&args.block, &plan.block, "--block"}}) {
    auto d = parseDuration(*text);
    if (!d.ok()) return fail(name, d.error().message(), 2);
    *out = *d;
  }
  if (plan.duration < 10s || plan.duration > 10min)
    return fail("--duration", "must be 10s..10m", 2);
  if (args.threshold == 0 || args.threshold > 1000000) {
    return fail("--threshold", "must be 1..1000000", 2);
  }
  if (args.rate == 0 || args.rate > 10000000) return fail("--rate", "must be 1..10000000", 2);
  // Baseline 3 s, then the flood, ending early enough to watch the block expire.
  plan.flood_start = 3s;
  plan.flood_len =
      std::max<Nanos>(3s, std::min<Nanos>(plan.duration - 6s, plan.duration - 7s - plan.block));

  std::string why_alone;
  auto console =
      DemoConsole::open(args.console, "demo-victim-" + std::to_string(getpid()), &why_alone);
  if (!console.ok()) return fail("--console", console.error().message(), 1);
  DemoConsole* cons = console->get();
  const std::string console_note =
      cons != nullptr ? "console " + cons->url() + ", the agent enrolled as " + cons->endpointName()
                      : "console none: running alone (" + why_alone + ")";
  std::printf("%s\n", console_note.c_str());

  SignalGuard signals;
  bool tty = isatty(STDOUT_FILENO) != 0;
  int rc = 0;
  std::string console_flood;
  {
    std::printf("building the lab (namespaces sg-%d-*)...\n", getpid());
    auto lab = lab::Lab::create();
    if (!lab.ok()) return fail("building the lab", lab.error().message(), 1);
    auto server = lab::TcpServer::start((*lab)->victim().name(), lab::kVictim.v4, lab::kServerPort);
    if (!server.ok()) return fail("starting the server", server.error().message(), 1);
    auto probe = lab::SynProbe::install((*lab)->victim(), {lab::kAttacker.v4});
    if (!probe.ok()) return fail("installing the SYN probe", probe.error().message(), 1);
    lab::AgentOptions ao;
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    ao.binary = n > 0 ? std::string(self, static_cast<size_t>(n)) : "/proc/self/exe";
    ao.netns = (*lab)->victim().name();
    ao.interfaces = {lab::kVictim.dev};
    ao.threshold = args.threshold;
    ao.window = formatDuration(plan.window);
    ao.block = formatDuration(plan.block);
    if (cons != nullptr) {
      auto flags = cons->attach((*lab)->victim().name());
      if (!flags.ok()) return fail("relaying to the console", flags.error().message(), 1);
      ao.extra = *flags;
    }
    auto agent = lab::AgentProcess::start(ao);
    if (!agent.ok()) return fail("starting the agent", agent.error().message(), 1);
    lab::AgentProcess& a = **agent;
    auto client = lab::ClientLoop::start((*lab)->client().name(), lab::kVictim.v4, lab::kServerPort,
                                         20, 1000ms);
    if (!client.ok()) return fail("starting the client", client.error().message(), 1);

    std::atomic<bool> stop_flood{false};
    std::thread flooder;
    Result<lab::FloodStats> flood_stats = makeError(Errc::kUnavailable, "the flood did not run");
    lab::ClientStats at_flood_start, at_flood_end;
    bool flood_started = false, flood_ended = false;
    std::deque<std::string> log;
    auto t0 = Clock::now();
    Snapshot prev;
    uint64_t blocks = 0;
    double first_latency_us = -1;
    bool expiry_seen = false;
    if (tty) std::fputs("\x1b[2J", stdout);
    while (!g_interrupted.load()) {
      auto now = Clock::now();
      Snapshot s;
      s.t = secs(now - t0);
      if (now - t0 >= plan.duration) break;
      if (!flood_started && now - t0 >= plan.flood_start) {
        flood_started = true;
        at_flood_start = (*client)->stats();
        lab::FloodOptions f;
        f.src = lab::kAttacker.v4;
        f.dst = lab::kVictim.v4;
        f.dst_port = lab::kServerPort;
        f.rate = args.rate;
        f.duration = plan.flood_len;
        f.count = args.rate *
                  static_cast<uint64_t>(
                      std::chrono::duration_cast<std::chrono::seconds>(plan.flood_len).count() + 1);
        flooder = std::thread([&, f, name = (*lab)->attacker().name()] {
          flood_stats = lab::runFloodIn(name, f, &stop_flood);
        });
      }
      if (flood_started && !flood_ended && now - t0 >= plan.flood_start + plan.flood_len) {
        flood_ended = true;
        at_flood_end = (*client)->stats();
      }
      s.phase = !flood_started ? "baseline" : !flood_ended ? "FLOOD" : "after";
      for (const auto& e : a.poll()) {
        std::string ev = e.value("event", "");
        if (ev == "block_added") {
          ++blocks;
          if (first_latency_us < 0) first_latency_us = e.value("latency_us", -1.0);  // nftables
        }
        if (ev == "block_expired") expiry_seen = true;
        if (ev == "ready" || ev == "stopped") continue;
        log.push_back(describe(e, s.t));
        if (!tty) std::printf("%s\n", log.back().c_str());
        if (log.size() > 8) log.pop_front();
      }
      if (!a.process().running()) {
        rc = fail("the agent exited", a.process().stderrText(), 1);
        break;
      }
      if (auto st = a.status(); st.ok()) {
        s.attempts = (*st)["counters"].value("attempts_total", 0ull);
        s.dropped = (*st)["counters"].value("dropped_total", 0ull);
        s.sources = st->value("sources", 0ull);
        s.blocked = st->value("blocks", 0ull) > 0;
      }
      if (auto r = probe->read(lab::kAttacker.v4); r.ok()) s.reached = *r;
      s.client = (*client)->stats();
      double dt = s.t - prev.t;
      if (prev.t > 0 && dt > 0) {
        s.attempt_rate = static_cast<double>(s.attempts - prev.attempts) / dt;
        s.drop_rate = static_cast<double>(s.dropped - prev.dropped) / dt;
      }
      if (tty || static_cast<int>(s.t) != static_cast<int>(prev.t)) {
        render(s, args, plan, console_note, log, tty);
      }
      prev = s;
      std::this_thread::sleep_for(250ms);
    }
    stop_flood.store(true);
    if (flooder.joinable()) flooder.join();
    if (!flood_ended) at_flood_end = (*client)->stats();
    (*client)->stop();
    auto reached = probe->read(lab::kAttacker.v4);
    auto final_status = a.status();
    // How the console saw it, asked while the agent still runs (it reports at once).
    if (cons != nullptr) console_flood = cons->floodLine(lab::kAttacker.v4, 5s);
    int agent_rc = a.stop();
    std::printf("\nremoving the lab...\n");
    if (agent_rc != 0)
      rc = fail("the agent exited with " + std::to_string(agent_rc), a.process().stderrText(), 1);

    // The verdict.
    lab::ClientStats during = at_flood_end - at_flood_start;
    uint64_t passed = reached.ok() ? *reached : 0;
    uint64_t allowed = blocks * args.threshold;
    std::printf("\n%sverdict%s%s\n", tty ? "\x1b[1m" : "", tty ? "\x1b[0m" : "",
                g_interrupted.load() ? " (interrupted)" : "");
    if (flood_stats.ok()) {
      std::printf("  flood        %llu SYNs from %s at %.0f/s\n",
                  static_cast<unsigned long long>(flood_stats->sent), lab::kAttacker.v4,
                  flood_stats->pps);
    }
    std::printf("  client       %.1f%% of %llu exchanges succeeded during the flood\n",
                100 * during.successRate(),
                static_cast<unsigned long long>(during.ok + during.failed));
    if (first_latency_us >= 0) {
      std::printf("  detection    %llu block(s); first in place %.0f us after detection\n",
                  static_cast<unsigned long long>(blocks), first_latency_us);
    } else {
      std::printf(
          "  detection    %llu block(s); in place at detection (XDP drops the crossing "
          "attempt itself)\n",
          static_cast<unsigned long long>(blocks));
    }
    std::printf(
        "  passed       %llu attacker SYNs reached the server; %llu beyond the threshold "
        "(%u per detection)\n",
        static_cast<unsigned long long>(passed),
        static_cast<unsigned long long>(passed > allowed ? passed - allowed : 0), args.threshold);
    if (final_status.ok()) {
      std::printf("  dropped      %llu packets in the kernel\n",
                  static_cast<unsigned long long>(
                      (*final_status)["counters"].value("dropped_total", 0ull)));
    }
    std::printf("  expiry       %s\n",
                expiry_seen ? "seen: the attacker was let back in" : "not seen within the demo");
    if (cons != nullptr) std::printf("  console      %s\n", console_flood.c_str());
  }  // the lab is removed here, also on the early returns above
  if (cons != nullptr) {
    const std::string ctl = programName() + " ctl";
    std::printf("\nnow try:\n  %s floods%s\n  %s block %s --ttl 10m%s\n", ctl.c_str(),
                cons->ctlFlags().c_str(), ctl.c_str(), lab::kAttacker.v4, cons->ctlFlags().c_str());
  }
  return rc;
}

}  // namespace

void registerDemo(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<DemoArgs>();
  auto* sub = app.add_subcommand(
      "demo",
      "Build a throwaway lab of network namespaces, flood it, and watch the agent block the "
      "attacker while a client keeps working (needs root; touches nothing else of the host)");
  sub->add_option("--duration", args->duration, "How long the demo runs")->capture_default_str();
  sub->add_option("--threshold", args->threshold, "Attempts per window before a block")
      ->capture_default_str();
  sub->add_option("--window", args->window, "Sliding window")->capture_default_str();
  sub->add_option("--block", args->block, "Block duration")->capture_default_str();
  sub->add_option("--rate", args->rate, "Flood rate, SYNs per second")->capture_default_str();
  auto* url = sub->add_option("--console", args->console.console,
                              "Report the victim's detections to this console (default: the "
                              "local console, when it runs)");
  sub->add_option("--ca-file", args->console.ca_file,
                  "The console's CA (default: /var/lib/syn-guard/console/ca.crt)");
  sub->add_option("--token-file", args->console.token_file,
                  "An admin API token of the console, to make an enrollment token (default: "
                  "/var/lib/syn-guard/console/admin.token)");
  sub->add_flag("--no-console", args->console.none, "Run alone, even when a console runs")
      ->excludes(url);
  sub->callback([args, exit_code] { *exit_code = runDemo(*args); });
}

}  // namespace sg::cli
