// Differential test: one random packet sequence (mixed IPv4/IPv6 sources,
// SYN/ACK/SYN-ACK/UDP/fragments, an allowlisted prefix) through the kernel
// program and through sg::Tracker gives the same verdict for every packet,
// the same events and the same counters. Window and block last an hour and
// the budgets are unlimited, so wall time during the test does not matter.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <random>

#include "bpf/kernel_fixture.h"
#include "core/tracker.h"
#include "sg_parse.h"
#include "sg_track.h"
// clang-format off
#include "syn_guard_testclock.skel.h"
// clang-format on
#include "sg_track.h"

namespace sg::test {
namespace {

using DifferentialTest = KernelTest;

std::vector<std::string> sourcePool() {
  std::vector<std::string> pool;
  for (int i = 1; i <= 30; i++) pool.push_back("10.9.0." + std::to_string(i));
  for (int i = 1; i <= 4; i++) pool.push_back("192.0.2." + std::to_string(i));  // allowlisted
  for (int net = 1; net <= 6; net++) {
    for (int host = 1; host <= 3; host++) {  // 3 hosts per /64: aggregated
      pool.push_back("2001:db8:" + std::to_string(net) + "::" + std::to_string(host));
    }
  }
  return pool;
}

PacketSpec randomPacket(std::mt19937& rng, const std::vector<std::string>& pool) {
  // Skewed choice: a few sources send most packets, so some cross.
  std::uniform_int_distribution<size_t> any(0, pool.size() - 1);
  const size_t idx = rng() % 4 == 0 ? any(rng) : any(rng) % 8;
  PacketSpec s = synFrom(pool[idx], static_cast<uint16_t>(rng() % 3 == 0 ? 443 : 80));
  switch (rng() % 10) {
    case 0:
      s.tcp_flags = kAck;
      break;
    case 1:
      s.tcp_flags = kSyn | kAck;
      break;
    case 2:
      s.proto = kProtoUdp;
      break;
    case 3:
      if (s.family == 4) s.frag_offset = 5;
      break;
    default:
      break;  // SYN
  }
  if (rng() % 7 == 0) s.vlan_tpids = {0x8100};
  return s;
}

TEST_F(DifferentialTest, KernelAndTrackerGiveTheSameVerdicts) {
  sg_config c = cfg_;
  c.window_ns = 3600'000'000'000ull;
  c.block_ns = 3600'000'000'000ull;
  c.threshold = 12;
  c.events_per_sec = 1u << 30;
  c.admit_per_sec = 1u << 30;
  setConfig(c);
  // The twin models the per-source path; the SYN-ACK lookup is kernel-only
  // (reflect_test.cpp) and would count the sequence's SYN-ACKs.
  sensor_->setReflection(false, false);
  auto allow = parsePrefix("192.0.2.0/30");
  ASSERT_OK(allow);
  ASSERT_OK(sensor_->setAllowlist({*allow}));

  TrackerOptions topt;
  topt.cfg = c;
  topt.max_sources = sensor_->sourceCapacity();
  topt.max_blocks = sensor_->blockCapacity();
  topt.hash_key = sensor_->hashKey();
  topt.allow = {*allow};
  Tracker tracker(topt);

  std::mt19937 rng(20240611);
  const std::vector<std::string> pool = sourcePool();
  std::vector<sg_event> tracker_events;
  int drops = 0;
  for (int i = 0; i < 4000; i++) {
    const std::vector<uint8_t> frame = buildPacket(randomPacket(rng, pool));
    const uint32_t kernel = sendBytes(frame);
    sg_pkt pkt;
    sg_parse_eth(frame.data(), frame.data() + frame.size(), &pkt);
    const Verdict user = tracker.onPacket(pkt, sensor_->kernelNowNs(), &tracker_events);
    ASSERT_EQ(kernel == XDP_DROP, user == Verdict::kDrop) << "packet " << i;
    drops += kernel == XDP_DROP ? 1 : 0;
  }
  EXPECT_GT(drops, 100) << "the sequence must exercise blocks to mean anything";

  const std::vector<sg_event> kernel_events = drainEvents();
  ASSERT_EQ(kernel_events.size(), tracker_events.size());
  for (size_t i = 0; i < kernel_events.size(); i++) {
    EXPECT_EQ(kernel_events[i].type, tracker_events[i].type) << i;
    EXPECT_EQ(std::memcmp(kernel_events[i].src.b, tracker_events[i].src.b, 16), 0) << i;
    EXPECT_EQ(kernel_events[i].count, tracker_events[i].count) << i;
    EXPECT_EQ(kernel_events[i].dst_port, tracker_events[i].dst_port) << i;
    EXPECT_EQ(kernel_events[i].block_ns, tracker_events[i].block_ns) << i;
    // The count's span (the program's jiffies against kernelNowNs(): a jiffy apart at most at
    // each end).
    const auto span = [](const sg_event& e) { return static_cast<int64_t>(e.ts_ns - e.first_ns); };
    EXPECT_LE(std::llabs(span(kernel_events[i]) - span(tracker_events[i])),
              static_cast<int64_t>(2 * sensor_->nsPerJiffy()))
        << i;
  }
  auto kc = sensor_->readCounters();
  ASSERT_OK(kc);
  for (int i = 0; i < SG_CNT__MAX; i++) {
    // The handshake tracepoint's counters count real handshakes anywhere in
    // the test's namespace (other tests' loopback connections), not frames.
    if (i == SG_CNT_HANDSHAKES || i == SG_CNT_SRC_COMPLETIONS) continue;
    EXPECT_EQ(kc->c[i], tracker.counters().c[i]) << "counter " << i;
  }
  auto sources = sensor_->sourceCount();
  ASSERT_OK(sources);
  EXPECT_EQ(*sources, tracker.sourceCount());
  auto blocks = sensor_->listBlocks();
  ASSERT_OK(blocks);
  EXPECT_EQ(blocks->size(), tracker.blockCount());
}

// Where replay could differ from the kernel: a small slot array (1,024)
// with sources chosen to share sets (evictions on every turn), admission
// gated by the sketch after 40 new sources an epoch (random single-SYN
// sources), repeat offences, and both block scopes. The program is the
// syn_guard_testclock build, whose clock the test sets per packet, so the
// kernel and the Tracker see the very same times (jiffy ties included) and
// epochs turn over inside the run.
class SmallDifferentialTest : public ::testing::Test {
 protected:
  static constexpr sg_hash_key kKey{0xd1ff, 0xe4e7};
  static constexpr uint32_t kSlots = 1024;
  void SetUp() override {
    SG_REQUIRE_ROOT();
    CPU_ZERO(&saved_);
    ASSERT_EQ(sched_getaffinity(0, sizeof(saved_), &saved_), 0);
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(sched_getcpu(), &one);
    ASSERT_EQ(sched_setaffinity(0, sizeof(one), &one), 0);
    pinned_ = true;
  }
  void TearDown() override {
    if (skel_ != nullptr) syn_guard_testclock__destroy(skel_);
    if (pinned_) sched_setaffinity(0, sizeof(saved_), &saved_);
  }
  void load(const sg_config& c) {
    if (skel_ != nullptr) syn_guard_testclock__destroy(skel_);
    skel_ = syn_guard_testclock__open();
    ASSERT_NE(skel_, nullptr);
    ASSERT_EQ(bpf_map__set_max_entries(skel_->maps.sg_slots, kSlots), 0);
    ASSERT_EQ(bpf_map__set_max_entries(skel_->maps.sg_tags, kSlots / SG_SLOT_WAYS), 0);
    skel_->rodata->sg_slot_set_mask = kSlots / SG_SLOT_WAYS - 1;
    skel_->rodata->sg_hash_key.k0 = kKey.k0;
    skel_->rodata->sg_hash_key.k1 = kKey.k1;
    ASSERT_EQ(syn_guard_testclock__load(skel_), 0);
    skel_->data_reflect->sg_reflect.on = 0;  // kernel-only, as in DifferentialTest
    const uint32_t zero = 0;
    ASSERT_EQ(bpf_map_update_elem(bpf_map__fd(skel_->maps.sg_config_map), &zero, &c, BPF_ANY), 0);
  }
  sg_counters counters() {
    std::vector<sg_counters> per_cpu(static_cast<size_t>(libbpf_num_possible_cpus()));
    const uint32_t zero = 0;
    EXPECT_EQ(bpf_map_lookup_elem(bpf_map__fd(skel_->maps.sg_counters_map), &zero, per_cpu.data()),
              0);
    sg_counters sum{};
    for (const sg_counters& pc : per_cpu) {
      for (int i = 0; i < SG_CNT__MAX; i++) sum.c[i] += pc.c[i];
    }
    return sum;
  }
  size_t blockCount() {
    const int fd = bpf_map__fd(skel_->maps.sg_blocks);
    sg_addr cur{}, next{};
    const void* prev = nullptr;
    size_t n = 0;
    while (bpf_map_get_next_key(fd, prev, &next) == 0) {
      n++;
      cur = next;
      prev = &cur;
    }
    return n;
  }
  // `per_set` sources in each of `sets` slot sets.
  static std::vector<std::string> colliding(int sets, int per_set) {
    const uint32_t mask = kSlots / SG_SLOT_WAYS - 1;
    std::vector<std::string> out;
    for (int s = 0; s < sets; s++) {
      const std::string first = "10.30." + std::to_string(s) + ".1";
      const sg_addr fk = keyOf(first);
      const uint32_t want = sg_slot_first(sg_addr_hash(&fk, &kKey), mask);
      out.push_back(first);
      for (uint32_t i = 0x1F0000; static_cast<int>(out.size()) < (s + 1) * per_set && i < 0x400000;
           i++) {
        const std::string t = "10." + std::to_string(i >> 16) + "." +
                              std::to_string((i >> 8) & 255) + "." + std::to_string(i & 255);
        const sg_addr k = keyOf(t);
        if (sg_slot_first(sg_addr_hash(&k, &kKey), mask) == want) out.push_back(t);
      }
    }
    return out;
  }

  syn_guard_testclock* skel_ = nullptr;

 private:
  cpu_set_t saved_{};
  bool pinned_ = false;
};

TEST_F(SmallDifferentialTest, SketchSetCollisionsAndEvictionsGiveTheSameVerdicts) {
  std::vector<std::string> pool = colliding(2, 5);
  for (int i = 1; i <= 6; i++) pool.push_back("10.9.1." + std::to_string(i));
  for (int i = 1; i <= 3; i++) pool.push_back("2001:db8:7::" + std::to_string(i));
  for (const uint8_t scope : {uint8_t{SG_SCOPE_ATTEMPTS}, uint8_t{SG_SCOPE_ALL}}) {
    sg_config c = toKernelConfig(AgentConfig{});
    c.window_ns = 2'000'000'000ull;
    c.block_ns = 500'000'000ull;
    c.repeat_memory_ns = 3600'000'000'000ull;
    c.threshold = 6;
    c.events_per_sec = 1u << 30;
    c.admit_per_sec = 40;
    c.admit_min = 2;
    c.block_scope = scope;
    load(c);
    TrackerOptions topt;
    topt.cfg = c;
    topt.max_sources = kSlots;
    topt.max_blocks = static_cast<uint32_t>(bpf_map__max_entries(skel_->maps.sg_blocks));
    topt.hash_key = kKey;
    Tracker tracker(topt);
    XdpProgram prog(bpf_program__fd(skel_->progs.syn_guard_xdp));

    std::mt19937 rng(1234 + scope);
    // From an epoch start, 0..2 ms between packets in whole jiffies of 4 ms
    // or less (ties included): ~8 s, several epochs, windows and blocks.
    uint64_t now = uint64_t{100} << SG_EPOCH_SHIFT;
    int drops = 0;
    for (int i = 0; i < 8000; i++) {
      now += (rng() % 3) * 1'000'000ull;
      PacketSpec s;
      if (rng() % 2 == 0) {  // a random single-SYN source
        s = synFrom("10." + std::to_string(128 + rng() % 128) + "." + std::to_string(rng() % 256) +
                    "." + std::to_string(rng() % 256));
      } else {
        s = randomPacket(rng, pool);
      }
      const std::vector<uint8_t> frame = buildPacket(s);
      skel_->bss->sg_test_now_ns = now;
      const uint32_t kernel = prog.verdict(frame);
      sg_pkt pkt;
      sg_parse_eth(frame.data(), frame.data() + frame.size(), &pkt);
      const Verdict user = tracker.onPacket(pkt, now, nullptr);
      ASSERT_EQ(kernel == XDP_DROP, user == Verdict::kDrop)
          << "scope " << int(scope) << ", packet " << i << " from " << s.src;
      drops += kernel == XDP_DROP ? 1 : 0;
    }
    const sg_counters kc = counters();
    for (int i = 0; i < SG_CNT__MAX; i++) {
      EXPECT_EQ(kc.c[i], tracker.counters().c[i]) << "scope " << int(scope) << " counter " << i;
    }
    EXPECT_EQ(blockCount(), tracker.blockCount());
    // The run exercised what it is for.
    EXPECT_GT(kc.c[SG_CNT_SKETCH_GATED], 1000u);
    EXPECT_GT(kc.c[SG_CNT_SOURCES_NEW], kc.c[SG_CNT_SLOTS_FILLED] + 100) << "evictions";
    EXPECT_GT(kc.c[SG_CNT_BLOCKS_ADDED], 10u);
    EXPECT_GT(drops, 50);
  }
}

}  // namespace
}  // namespace sg::test
