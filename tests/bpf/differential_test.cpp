// Differential test: one random packet sequence (mixed IPv4/IPv6 sources,
// SYN/ACK/SYN-ACK/UDP/fragments, an allowlisted prefix) through the kernel
// program and through sg::Tracker gives the same verdict for every packet,
// the same events and the same counters. Window and block last an hour and
// the budgets are unlimited, so wall time during the test does not matter.
#include <random>

#include "bpf/kernel_fixture.h"
#include "core/tracker.h"
#include "sg_parse.h"

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
  }
  auto kc = sensor_->readCounters();
  ASSERT_OK(kc);
  for (int i = 0; i < SG_CNT__MAX; i++) {
    EXPECT_EQ(kc->c[i], tracker.counters().c[i]) << "counter " << i;
  }
  auto sources = sensor_->sourceCount();
  ASSERT_OK(sources);
  EXPECT_EQ(*sources, tracker.sourceCount());
  auto blocks = sensor_->listBlocks();
  ASSERT_OK(blocks);
  EXPECT_EQ(blocks->size(), tracker.blockCount());
}

}  // namespace
}  // namespace sg::test
