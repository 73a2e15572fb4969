// The Windows agent's memory at idle and under a replayed flood: the agent's
// parts as syn-guard.exe builds them (TcpipDecoder, AttemptPipeline with the
// default configuration, the WFP enforcer, the console link's state machine),
// with WFP behind FakeWfpApi (its filters are kept in this process, where the
// real engine keeps them in the kernel) and the flood as recorded ETW accept
// payloads through the real decoder. Windows only (src/win/CMakeLists.txt);
// run under Wine by scripts/build-windows.sh's build:
//   scripts/wine-run.sh build-windows/bin/win_memory_bench.exe [sources]
// Figures are the process's working set (GetProcessMemoryInfo) and its
// committed private memory (VirtualQuery) at three points, each as the agent's marginal cost
// over the baseline measured first in the same run (the runtime before any
// agent part: under Wine that includes Wine's own DLLs, so the baseline is
// Wine's, not Windows').
#include <windows.h>
// (after windows.h)
#include <psapi.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <vector>

#include "agent/console_link_core.h"
#include "win/attempt_pipeline.h"
#include "win/etw_decode.h"
#include "win/etw_template.h"
#include "win/etw_test_payloads.h"
#include "win/fake_wfp_api.h"
#include "win/wfp_enforcer.h"

namespace {

struct Mem {
  double working_mb = 0;
  double private_mb = 0;
};

// Committed private memory, summed over the address space with VirtualQuery
// (Wine reports PROCESS_MEMORY_COUNTERS_EX::PrivateUsage as 0).
double committedPrivateMb() {
  uint64_t total = 0;
  MEMORY_BASIC_INFORMATION m{};
  for (char* p = nullptr; VirtualQuery(p, &m, sizeof m) == sizeof m;
       p = static_cast<char*>(m.BaseAddress) + m.RegionSize) {
    if (m.State == MEM_COMMIT && m.Type == MEM_PRIVATE) total += m.RegionSize;
    if (m.RegionSize == 0) break;
  }
  return static_cast<double>(total) / (1 << 20);
}

Mem now() {
  PROCESS_MEMORY_COUNTERS c{};
  c.cb = sizeof c;
  GetProcessMemoryInfo(GetCurrentProcess(), &c, c.cb);
  return {static_cast<double>(c.WorkingSetSize) / (1 << 20), committedPrivateMb()};
}

void print(const char* what, const Mem& m, const Mem& base) {
  std::printf(
      "%-34s working set %7.1f MB (agent +%6.2f MB, x%.2f)  private %7.1f MB (agent +%6.2f MB)\n",
      what, m.working_mb, m.working_mb - base.working_mb, m.working_mb / base.working_mb,
      m.private_mb, m.private_mb - base.private_mb);
}

// A 1017 accept from 10.a.b.c (n picks the address), port and Tcb from seq.
std::vector<uint8_t> accept(uint32_t n, uint32_t seq) {
  std::vector<uint8_t> p = sg::win::test::kAcceptV4;
  p[28] = 10;
  p[29] = static_cast<uint8_t>(n >> 16);
  p[30] = static_cast<uint8_t>(n >> 8);
  p[31] = static_cast<uint8_t>(n);
  p[26] = static_cast<uint8_t>(seq >> 8);
  p[27] = static_cast<uint8_t>(seq);
  p[48] = static_cast<uint8_t>(seq);
  p[49] = static_cast<uint8_t>(seq >> 8);
  p[50] = static_cast<uint8_t>(seq >> 16);
  return p;
}

}  // namespace

int main(int argc, char** argv) {
  const uint32_t sources = argc > 1 ? static_cast<uint32_t>(std::atoi(argv[1])) : 50'000;
  const Mem base = now();
  print("baseline (runtime, no agent part)", base, base);

  sg::FakeClock clock;
  sg::win::test::FakeWfpApi wfp;
  auto engine = sg::win::WfpEngine::open(&wfp);
  if (!engine.ok()) return 1;
  sg::win::WfpEnforcer enforcer(std::move(engine).value(), &clock);
  sg::AgentConfig config;  // the seed's: 200 attempts in 5 s, blocks of 60 s
  (void)enforcer.setAllowlist(sg::win::effectiveAllowlist(config));
  auto pipeline = std::make_unique<sg::win::AttemptPipeline>(config, &enforcer);
  const sg::win::TcpipDecoder decoder(sg::win::builtinTcpipTemplates());
  sg::agent::LinkCoreOptions co;
  co.name = "bench";
  co.platform = "windows";
  auto core = sg::agent::ConsoleLinkCore::open(co, clock);
  if (!core.ok()) return 1;
  const Mem idle = now();
  print("idle (agent parts built)", idle, base);

  // 5 s of flood: 20 sources at 1,000 accepts/s each (each crosses the
  // threshold and is blocked) and `sources` others at one accept each (the
  // per-source state a wide flood fills).
  std::vector<sg_event> events;
  uint32_t seq = 0;
  uint64_t blocks = 0;
  for (uint64_t ms = 0; ms < 5000; ms++) {
    clock.set(1'000'000'000 + ms * 1'000'000);
    for (uint32_t f = 0; f < 20; f++) {
      auto ev = decoder.decode({1017, 0, true, accept(f, ++seq)});
      events.clear();
      pipeline->onAttempt(ev->attempt, clock.nowNs(), &events);
      blocks += events.size();
    }
    for (uint32_t s = 0; s < sources / 5000 + 1; s++) {
      const uint32_t n = 1000 + static_cast<uint32_t>(ms) * (sources / 5000 + 1) + s;
      auto ev = decoder.decode({1017, 0, true, accept(n, ++seq)});
      events.clear();
      pipeline->onAttempt(ev->attempt, clock.nowNs(), &events);
    }
    if (ms % 50 == 0) (void)enforcer.sweepExpired();
  }
  const Mem flood = now();
  print("after the flood", flood, base);
  std::printf(
      "replayed %u accepts, %llu blocks (%zu WFP filters in the fake engine), "
      "%u wide-flood sources\n",
      seq, static_cast<unsigned long long>(blocks), wfp.filters.size(), sources);
  std::printf(
      "under Wine these are Wine's figures (its DLLs are in the baseline): "
      "a real Windows host is still to measure\n");
  return 0;
}
