// Reproduce (root; ~2.5 min idle for every row; --only loads just the objects its rows run):
//   cmake -S . -B build-kernel -DSYNGUARD_BENCH=ON &&
//   cmake --build build-kernel -j2 --target xdp_cost_bench &&
//   sudo build-kernel/bin/xdp_cost_bench [--repeat 2000000] [--rounds 7] [--only SUBSTRING|=NAME]
//
// Per-packet cost of the XDP program through BPF_PROG_TEST_RUN (the kernel
// runs one frame `repeat` times and reports the mean), as ns/packet, as the
// marginal ns above a bare XDP_PASS program measured right next to it in the
// same round, and as the ratio of the two. Every row has that same baseline
// (the spoofed row too: its source rewrite is priced in a [part] row of its
// own). Cases and baselines are interleaved, the whole set repeated --rounds
// times, and the median of each column reported. The process is pinned to one
// CPU. The test-run harness costs ~20 ns per run, in the case and in the
// baseline alike: it pulls every ratio toward 1x, which is why the marginal
// ns is printed beside it.
//
//
// The rows, and what each runs against: bench/xdp_cost_rows.cpp.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "bpf/xdp_program.h"
#include "xdp_cost_objects.h"
#include "xdp_cost_rows.h"
// clang-format off
#include "xdp_pass.skel.h"
// clang-format on

namespace {

using sg::bench::die;
using sg::bench::Frame;
using sg::bench::Row;

struct Case {
  std::string name;
  int prog;
  std::vector<uint8_t> frame;
  int base_prog;
  std::vector<uint8_t> base_frame;
  double aim;  // 0: no aim
  std::vector<double> ns, base_ns, extra_ns, ratio;
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

double runNs(int prog, const std::vector<uint8_t>& frame, uint32_t repeat) {
  auto r = sg::test::XdpProgram(prog).run(frame, repeat);
  if (!r.ok()) die(r.error().message());
  return r->duration_ns;
}

}  // namespace

int main(int argc, char** argv) {
  uint32_t repeat = 2'000'000;
  int rounds = 7;
  std::string only;  // --only SUBSTRING: just the rows whose name contains it (=NAME: is it)
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--only") == 0) only = argv[i + 1];
    if (std::strcmp(argv[i], "--repeat") == 0)
      repeat = static_cast<uint32_t>(std::atoi(argv[i + 1]));
    if (std::strcmp(argv[i], "--rounds") == 0) rounds = std::atoi(argv[i + 1]);
  }
  if (geteuid() != 0) die("needs root (BPF_PROG_TEST_RUN)");
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(sched_getcpu(), &one);
  sched_setaffinity(0, sizeof(one), &one);
  libbpf_set_print(nullptr);

  xdp_pass* bare = xdp_pass__open_and_load();
  if (bare == nullptr) die("load xdp_pass (root needed)");
  const int pass = bpf_program__fd(bare->progs.xdp_pass);

  sg::bench::CostRows table;  // the objects load when a kept row needs them
  std::vector<Row> rows = table.rows();
  if (!only.empty()) {
    const bool exact = only[0] == '=';
    std::erase_if(rows, [&](const Row& r) {
      return exact ? r.name != only.substr(1) : r.name.find(only) == std::string::npos;
    });
    if (rows.empty()) die("no row's name contains \"" + only + "\"");
  }
  std::vector<Case> cases;
  for (const Row& r : rows) {
    Frame f = r.frame();
    const int base = r.base_prog ? r.base_prog() : pass;
    cases.push_back({r.name, r.prog(), f, base, f, r.aim, {}, {}, {}, {}});
  }
  // Warm up: tracked sources get their state, caches fill.
  for (Case& c : cases) runNs(c.prog, c.frame, 10000);
  for (int r = 0; r < rounds; r++) {
    for (Case& c : cases) {
      const double base1 = runNs(c.base_prog, c.base_frame, repeat);
      const double ns = runNs(c.prog, c.frame, repeat);
      const double base2 = runNs(c.base_prog, c.base_frame, repeat);
      const double base = (base1 + base2) / 2;
      c.ns.push_back(ns);
      c.base_ns.push_back(base);
      c.extra_ns.push_back(ns - base);
      c.ratio.push_back(ns / base);
    }
  }

  std::printf(
      "xdp_cost_bench: repeat %u, %d rounds, median; kernel test-run mean ns/packet;\n"
      "base: bare XDP_PASS in the same round; +ns: above it\n",
      repeat, rounds);
  table.printSetting();
  std::printf("%-42s %8s %8s %7s %7s %6s\n", "case", "ns/pkt", "base ns", "+ns", "ratio", "aim");
  for (const Case& c : cases) {
    const double ratio = median(c.ratio);
    std::string aim = "-";
    if (c.aim > 0) aim = (ratio <= c.aim ? "<=" : "> ") + std::to_string(c.aim).substr(0, 3) + "x";
    std::printf("%-42s %8.1f %8.1f %7.1f %6.2fx %6s\n", c.name.c_str(), median(c.ns),
                median(c.base_ns), median(c.extra_ns), ratio, aim.c_str());
  }
  xdp_pass__destroy(bare);
  return 0;
}
