// (c): a spoofed random-source flood (200k SYNs from 10.200.0.0/16) that the
// agent must survive: still running, RSS growth bounded, per-source state
// within --max-sources, nobody blocked wrongly, and a real single-source flood
// hidden inside it still caught.
//
// The per-source bound is read from the kernel itself: the agent's sg_slots
// map (found through the BPF map descriptors the agent process holds) is
// sized as --max-sources asked, and its filled slots, counted one by one, are
// what the agent's status and its filled-slot counter report.
#include <bpf/bpf.h>
#include <dirent.h>
#include <unistd.h>

#include <atomic>
#include <fstream>

#include "lab_fixture.h"
#include "sg_shared.h"

namespace sg::lab::test {
namespace {

constexpr uint32_t kMaxSources = 4096;
// RSS bound: per-source state lives in BPF maps (kernel memory), so the
// agent's own memory must not follow the number of sources. 32 MiB of growth
// is far above what event handling needs and far below 200k * 100 B.
constexpr uint64_t kMaxRssGrowthKib = 32 * 1024;

class SpoofTest : public LabTest {};

struct SlotCensus {
  uint32_t capacity = 0;  // the map's max_entries
  uint64_t filled = 0;    // slots holding a source (last_ns != 0)
};

// The sg_slots map of process `pid`: its BPF map descriptors (fdinfo's
// map_id), opened by id, the one named sg_slots; every slot looked up.
Result<SlotCensus> countSlots(pid_t pid) {
  const std::string fds = "/proc/" + std::to_string(pid) + "/fdinfo";
  DIR* dir = opendir(fds.c_str());
  if (dir == nullptr) return makeError(Errc::kIo, "cannot list " + fds);
  std::vector<uint32_t> ids;
  while (dirent* e = readdir(dir)) {
    std::ifstream f(fds + "/" + e->d_name);
    std::string line;
    while (std::getline(f, line)) {
      if (line.rfind("map_id:", 0) == 0) ids.push_back(std::stoul(line.substr(7)));
    }
  }
  closedir(dir);
  for (uint32_t id : ids) {
    const int fd = bpf_map_get_fd_by_id(id);
    if (fd < 0) continue;
    bpf_map_info info{};
    uint32_t len = sizeof(info);
    if (bpf_obj_get_info_by_fd(fd, &info, &len) != 0 || std::string(info.name) != "sg_slots" ||
        info.value_size != sizeof(sg_slot)) {
      close(fd);
      continue;
    }
    SlotCensus c;
    c.capacity = info.max_entries;
    for (uint32_t i = 0; i < info.max_entries; i++) {
      sg_slot slot{};
      if (bpf_map_lookup_elem(fd, &i, &slot) == 0 && slot.last_ns != 0) c.filled++;
    }
    close(fd);
    return c;
  }
  return makeError(Errc::kNotFound, "no sg_slots map among the BPF maps of pid " +
                                        std::to_string(pid) + " (" + std::to_string(ids.size()) +
                                        " maps)");
}

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
  EXPECT_GT((*status)["counters"].value("attempts_total", 0ull), 150000u) << status->dump();

  // The kernel's own per-source state: sized as asked, filled by far fewer
  // sources than the flood sent (65,536 possible, ~190,000 attempts), and
  // reported as it is.
  auto census = countSlots(a.pid());
  ASSERT_OK(census);
  const uint64_t sources = (*status)["sources"].get<uint64_t>();
  const uint64_t fills = (*status)["counters"].value("source_slots_filled_total", 0ull);
  std::printf("slots: capacity %u, filled %llu (status sources %llu, fills counted %llu)\n",
              census->capacity, static_cast<unsigned long long>(census->filled),
              static_cast<unsigned long long>(sources), static_cast<unsigned long long>(fills));
  EXPECT_EQ(census->capacity, kMaxSources) << "--max-sources did not size the slot array";
  EXPECT_EQ((*status)["source_capacity"].get<uint64_t>(), kMaxSources) << status->dump();
  EXPECT_GT(census->filled, 0u) << "no source was tracked at all";
  // Every fill is counted, once (two CPUs filling one slot at the same
  // instant could count it twice: a few at most).
  EXPECT_GE(fills, census->filled);
  EXPECT_LE(fills, census->filled + 16);
  EXPECT_EQ(sources, std::min<uint64_t>(fills, kMaxSources));

  a.poll();
  for (const auto& e : a.eventsNamed("block_added")) {
    EXPECT_EQ(e.value("src", ""), kAttacker.v4) << "wrongly blocked: " << e.dump();
  }
  EXPECT_EQ(a.stop(), 0) << a.process().stderrText();
}

}  // namespace
}  // namespace sg::lab::test
