// The signature drop in replay, over synthesized captures: a port's normal
// clients (Linux, Windows, macOS) for a minute, then a spoofed flood of one
// tool's SYNs while they keep connecting.
#include <gtest/gtest.h>

#include <functional>
#include <random>

#include "../../tests/bpf/sig_frames.h"
#include "core/capture_test_util.h"
#include "core/replay.h"
#include "core/tracker_test_util.h"
#include "test_helpers.h"

namespace sg {
namespace {

using test::kSec;
using test::SynShape;

constexpr uint64_t kT0 = 1'700'000'000ull * kSec;
constexpr uint64_t kMs = 1'000'000;

std::string v4(uint32_t a) {
  return std::to_string(a >> 24) + "." + std::to_string((a >> 16) & 255) + "." +
         std::to_string((a >> 8) & 255) + "." + std::to_string(a & 255);
}

struct Scenario {
  std::vector<SynShape> clients = {test::linuxSyn(), test::windowsSyn(), test::macSyn()};
  // The flood's i-th SYN (random source).
  std::function<SynShape(std::mt19937&)> flood = [](std::mt19937&) {
    return test::spoofedFloodSyn();
  };
  uint64_t flood_start_ms = 60'000, flood_ms = 3'000;
  uint32_t flood_per_ms = 10;  // 10,000 SYNs/s
};

struct Built {
  std::vector<uint8_t> pcap;
  std::vector<sg_sig_fp> normal_during;  // the clients' SYNs while the flood lasted
};

sg_sig_fp fpOf(const test::Frame& f) {
  sg_sig_fp fp;
  sg_sig_fp_frame(f.bytes.data(), f.bytes.data() + f.bytes.size(), &fp);
  return fp;
}

// Clients: a SYN every 50 ms (20/s) from one of 500 addresses, each
// completing its handshake (its ACK follows).
Built build(const Scenario& s) {
  test::PcapWriter w(false, false, kLinkEthernet);
  Built b;
  std::mt19937 rng(11);
  const uint64_t end_ms = s.flood_start_ms + s.flood_ms + 5'000;
  uint32_t client = 0;
  for (uint64_t ms = 0; ms < end_ms; ms++) {
    const uint64_t ts = kT0 + ms * kMs;
    if (ms % 50 == 0) {
      const SynShape& shape = s.clients[client % s.clients.size()];
      const std::string src = v4(0xC0000200u + client % 500);  // 192.0.2.0/23
      const auto sport = static_cast<uint16_t>(20000 + client % 40000);
      const test::Frame syn = test::shapedSyn(shape, src, "10.10.10.10", 25565, sport);
      w.add(ts, syn.bytes);
      test::PacketSpec ack = test::ackFrom(src, 25565);
      ack.dst = "10.10.10.10";
      ack.sport = sport;
      w.add(ts + kMs / 2, test::buildPacket(ack));
      if (ms >= s.flood_start_ms && ms < s.flood_start_ms + s.flood_ms) {
        b.normal_during.push_back(fpOf(syn));
      }
      client++;
    }
    if (ms >= s.flood_start_ms && ms < s.flood_start_ms + s.flood_ms) {
      for (uint32_t i = 0; i < s.flood_per_ms; i++) {
        const uint32_t src = static_cast<uint32_t>(rng()) | 0x01000000u;
        w.add(ts + i * (kMs / s.flood_per_ms), test::shapedSyn(s.flood(rng), v4(src), "10.10.10.10",
                                                               25565, static_cast<uint16_t>(rng()))
                                                   .bytes);
      }
    }
  }
  b.pcap = std::move(w.out);
  return b;
}

ReplayPortFlood replayOne(const Built& b) {
  ReplayOptions o;
  o.cfg = test::testConfig(200);
  o.cfg.window_ns = 5 * kSec;
  auto r = replayCapture(b.pcap, o);
  EXPECT_OK(r);
  EXPECT_EQ(r->port_floods.size(), 1u);
  if (!r.ok() || r->port_floods.empty()) return {};
  return r->port_floods[0];
}

TEST(ReplaySignature, AOneToolFloodIsDroppedAndTheClientsAreNot) {
  const Built b = build(Scenario{});
  const ReplayPortFlood p = replayOne(b);
  const ReplaySignature& g = p.signature;
  ASSERT_EQ(g.signatures.size(), 1u) << g.why;
  EXPECT_EQ(describe(g.signatures[0]),
            "v4 opts=- mss=- ws=- win=0 ttl<=255 flags=S len=40 quirks=-");
  ASSERT_TRUE(g.chosen_ns.has_value());
  EXPECT_LE(*g.chosen_ns - p.first_packet_ns, 500 * kMs) << "chosen within half a second";
  // Every flood SYN after the choice, none of the 60 clients' SYNs meanwhile.
  EXPECT_GE(g.dropShare(), 0.99);
  EXPECT_GE(g.floodShare(), 0.80);
  for (const sg_sig_fp& fp : b.normal_during) EXPECT_FALSE(matchesAny(fp, g.signatures));
  EXPECT_GE(g.normal_attempts, 1150u) << "the minute before: 20 SYNs a second";
  EXPECT_EQ(g.normal_matched, 0u);
}

TEST(ReplaySignature, AToolThatRandomisesWindowAndTtlIsStillSeparated) {
  Scenario s;
  s.flood = [](std::mt19937& rng) {
    SynShape x = test::dominateSyn();
    x.window = static_cast<uint16_t>(rng());
    x.ttl = static_cast<uint8_t>(rng());
    return x;
  };
  const Built b = build(s);
  const ReplaySignature g = replayOne(b).signature;
  ASSERT_FALSE(g.signatures.empty()) << g.why;
  EXPECT_GE(g.dropShare(), 0.95);
  for (const sg_sig_fp& fp : b.normal_during) EXPECT_FALSE(matchesAny(fp, g.signatures));
  EXPECT_EQ(g.normal_matched, 0u);
}

TEST(ReplaySignature, AFloodForgingTheClientsOwnSynsGetsNoSignature) {
  // The port's clients are an embedded stack without options; the attacker
  // sends exactly their SYN so that a signature would cut them off.
  SynShape device = test::spoofedFloodSyn();
  device.window = 1024;
  device.ttl = 64;
  Scenario s;
  s.clients = {device};
  s.flood = [device](std::mt19937&) { return device; };
  const ReplaySignature g = replayOne(build(s)).signature;
  EXPECT_TRUE(g.signatures.empty());
  EXPECT_NE(g.why.find("too many normal SYNs"), std::string::npos) << g.why;
  EXPECT_EQ(g.dropped, 0u);
}

TEST(ReplaySignature, AFloodOfRealStackShapedSynsGetsNoSignature) {
  Scenario s;
  s.flood = [](std::mt19937& rng) {
    SynShape x = test::linuxSyn();
    x.window = static_cast<uint16_t>(rng());
    return x;
  };
  const ReplaySignature g = replayOne(build(s)).signature;
  EXPECT_TRUE(g.signatures.empty());
  EXPECT_NE(g.why.find("common client stacks"), std::string::npos) << g.why;
}

TEST(ReplaySignature, SwitchedOffItIsNotChosen) {
  ReplayOptions o;
  o.cfg = test::testConfig(200);
  o.port_flood.signature_drop = false;
  auto r = replayCapture(build(Scenario{}).pcap, o);
  ASSERT_OK(r);
  ASSERT_EQ(r->port_floods.size(), 1u);
  EXPECT_TRUE(r->port_floods[0].signature.signatures.empty());
  EXPECT_EQ(r->port_floods[0].signature.flood_attempts, 0u);
}

}  // namespace
}  // namespace sg
