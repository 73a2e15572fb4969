// The console under a fleet: a real `syn-guard console` process and N
// simulated agents that speak the real protocol over real TLS (each with its
// own client certificate from the console's CA, enrolled through the
// console's own code before it starts; fleet_sim_agent.h). The agents run in
// this process on one thread; the console is a separate process, so its
// memory is its own.
//
// For each fleet size it prints:
//   connect      all N connected, welcomed and acknowledging the snapshot
//   memory       the console's RSS with N agents minus its RSS with none, per 1,000
//   fan-out      POST /v1/blocks -> the last agent acknowledges the block
//                (agent side: when it sent the ack; console side: when the
//                console received the last ack, its fan-out metric
//                syn_guard_console_fanout_last_acked_seconds), p50/p99
//   reconnect    SIGKILL the console, start it again: until every agent is
//                welcomed again and runs the current version
//   ingest       reports of 10 detections each, pipelined (4 in flight per
//                agent) by min(N, 200) agents for 5 s: detections per second
//                the console stored and acknowledged
//
//   sudo build/bin/fleet_bench [--agents 1000,10000] [--rounds 20] [--db postgres://...]
//                              [--connect-timeout 120] [--fanout-only]
//                              [--ingest-only] [--ingest-seconds 5]
// --fanout-only: connect and the fan-out rounds only; then the console is
// stopped with SIGTERM (a profiler wrapped around it writes its data at exit)
// and there is a 2 s pause after the phase line, so one that zeroes its
// counters on that line misses no round (bench/fleet_callgrind.sh).
// --ingest-only: connect and the ingest phase only (no fan-out, no restart),
// with a phase line and the same pause and SIGTERM; it prints the reports
// acknowledged and the console's CPU time per detection (user + system, so
// less moved by other load than the rate; compare alternating runs).
// SYNGUARD_BIN_DIR=DIR runs DIR/syn-guard as the console (another build, to
// compare; one without the fan-out metric gives the agent side only).
// (root only to raise the file-descriptor limit for 10,000 connections)
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "console/service.h"
#include "console/store_open.h"
#include "files/state_file.h"
#include "fleet_sim_agent.h"
#include "lab/console_process.h"
#include "net/ws_client.h"
#include "pki/console_pki.h"
#include "pki/csr.h"
#include "pki/key.h"

namespace {

using namespace std::chrono_literals;
using sg::bench::kRounds;
using sg::bench::nowNs;
using sg::bench::SimAgent;
using Json = nlohmann::json;
using Steady = std::chrono::steady_clock;

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

uint64_t rssKib(pid_t pid) {
  auto text = sg::readSmallFile("/proc/" + std::to_string(pid) + "/status", 1 << 16);
  if (!text) return 0;
  std::istringstream in(*text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoull(line.substr(6));
  }
  return 0;
}

// The console's CPU time so far (user + system), in ms.
double cpuMs(pid_t pid) {
  auto text = sg::readSmallFile("/proc/" + std::to_string(pid) + "/stat", 1 << 16);
  if (!text) return 0;
  size_t close = text->rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream rest(text->substr(close + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;  // fields 14 and 15
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  return static_cast<double>(utime + stime) * 1000.0 / static_cast<double>(sysconf(_SC_CLK_TCK));
}

template <typename Pred>
bool waitUntil(Pred pred, std::chrono::milliseconds timeout) {
  auto deadline = Steady::now() + timeout;
  while (Steady::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(1ms);
  }
  return pred();
}

// A sample's value in Prometheus text (0 when absent).
double metricValue(const std::string& text, const std::string& name) {
  const std::string key = "\n" + name + " ";
  size_t at = text.find(key);
  return at == std::string::npos ? 0 : std::atof(text.c_str() + at + key.size());
}

int fail(const std::string& what) {
  std::fprintf(stderr, "fleet_bench: %s\n", what.c_str());
  return 1;
}

struct Credentials {
  std::string name, cert_pem;
};

// Enrolls `n` agents through the console's own service on its data
// directory (before the console process starts). One key for all: the
// console's work per agent (a certificate, a TLS handshake, a session) is the
// same, and 10,000 key generations would only slow the set-up.
sg::Result<std::vector<Credentials>> enroll(const std::string& data, const std::string& db,
                                            const sg::pki::ConsolePki& pki,
                                            const sg::pki::EvpPkey& key, size_t n) {
  SG_READ(store, sg::console::openStore(db, data));
  sg::MonotonicClock clock;
  SG_READ(service, sg::console::ConsoleService::open(std::move(*store), {}, clock,
                                                     sg::console::systemWallMs, pki.ca_pem, [&] {
                                                       auto k = sg::pki::keyToPem(pki.ca_key);
                                                       return k ? *k : std::string();
                                                     }()));
  sg::console::Actor admin{"bench", sg::console::Role::kAdmin};
  std::vector<Credentials> out;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    std::string name = "sim-" + std::to_string(i);
    SG_READ(token,
            (*service)->createEnrollmentToken(
                admin, {{"org", "bench"}, {"type", "sim"}, {"dept", "d" + std::to_string(i % 10)}},
                std::nullopt));
    SG_READ(csr, sg::pki::makeCsr(key, name));
    SG_READ(csr_pem, sg::pki::csrToPem(*csr));
    SG_READ(result, (*service)->enroll(*token, *csr_pem, name));
    out.push_back({name, result->cert_pem});
  }
  return out;
}

struct Fleet {
  boost::asio::io_context ioc;
  std::vector<std::shared_ptr<SimAgent>> agents;
  std::vector<std::unique_ptr<sg::net::WsClient>> clients;
  std::thread thread;
  std::unique_ptr<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work;

  ~Fleet() {
    for (auto& c : clients) c->stop();
    work.reset();
    ioc.stop();
    if (thread.joinable()) thread.join();
  }
};

// Reports of 10 detections, pipelined (4 in flight per agent) by min(n, 200)
// agents for `seconds`: the detections the console stored and acknowledged.
struct IngestResult {
  size_t senders = 0;
  uint64_t detections = 0;
  double seconds = 0;
};

IngestResult ingest(Fleet& fleet, size_t n, std::chrono::milliseconds duration) {
  IngestResult out;
  out.senders = std::min<size_t>(n, 200);
  uint64_t before = 0;
  for (size_t i = 0; i < out.senders; ++i) before += fleet.agents[i]->reports_acked.load();
  for (size_t i = 0; i < out.senders; ++i) fleet.agents[i]->ingest.store(true);
  auto t_ingest = Steady::now();
  for (size_t i = 0; i < out.senders; ++i) {
    for (int w = 0; w < 4; ++w) fleet.agents[i]->sendReport();
  }
  std::this_thread::sleep_for(duration);
  for (size_t i = 0; i < out.senders; ++i) fleet.agents[i]->ingest.store(false);
  out.seconds = std::chrono::duration<double>(Steady::now() - t_ingest).count();
  uint64_t after = 0;
  for (size_t i = 0; i < out.senders; ++i) after += fleet.agents[i]->reports_acked.load();
  out.detections = (after - before) * 10;
  return out;
}

int runSize(size_t n, int rounds, const std::string& db, std::chrono::seconds connect_timeout,
            bool fanout_only, bool ingest_only, std::chrono::milliseconds ingest_duration) {
  char tmpl[] = "/tmp/sg-fleet-bench-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) return fail("mkdtemp");
  const std::string data = tmpl;
  struct Cleanup {
    std::string dir;
    ~Cleanup() {
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
    }
  } cleanup{data};

  sg::pki::ConsolePkiOptions po;
  po.dir = data;
  po.server_sans = {"127.0.0.1"};
  auto pki = sg::pki::loadOrCreateConsolePki(po);
  if (!pki) return fail(pki.error().message());
  auto key = sg::pki::generateEcKey();
  if (!key) return fail(key.error().message());
  auto key_pem = sg::pki::keyToPem(*key);
  if (!key_pem) return fail(key_pem.error().message());
  auto t_enroll = Steady::now();
  auto creds = enroll(data, db, *pki, *key, n);
  if (!creds) return fail("enrolling: " + creds.error().message());
  double enroll_s = std::chrono::duration<double>(Steady::now() - t_enroll).count();

  const uint16_t port = static_cast<uint16_t>(20000 + getpid() % 20000);
  sg::lab::ConsoleOptions co;
  co.listen = "127.0.0.1:" + std::to_string(port);
  co.data = data;
  co.db = db;
  auto console = sg::lab::ConsoleProcess::start(co);
  if (!console) return fail(console.error().message());
  std::this_thread::sleep_for(500ms);
  uint64_t rss_idle = rssKib((*console)->process().pid());

  Fleet fleet;
  fleet.work =
      std::make_unique<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>>(
          fleet.ioc.get_executor());
  for (const auto& c : *creds) {
    auto agent = std::make_shared<SimAgent>(c.name);
    sg::net::WsClientOptions wo;
    wo.host = "127.0.0.1";
    wo.port = port;
    wo.tls.ca_pem = pki->ca_pem;
    wo.tls.cert_pem = c.cert_pem;
    wo.tls.key_pem = *key_pem;
    wo.connect_timeout = 20s;
    auto client = sg::net::WsClient::create(fleet.ioc, wo, agent);
    if (!client) return fail(client.error().message());
    agent->attach(client->get());
    fleet.agents.push_back(agent);
    fleet.clients.push_back(std::move(*client));
  }
  fleet.thread = std::thread([&] { fleet.ioc.run(); });
  auto t_connect = Steady::now();
  for (auto& c : fleet.clients) c->start();
  auto allSynced = [&](int64_t since_welcome_ns) {
    for (const auto& a : fleet.agents) {
      if (a->welcomed_ns.load() < since_welcome_ns || a->applied.load() == 0) return false;
    }
    return true;
  };
  if (!waitUntil([&] { return allSynced(0); }, connect_timeout)) {
    return fail("not every agent connected and synced within " +
                std::to_string(connect_timeout.count()) + " s");
  }
  double connect_s = std::chrono::duration<double>(Steady::now() - t_connect).count();
  std::this_thread::sleep_for(1s);
  uint64_t rss_full = rssKib((*console)->process().pid());

  if (ingest_only) {
    std::fprintf(stderr, "fleet_bench: ingest phase starts, console pid %d\n",
                 static_cast<int>((*console)->process().pid()));
    std::this_thread::sleep_for(2s);
    const double cpu_before = cpuMs((*console)->process().pid());
    const IngestResult r = ingest(fleet, n, ingest_duration);
    // The reports in flight when it stopped: acked before the console stops,
    // so the count the profiler takes at exit covers what is printed.
    std::this_thread::sleep_for(2s);
    uint64_t acked = 0;
    for (size_t i = 0; i < r.senders; ++i) acked += fleet.agents[i]->reports_acked.load();
    const double cpu = cpuMs((*console)->process().pid()) - cpu_before;
    std::fprintf(stderr, "fleet_bench: ingest phase ends\n");
    std::printf("fleet of %zu simulated agents, console on %s\n", n,
                db.empty() ? "SQLite" : "PostgreSQL");
    std::printf("  %-34s %8.0f detections/s (%zu agents, 4 reports in flight each)\n", "ingest",
                static_cast<double>(r.detections) / r.seconds, r.senders);
    std::printf("  %-34s %llu reports (%llu detections)\n", "reports acked in the phase",
                static_cast<unsigned long long>(acked),
                static_cast<unsigned long long>(acked * 10));
    std::printf("  %-34s %8.1f us per detection\n", "console CPU",
                cpu * 1e3 / static_cast<double>(std::max<uint64_t>(1, r.detections)));
    std::fflush(stdout);
    (*console)->process().stop(120s);
    return 0;
  }

  // Fan-out rounds. The phase lines on stderr let a profiler attach to the
  // console for this phase alone (perf record -p <console pid>).
  std::fprintf(stderr, "fleet_bench: fan-out phase starts, console pid %d\n",
               static_cast<int>((*console)->process().pid()));
  std::vector<double> fan_agent_ms, fan_console_ms;
  if (fanout_only) std::this_thread::sleep_for(2s);
  const double cpu_before = cpuMs((*console)->process().pid());
  for (int r = 1; r <= std::min(rounds, kRounds); ++r) {
    const std::string src = "198.51.100." + std::to_string(r);
    int64_t t0 = nowNs();
    auto reply = (*console)->api("POST", "/v1/blocks", {{"source", src}, {"ttl", "10m"}});
    if (!reply || reply->status >= 300) {
      return fail("POST /v1/blocks: " + (reply ? reply->text : reply.error().message()));
    }
    bool all = waitUntil(
        [&] {
          for (const auto& a : fleet.agents) {
            if (a->block_seen_ns[r].load() == 0) return false;
          }
          return true;
        },
        30s);
    if (!all) return fail("round " + std::to_string(r) + ": not every agent got the block");
    int64_t last = 0;
    for (const auto& a : fleet.agents) last = std::max(last, a->block_seen_ns[r].load());
    fan_agent_ms.push_back(static_cast<double>(last - t0) / 1e6);
    // The console's own time to the last ack it received (its fan-out
    // metric): read once it has them all, so no API poll competes with the
    // fan-out it measures (GET /v1/blocks, polled before, costs the console
    // blocks x endpoints).
    const uint64_t version = reply->body.value("version", 0ull);
    std::optional<double> acked_ms;
    for (auto until = Steady::now() + 30s; !acked_ms && Steady::now() < until;) {
      auto m = (*console)->api("GET", "/metrics");
      if (m && m->status == 200 &&
          m->text.find("syn_guard_console_fanout_last_acked_version") == std::string::npos) {
        break;  // a console from before the metric (SYNGUARD_BIN_DIR): agent side only
      }
      if (m && m->status == 200 &&
          metricValue(m->text, "syn_guard_console_fanout_last_acked_version") >=
              static_cast<double>(version)) {
        acked_ms = metricValue(m->text, "syn_guard_console_fanout_last_acked_seconds") * 1e3;
      } else {
        std::this_thread::sleep_for(20ms);  // a gentle poll: it shares the console's cores
      }
    }
    if (acked_ms) fan_console_ms.push_back(*acked_ms);
  }
  // Every block acked by every agent, as the API shows it (once, after the rounds).
  auto listed = (*console)->waitApi(
      "/v1/blocks",
      [&](const Json& l) {
        size_t full = 0;
        for (const auto& b : l.value("items", Json::array())) full += b.value("acked", 0ull) >= n;
        return full == l.value("items", Json::array()).size();
      },
      30s);
  if (!listed) return fail("GET /v1/blocks never showed every block acked by all");

  std::fprintf(stderr, "fleet_bench: fan-out phase ends\n");
  // The console's own CPU per round (the fan-out, its acknowledgements and the
  // metric reads): what the fleet costs the console, apart from the simulated
  // agents that share the machine.
  const double console_cpu_per_round =
      (cpuMs((*console)->process().pid()) - cpu_before) /
      static_cast<double>(std::max<size_t>(1, fan_agent_ms.size()));

  // Printed now: a later phase that fails leaves these.
  std::printf("fleet of %zu simulated agents, console on %s (enrolment %.1f s)\n", n,
              db.empty() ? "SQLite" : "PostgreSQL", enroll_s);
  // Honest about the set-up: the agents' TLS and JSON work competes with the
  // console's for the same cores.
  std::printf("  (the agents: one thread of this process, on the same %ld cores as the console)\n",
              sysconf(_SC_NPROCESSORS_ONLN));
  std::printf("  %-34s %8.2f s\n", "connect + snapshot acknowledged", connect_s);
  std::printf("  %-34s %8.1f MiB per 1,000 agents (idle %.1f MiB, full %.1f MiB)\n",
              "console memory",
              static_cast<double>(rss_full - rss_idle) / 1024.0 * 1000.0 / static_cast<double>(n),
              static_cast<double>(rss_idle) / 1024.0, static_cast<double>(rss_full) / 1024.0);
  std::printf("  %-34s p50 %7.1f ms  p99 %7.1f ms  (%zu rounds)\n", "fan-out, last agent's ack",
              percentile(fan_agent_ms, 0.5), percentile(fan_agent_ms, 0.99), fan_agent_ms.size());
  if (!fan_console_ms.empty()) {
    std::printf("  %-34s p50 %7.1f ms  p99 %7.1f ms  (the console's fan-out metric)\n",
                "fan-out, console got the last ack", percentile(fan_console_ms, 0.5),
                percentile(fan_console_ms, 0.99));
  }
  std::printf("  %-34s %8.1f ms of CPU per round (fan-out, acks, metric reads)\n",
              "console CPU per fan-out round", console_cpu_per_round);
  std::fflush(stdout);
  if (fanout_only) {
    (*console)->process().stop(120s);  // SIGTERM: a wrapping profiler writes its data
    return 0;
  }

  // Reconnect after SIGKILL.
  (*console)->kill();
  int64_t t_restart = nowNs();
  auto restarted = (*console)->restart(60s);
  if (!restarted) return fail("restart: " + restarted.error().message());
  if (!waitUntil([&] { return allSynced(t_restart); }, connect_timeout)) {
    return fail("not every agent reconnected within " + std::to_string(connect_timeout.count()) +
                " s");
  }
  double reconnect_s = static_cast<double>(nowNs() - t_restart) / 1e9;

  // Ingest.
  const IngestResult ing = ingest(fleet, n, ingest_duration);
  double ingest_rate = static_cast<double>(ing.detections) / ing.seconds;

  uint64_t errors = 0;
  for (const auto& a : fleet.agents) errors += a->parse_errors.load();

  std::printf("  %-34s %8.2f s\n", "reconnect + resync after SIGKILL", reconnect_s);
  std::printf("  %-34s %8.0f detections/s (%zu agents, 4 reports in flight each)\n", "ingest",
              ingest_rate, ing.senders);
  if (errors != 0)
    std::printf("  (%llu console messages failed to parse)\n",
                static_cast<unsigned long long>(errors));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<size_t> sizes = {1000, 10000};
  int rounds = 20;
  std::string db;
  std::chrono::seconds connect_timeout = 120s;
  bool fanout_only = false;
  bool ingest_only = false;
  std::chrono::milliseconds ingest_duration = 5s;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--agents" && i + 1 < argc) {
      sizes.clear();
      std::stringstream in(argv[++i]);
      std::string part;
      while (std::getline(in, part, ',')) sizes.push_back(std::stoul(part));
    } else if (a == "--rounds" && i + 1 < argc) {
      rounds = std::atoi(argv[++i]);
    } else if (a == "--db" && i + 1 < argc) {
      db = argv[++i];
    } else if (a == "--fanout-only") {
      fanout_only = true;
    } else if (a == "--ingest-only") {
      ingest_only = true;
    } else if (a == "--ingest-seconds" && i + 1 < argc) {
      ingest_duration = std::chrono::milliseconds(static_cast<int64_t>(std::atof(argv[++i]) * 1e3));
    } else if (a == "--connect-timeout" && i + 1 < argc) {  // seconds; a loaded machine needs more
      connect_timeout = std::chrono::seconds(std::atoi(argv[++i]));
    } else {
      return fail(
          "usage: fleet_bench [--agents N,N] [--rounds R] [--db URL] [--connect-timeout S] "
          "[--fanout-only] [--ingest-only] [--ingest-seconds S]");
    }
  }
  rlimit lim{};
  getrlimit(RLIMIT_NOFILE, &lim);
  lim.rlim_cur = lim.rlim_max;
  setrlimit(RLIMIT_NOFILE, &lim);
  for (size_t n : sizes) {
    if (int rc = runSize(n, rounds, db, connect_timeout, fanout_only, ingest_only, ingest_duration);
        rc != 0)
      return rc;
  }
  return 0;
}
