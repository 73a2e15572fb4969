// idle_bench: what the agent costs while nothing happens. Starts the real
// agent (`syn-guard agent`, XDP on the victim's veth of a throwaway lab), lets
// it settle, then reads its CPU time over --seconds of idle: the on-CPU time
// of all its threads from /proc/<pid>/task/*/schedstat (nanoseconds), beside
// utime+stime from /proc/<pid>/stat (clock ticks, the resolution `top` and
// the README's old figure had), its wakeups (context switches) and its RSS.
// The same reading of a process that only sleeps (`sleep`) in the same run is
// the baseline: what reading /proc and being a process cost at all.
// Needs root. Usage: idle_bench [--seconds 30] [--enforcer xdp|nftables|none]
#include <dirent.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "lab/agent_process.h"
#include "lab/lab.h"
#include "lab/subprocess.h"

namespace {

using namespace std::chrono_literals;

struct Reading {
  uint64_t on_cpu_ns = 0;  // schedstat, summed over threads
  uint64_t ticks = 0;      // utime + stime
  uint64_t switches = 0;   // voluntary + involuntary, summed over threads
};

Reading read(pid_t pid) {
  Reading r;
  const std::string base = "/proc/" + std::to_string(pid);
  if (DIR* d = opendir((base + "/task").c_str())) {
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] == '.') continue;
      const std::string task = base + "/task/" + e->d_name;
      std::ifstream ss(task + "/schedstat");
      uint64_t ns = 0;
      if (ss >> ns) r.on_cpu_ns += ns;
      std::ifstream st(task + "/status");
      std::string line;
      while (std::getline(st, line)) {
        if (line.find("ctxt_switches:") != std::string::npos) {
          r.switches += std::stoull(line.substr(line.find(':') + 1));
        }
      }
    }
    closedir(d);
  }
  std::ifstream f(base + "/stat");
  std::string stat((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  // Fields after the ")" that ends the command name: utime is the 12th, stime the 13th.
  std::istringstream in(stat.substr(stat.rfind(')') + 2));
  std::string field;
  for (int i = 1; i <= 13 && in >> field; i++) {
    if (i >= 12) r.ticks += std::stoull(field);
  }
  return r;
}

void report(const char* what, const Reading& a, const Reading& b, int seconds) {
  const double cpu_ms = static_cast<double>(b.on_cpu_ns - a.on_cpu_ns) / 1e6;
  std::printf("%-22s %10.3f %12.1f %8llu %10.2f\n", what, cpu_ms, cpu_ms * 1000 / seconds,
              static_cast<unsigned long long>(b.ticks - a.ticks),
              static_cast<double>(b.switches - a.switches) / seconds);
}

// VmRSS split as the kernel accounts it: RssAnon is the agent's own heap and
// stacks; RssFile its binary and libraries; RssShmem the shared mappings,
// here the BPF maps the agent reads through mmap (the destination table),
// which are kernel memory the map holds whether or not the agent maps it.
void printRssParts(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  std::string parts;
  while (std::getline(f, line)) {
    for (const char* key : {"RssAnon:", "RssFile:", "RssShmem:"}) {
      if (line.rfind(key, 0) != 0) continue;
      std::istringstream in(line.substr(std::strlen(key)));
      unsigned long long kib = 0;
      in >> kib;
      parts += std::string(parts.empty() ? "" : ", ") + std::string(key, std::strlen(key) - 1) +
               " " + std::to_string(kib) + " KiB";
    }
  }
  if (!parts.empty()) std::printf("agent %s\n", parts.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  int seconds = 30;
  std::string enforcer = "xdp";
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--seconds") == 0) seconds = std::atoi(argv[i + 1]);
    if (std::strcmp(argv[i], "--enforcer") == 0) enforcer = argv[i + 1];
  }
  if (seconds < 1 || seconds > 600) {
    std::fprintf(stderr, "idle_bench: --seconds 1..600\n");
    return 2;
  }
  if (geteuid() != 0) {
    std::fprintf(stderr, "idle_bench: needs root (network namespaces, XDP)\n");
    return 1;
  }
  auto lab = sg::lab::Lab::create();
  if (!lab.ok()) {
    std::fprintf(stderr, "idle_bench: lab: %s\n", lab.error().message().c_str());
    return 1;
  }
  sg::lab::AgentOptions o;
  o.netns = (*lab)->victim().name();
  o.interfaces = {sg::lab::kVictim.dev};
  o.enforcer = enforcer;
  auto agent = sg::lab::AgentProcess::start(o);
  if (!agent.ok()) {
    std::fprintf(stderr, "idle_bench: agent: %s\n", agent.error().message().c_str());
    return 1;
  }
  auto sleeper = sg::lab::Process::spawn({"sleep", std::to_string(seconds + 10)});
  if (!sleeper.ok()) {
    std::fprintf(stderr, "idle_bench: sleep: %s\n", sleeper.error().message().c_str());
    return 1;
  }
  std::this_thread::sleep_for(2s);  // start-up done, first reconcile tick past
  const pid_t pid = (*agent)->pid();
  const Reading a0 = read(pid), s0 = read((*sleeper)->pid());
  std::this_thread::sleep_for(std::chrono::seconds(seconds));
  const Reading a1 = read(pid), s1 = read((*sleeper)->pid());
  auto rss = (*agent)->rssKib();

  std::printf("idle_bench: %d s idle, enforcer %s, clock tick %ld Hz\n", seconds, enforcer.c_str(),
              sysconf(_SC_CLK_TCK));
  std::printf("%-22s %10s %12s %8s %10s\n", "process", "cpu ms", "cpu us/s", "ticks", "wakeups/s");
  report("syn-guard agent", a0, a1, seconds);
  report("sleep (baseline)", s0, s1, seconds);
  if (rss.ok()) std::printf("agent VmRSS %llu KiB\n", static_cast<unsigned long long>(*rss));
  printRssParts(pid);
  (*agent)->stop();
  return 0;
}
