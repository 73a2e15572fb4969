// syncookie_bench: receiver CPU per spoofed SYN, in one run, with a real
// random-source SYN flood from the lab's attacker namespace at the victim's
// listener (10.200.1.1:8080), under four set-ups of the victim:
//   drop      the XDP program drops the flood (a prefix block): the harness
//             (veth, bridge, sender) plus an XDP drop, the floor of the
//             marginal figures
//   reflect   an XDP program sends every SYN straight back (bpf/bench/
//             reflect.bpf.c): what a bare XDP_TX costs here, without any
//             cookie, checksum or per-source work (over veth it is large: the
//             peer turns each XDP_TX frame into an skb for its bridge)
//   kernel    the kernel's own SYN-cookie path (tcp_syncookies=2: every SYN
//             answered with a cookie by the TCP stack)
//   xdp       XDP SYN cookies (bpf/sg_syncookie.h) + the kernel's SYNPROXY
//   nftables  the kernel's SYNPROXY alone (nftables `synproxy`)
// Figure: softirq CPU over all CPUs (/proc/stat) per SYN sent, and the same
// minus the drop floor (the set-up's own cost, its SYN-ACK's delivery
// included); the others as ratios to kernel on that marginal cost (aim for
// xdp: <= 0.3x). The spoofed sources (10.200.128.0/17) are
// routed back through the attacker, so every set-up really transmits its
// SYN-ACKs (which the attacker's XDP drops on arrival). Needs root. Usage: syncookie_bench
// [--seconds 3] [--count N]
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/config.h"
#include "core/kernel_config.h"
#include "lab/client.h"
#include "lab/flood.h"
#include "lab/lab.h"
#include "linux/syncookie_response.h"
#include "linux/xdp_sensor.h"
#include "reflect_bench.skel.h"

namespace {

using namespace std::chrono_literals;
using sg::lab::kAttacker;
using sg::lab::kVictim;

constexpr const char* kSpoofed = "10.200.128.0/17";

struct Row {
  std::string mode;
  uint64_t sent = 0;
  double pps = 0;
  double ns_per_syn = 0;
  std::string note;
};

// Sum of the softirq column over all CPUs, in nanoseconds.
uint64_t softirqNs() {
  std::ifstream f("/proc/stat");
  std::string line;
  std::getline(f, line);  // "cpu  user nice system idle iowait irq softirq ..."
  std::istringstream in(line);
  std::string cpu;
  uint64_t v[7] = {};
  in >> cpu;
  for (auto& x : v) in >> x;
  return v[6] * (1'000'000'000ull / static_cast<uint64_t>(sysconf(_SC_CLK_TCK)));
}

// Runs fn on a thread inside the namespace; its result.
sg::Result<void> inNetns(const std::string& ns, const std::function<sg::Result<void>()>& fn) {
  sg::Result<void> r = sg::makeError(sg::Errc::kIo, "not run");
  auto t = sg::lab::startThreadIn(ns, [&] { r = fn(); });
  if (!t.ok()) return t.error();
  t->join();
  return r;
}

// A two-instruction XDP program returning `verdict`, attached to `dev` in
// `ns`. On the hub's end of the victim's veth an XDP_PASS: veth delivers an
// XDP_TX frame only to a peer whose NAPI runs, i.e. that has an XDP program.
// On the attacker's own end an XDP_DROP: the SYN-ACKs every set-up sends
// (to addresses the attacker does not have) cost it as little as possible.
// Both in every set-up alike.
sg::Result<int> bareXdp(const sg::lab::Netns& ns, const char* dev, int verdict) {
  const bpf_insn insns[] = {
      {BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, verdict},
      {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
  };
  const int fd = bpf_prog_load(BPF_PROG_TYPE_XDP, "sg_bench_bare", "GPL", insns, 2, nullptr);
  if (fd < 0) return sg::makeError(sg::Errc::kIo, "loading a bare XDP program");
  auto ok = inNetns(ns.name(), [&]() -> sg::Result<void> {
    if (bpf_xdp_attach(static_cast<int>(if_nametoindex(dev)), fd, XDP_FLAGS_DRV_MODE, nullptr)) {
      return sg::makeError(sg::Errc::kIo, std::string("attaching a bare XDP program to ") + dev);
    }
    return sg::Ok{};
  });
  if (!ok) {
    close(fd);
    return ok.error();
  }
  return fd;
}

sg::Result<Row> runMode(const std::string& mode, std::chrono::seconds secs, uint64_t count) {
  Row row;
  row.mode = mode;
  auto lab = sg::lab::Lab::create();
  if (!lab.ok()) return lab.error();
  const auto& victim = (*lab)->victim();
  SG_TRY(victim.ip({"route", "add", kSpoofed, "via", kAttacker.v4}));
  SG_TRY(victim.setSysctl("net.ipv4.tcp_syncookies", mode == "kernel" ? "2" : "1"));
  auto pass_fd = bareXdp((*lab)->hub(), "hv", XDP_PASS);
  if (!pass_fd.ok()) return pass_fd.error();
  // The drop takes ARP replies too: the attacker learns the victim's MAC here.
  auto link = victim.ip({"-br", "link", "show", kVictim.dev});
  if (!link.ok()) return link.error();
  std::istringstream fields(*link);
  std::string name, state, mac;
  fields >> name >> state >> mac;
  SG_TRY((*lab)->attacker().ip(
      {"neigh", "replace", kVictim.v4, "lladdr", mac, "dev", kAttacker.dev, "nud", "permanent"}));
  auto drop_fd = bareXdp((*lab)->attacker(), kAttacker.dev, XDP_DROP);
  if (!drop_fd.ok()) return drop_fd.error();
  auto server = sg::lab::TcpServer::start(victim.name(), kVictim.v4, sg::lab::kServerPort);
  if (!server.ok()) return server.error();

  std::unique_ptr<sg::XdpSensor> sensor;
  reflect_bench* reflect = nullptr;
  int reflect_link = -1;
  std::unique_ptr<sg::CookieResponse> response;
  SG_TRY(inNetns(victim.name(), [&]() -> sg::Result<void> {
    if (mode == "drop" || mode == "xdp") {
      auto s = sg::XdpSensor::load(sg::SensorOptions{});
      if (!s) return s.error();
      sensor = std::move(*s);
      SG_TRY(sensor->setConfig(sg::toKernelConfig(sg::AgentConfig{})));
      SG_TRY(sensor->attach(kVictim.dev, sg::XdpMode::kNative));
    }
    if (mode == "drop") {
      sg_prefix_block b{};
      b.expires_ns = ~0ull;
      b.flags = SG_BLK_XDP_DROP;
      auto p = sg::parsePrefix(kSpoofed);
      if (!p) return p.error();
      SG_TRY(sensor->addPrefixBlock(*p, b));
    }
    if (mode == "reflect") {
      reflect = reflect_bench__open_and_load();
      if (reflect == nullptr) return sg::makeError(sg::Errc::kIo, "loading reflect.bpf.c");
      reflect_link = bpf_program__fd(reflect->progs.reflect);
      if (bpf_xdp_attach(static_cast<int>(if_nametoindex(kVictim.dev)), reflect_link,
                         XDP_FLAGS_DRV_MODE, nullptr)) {
        return sg::makeError(sg::Errc::kIo, "attaching reflect.bpf.c");
      }
    }
    if (mode == "xdp" || mode == "nftables") {
      sg::SynCookieConfig c;
      c.mode = mode == "xdp" ? sg::SynCookieMode::kXdp : sg::SynCookieMode::kNftables;
      auto r = sg::CookieResponse::create(c, sensor.get());
      if (!r) return r.error();
      response = std::move(*r);
      SG_TRY(response->engage(sg::lab::kServerPort));
    }
    return sg::Ok{};
  }));

  sg::lab::FloodOptions f;
  f.spoof_cidr = kSpoofed;
  f.dst = kVictim.v4;
  f.dst_port = sg::lab::kServerPort;
  f.count = count;
  f.duration = secs;
  const uint64_t si0 = softirqNs();
  auto stats = sg::lab::runFloodIn((*lab)->attacker().name(), f);
  std::this_thread::sleep_for(200ms);  // let the receive path drain
  const uint64_t si1 = softirqNs();
  if (!stats.ok()) return stats.error();
  row.sent = stats->sent;
  row.pps = stats->pps;
  row.ns_per_syn = row.sent ? static_cast<double>(si1 - si0) / static_cast<double>(row.sent) : 0;
  if (sensor) {
    auto c = sensor->readCounters();
    if (c.ok()) {
      row.note = mode == "drop" ? "xdp dropped " + std::to_string(c->c[SG_CNT_PREFIX_DROPPED])
                                : "xdp syn-acks " + std::to_string(c->c[SG_CNT_COOKIE_SYNACKS]);
    }
  }
  auto netstat = victim.run({"nstat", "-az", "TcpExtSyncookiesSent"});
  if (netstat.ok() && mode == "kernel") {
    std::istringstream in(*netstat);
    std::string line, name;
    uint64_t v = 0;
    while (std::getline(in, line)) {
      std::istringstream l(line);
      if (l >> name >> v && name == "TcpExtSyncookiesSent")
        row.note = "kernel cookies " + std::to_string(v);
    }
  }
  (void)inNetns(victim.name(), [&]() -> sg::Result<void> {
    response.reset();
    sensor.reset();
    return sg::Ok{};
  });
  if (reflect != nullptr) reflect_bench__destroy(reflect);  // the namespace goes with the lab
  close(*pass_fd);
  close(*drop_fd);
  return row;
}

}  // namespace

int main(int argc, char** argv) {
  int seconds = 3;
  uint64_t count = 2'000'000;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--seconds") == 0) seconds = std::atoi(argv[i + 1]);
    if (std::strcmp(argv[i], "--count") == 0) count = std::strtoull(argv[i + 1], nullptr, 10);
  }
  if (seconds < 1 || seconds > 30 || count < 1000) {
    std::fprintf(stderr, "syncookie_bench: --seconds 1..30, --count >= 1000\n");
    return 2;
  }
  if (geteuid() != 0) {
    std::fprintf(stderr, "syncookie_bench: needs root (network namespaces, XDP, nftables)\n");
    return 1;
  }
  std::vector<Row> rows;
  for (const char* mode : {"drop", "reflect", "kernel", "xdp", "nftables"}) {
    std::fprintf(stderr, "syncookie_bench: %s...\n", mode);
    auto r = runMode(mode, std::chrono::seconds(seconds), count);
    if (!r.ok()) {
      std::fprintf(stderr, "syncookie_bench: %s: %s\n", mode, r.error().message().c_str());
      return 1;
    }
    rows.push_back(*r);
  }
  const double floor = rows[0].ns_per_syn;
  const double kernel = rows[2].ns_per_syn - floor;
  std::printf("Receiver softirq CPU per spoofed SYN (all CPUs, /proc/stat), %d s floods\n",
              seconds);
  std::printf("%-9s %10s %10s %12s %14s %10s  %s\n", "mode", "sent", "pps", "ns/SYN", "ns/SYN-drop",
              "vs kernel", "note");
  for (const Row& r : rows) {
    const double own = r.ns_per_syn - floor;
    char ratio[32] = "-";
    const bool marginal = r.mode != "drop";
    if (marginal && r.mode != "kernel" && kernel > 0)
      std::snprintf(ratio, sizeof ratio, "%.2fx", own / kernel);
    std::printf("%-9s %10llu %10.0f %12.0f %14.0f %10s  %s\n", r.mode.c_str(),
                static_cast<unsigned long long>(r.sent), r.pps, r.ns_per_syn, marginal ? own : 0.0,
                ratio, r.note.c_str());
  }
  return 0;
}
