// Report latency, end to end with real components: from the agent's kernel
// detection to the flood being visible through the console's REST API.
//
// A fleet lab with one endpoint: a real console (`syn-guard console`, SQLite
// or --db), a real agent (XDP) enrolled to it, and an attacker that floods
// the endpoint from a new source each round. Per round:
//   t_kernel  = the agent's block_added event time (wall clock, ms) minus its
//               notified_us (kernel crossing -> user space)
//   t_visible = when a GET /v1/floods made after the flood first lists the
//               source (wall clock; polled back to back, each poll a fresh
//               TLS connection, so this is an upper bound by one poll)
// and the latency is t_visible - t_kernel. Printed: p50, p99, max over the
// rounds, beside the poll's own round trip (the resolution).
//
//   sudo build/bin/report_latency_bench [rounds] [--db postgres://...]
#include <sys/time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "lab/agent_process.h"
#include "lab/client.h"
#include "lab/console_process.h"
#include "lab/fleet.h"
#include "lab/flood.h"

namespace {

using namespace std::chrono_literals;
using Json = nlohmann::json;

double wallMs() {
  timeval tv{};
  gettimeofday(&tv, nullptr);
  return static_cast<double>(tv.tv_sec) * 1e3 + static_cast<double>(tv.tv_usec) / 1e3;
}

// "2026-11-30T05:53:48.123Z" -> Unix ms.
double parseTs(const std::string& ts) {
  tm t{};
  const char* rest = strptime(ts.c_str(), "%Y-%m-%dT%H:%M:%S", &t);
  if (rest == nullptr) return 0;
  double ms = 0;
  if (*rest == '.') ms = std::strtod(rest, nullptr) * 1e3;
  return static_cast<double>(timegm(&t)) * 1e3 + ms;
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

bool listsSource(const Json& list, const std::string& src) {
  if (!list.is_object() || !list.contains("items")) return false;
  for (const auto& f : list["items"]) {
    if (f.value("source", "") == src) return true;
  }
  return false;
}

int fail(const std::string& what) {
  std::fprintf(stderr, "report_latency_bench: %s\n", what.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  int rounds = 50;
  std::string db;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--db") == 0 && i + 1 < argc) {
      db = argv[++i];
    } else {
      rounds = std::max(1, std::atoi(argv[i]));
    }
  }
  auto lab = sg::lab::FleetLab::create(1);
  if (!lab) return fail(lab.error().message());
  sg::lab::ConsoleOptions co;
  co.netns = (*lab)->console().name();
  co.listen = std::string(sg::lab::kFleetConsoleIp) + ":8443";
  co.db = db;
  auto console = sg::lab::ConsoleProcess::start(co);
  if (!console) return fail(console.error().message());
  auto token = (*console)->enrollmentToken("org=bench,type=server,dept=bench");
  if (!token) return fail(token.error().message());
  const std::string ep_ip = sg::lab::FleetLab::endpointIp(0);
  auto server = sg::lab::TcpServer::start((*lab)->endpoint(0).name(), ep_ip, 8080);
  if (!server) return fail(server.error().message());
  sg::lab::AgentOptions ao;
  ao.netns = (*lab)->endpoint(0).name();
  ao.interfaces = {sg::lab::kFleetEndpointDev};
  ao.threshold = 20;
  ao.window = "5s";
  ao.block = "60s";
  ao.extra = {"--console", (*console)->url(), "--enroll", *token, "--name", "bench-ep"};
  auto agent = sg::lab::AgentProcess::start(ao);
  if (!agent) return fail(agent.error().message());
  if (!(*console)->waitApi(
          "/v1/endpoints",
          [](const Json& l) {
            return l.contains("items") && !l["items"].empty() &&
                   l["items"][0].value("online", false);
          },
          20s)) {
    return fail("the agent never came online at the console");
  }

  std::vector<double> latency_ms, poll_ms;
  for (int r = 0; r < rounds; ++r) {
    const std::string src = "10.200.10." + std::to_string(1 + r % 250);
    size_t mark = (*agent)->mark();
    sg::lab::FloodOptions f;
    f.src = src;
    f.dst = ep_ip;
    f.dst_port = 8080;
    f.count = 40;
    f.rate = 20000;
    f.duration = 2s;
    auto sent = sg::lab::runFloodIn((*lab)->attacker().name(), f);
    if (!sent) return fail(sent.error().message());
    auto ev = (*agent)->waitFor(
        "block_added", 5s, [&](const Json& e) { return e.value("src", "") == src; }, mark);
    if (!ev) return fail("no block_added for " + src);
    double t_kernel =
        parseTs(ev->value("ts", "")) - static_cast<double>(ev->value("notified_us", 0ull)) / 1e3;
    double t_visible = 0;
    auto deadline = std::chrono::steady_clock::now() + 5s;
    while (std::chrono::steady_clock::now() < deadline) {
      double before = wallMs();
      auto reply = (*console)->api("GET", "/v1/floods");
      double after = wallMs();
      poll_ms.push_back(after - before);
      if (reply && reply->status == 200 && listsSource(reply->body, src)) {
        t_visible = after;
        break;
      }
    }
    if (t_visible == 0) return fail("the flood from " + src + " never showed in the API");
    latency_ms.push_back(t_visible - t_kernel);
  }
  std::printf("report latency, kernel detection -> visible via GET /v1/floods (%s, %d rounds)\n",
              db.empty() ? "SQLite" : "PostgreSQL", rounds);
  std::printf("  %-28s p50 %7.1f ms  p99 %7.1f ms  max %7.1f ms\n", "latency",
              percentile(latency_ms, 0.5), percentile(latency_ms, 0.99),
              percentile(latency_ms, 1.0));
  std::printf("  %-28s p50 %7.1f ms  p99 %7.1f ms  (resolution of the above)\n",
              "one API poll (TLS + GET)", percentile(poll_ms, 0.5), percentile(poll_ms, 0.99));
  return 0;
}
