// (c): a spoofed random-source flood (200k SYNs from 10.200.0.0/16) that the
// agent must survive: still running, RSS growth bounded, per-source state
// within --max-sources, nobody blocked wrongly, and a real single-source flood
// hidden inside it still caught.
#include <atomic>

#include "lab_fixture.h"

namespace sg::lab::test {
namespace {

constexpr uint32_t kMaxSources = 4096;
// RSS bound: per-source state lives in BPF maps (kernel memory), so the
// agent's own memory must not follow the number of sources. 32 MiB of growth
// is far above what event handling needs and far below 200k * 100 B.
constexpr uint64_t kMaxRssGrowthKib = 32 * 1024;

class SpoofTest : public LabTest {};

TEST_F(SpoofTest, SurvivesRandomSourceFloodAndStillCatchesRealAttacker) {
  auto opts = agentOptions("xdp", 200, "10s");
  opts.extra = {"--max-sources", std::to_string(kMaxSources)};
  auto agent = AgentProcess::start(opts);
  ASSERT_OK(agent);
  AgentProcess& a = **agent;
  std::this_thread::sleep_for(300ms);
  auto rss_before = a.rssKib();
  ASSERT_OK(rss_before);

  FloodOptions spoof;
  spoof.spoof_cidr = "10.200.0.0/16";
  spoof.dst = kVictim.v4;
  spoof.dst_port = kServerPort;
  spoof.count = 200000;
  spoof.duration = 20s;
  Result<FloodStats> spoof_stats = makeError(Errc::kIo, "not run");
  std::thread spoofer([&] { spoof_stats = runFloodIn(lab_->attacker().name(), spoof); });
  // The real attacker starts once the spoofed flood is under way.
  std::this_thread::sleep_for(200ms);
  auto real =
      runFloodIn(lab_->attacker().name(), singleSource(kAttacker.v4, kVictim.v4, 2000, 2000));
  spoofer.join();
  ASSERT_OK(spoof_stats);
  ASSERT_OK(real);
  EXPECT_GE(spoof_stats->sent, 150000u) << spoof_stats->json();
  std::printf("spoofed: %s real: %s\n", spoof_stats->json().c_str(), real->json().c_str());

  auto caught = a.waitFor("block_added", 3s, srcIs(kAttacker.v4));
  EXPECT_TRUE(caught.has_value()) << "the real attacker inside the spoofed flood was not blocked";
  EXPECT_TRUE(a.process().running()) << a.process().stderrText();

  auto rss_after = a.rssKib();
  ASSERT_OK(rss_after);
  std::printf("agent VmRSS before %llu KiB, after %llu KiB\n",
              static_cast<unsigned long long>(*rss_before),
              static_cast<unsigned long long>(*rss_after));
  EXPECT_LE(*rss_after, *rss_before + kMaxRssGrowthKib);

  auto status = a.status();
  ASSERT_OK(status);
  ASSERT_TRUE(status->contains("sources")) << status->dump();
  EXPECT_LE((*status)["sources"].get<uint64_t>(), kMaxSources) << status->dump();
  EXPECT_GT((*status)["counters"].value("attempts_total", 0ull), 150000u) << status->dump();

  a.poll();
  for (const auto& e : a.eventsNamed("block_added")) {
    EXPECT_EQ(e.value("src", ""), kAttacker.v4) << "wrongly blocked: " << e.dump();
  }
  EXPECT_EQ(a.stop(), 0) << a.process().stderrText();
}

}  // namespace
}  // namespace sg::lab::test
