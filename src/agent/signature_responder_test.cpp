// SignatureResponder beside a PortFloodWatch over FakeSensor: a port's
// normal clients, then a flood of one tool's SYNs: its signature is
// installed while the flood lasts and removed after it; a flood that a
// signature cannot separate gets none; switched off, nothing is chosen.
#include "agent/signature_responder.h"

#include <gtest/gtest.h>

#include <random>

#include "../../tests/bpf/sig_frames.h"
#include "agent/block_book_fixture.h"
#include "agent/port_flood_watch.h"
#include "core/tracker.h"

namespace sg::agent {
namespace {

constexpr uint64_t kTick = 100'000'000;

struct SigFixture : Fixture {
  PortFloodOptions options;
  SignatureResponder sig{sensor, log, options};
  PortFloodWatch watch{options, /*handshakes_visible=*/false, log, &sig};
  DstTable table{64, kDefaultHashKey, 64};
  std::mt19937 rng{5};

  void send(const test::SynShape& shape, uint32_t n) {
    for (uint32_t i = 0; i < n; i++) {
      const uint32_t src = static_cast<uint32_t>(rng()) | 0x01000000u;
      const std::string s = std::to_string(src >> 24) + "." + std::to_string((src >> 16) & 255) +
                            "." + std::to_string((src >> 8) & 255) + "." +
                            std::to_string(src & 255);
      const test::Frame f = test::shapedSyn(shape, s, "192.0.2.1", 8080);
      sg_pkt p{};
      sg_parse_eth(f.bytes.data(), f.bytes.data() + f.bytes.size(), &p);
      sg_sig_fp fp;
      sg_sig_fp_frame(f.bytes.data(), f.bytes.data() + f.bytes.size(), &fp);
      table.onAttempt(p, &fp);
    }
  }
  // `ticks` harvests, `per_tick` SYNs of `shape` each, plus 2 normal ones.
  void run(int ticks, const test::SynShape& shape, uint32_t per_tick) {
    const test::SynShape normal[] = {test::linuxSyn(), test::windowsSyn(), test::macSyn()};
    for (int t = 0; t < ticks; t++) {
      send(normal[t % 3], 2);
      send(shape, per_tick);
      clock.advance(kTick);
      const auto samples = table.harvest();
      sig.onSamples(clock.nowNs(), samples);
      watch.onSamples(clock.nowNs(), samples);
    }
  }
  size_t installed() const { return sensor.signatures.size(); }
};

TEST(SignatureResponder, TheFloodsSignatureIsOnWhileItLasts) {
  SigFixture f;
  f.run(400, test::linuxSyn(), 0);  // 40 s of normal clients only
  EXPECT_EQ(f.installed(), 0u);
  f.run(20, test::spoofedFloodSyn(), 500);  // 5,000 SYNs/s for 2 s
  ASSERT_EQ(f.installed(), 1u);
  const std::vector<sg_sig>& sigs = f.sensor.signatures.begin()->second;
  ASSERT_EQ(sigs.size(), 1u);
  EXPECT_EQ(describe(sigs[0]), "v4 opts=- mss=- ws=- win=0 ttl<=255 flags=S len=40 quirks=-");
  const std::string log = f.logText();
  EXPECT_NE(log.find("\"port_flood_signature\""), std::string::npos) << log;
  EXPECT_NE(log.find("\"installed\""), std::string::npos);
  EXPECT_NE(log.find("signature"), std::string::npos);
  EXPECT_EQ(f.sig.statusJson().size(), 1u);
  f.run(60, test::linuxSyn(), 0);  // the flood is over
  EXPECT_EQ(f.installed(), 0u);
  EXPECT_TRUE(f.sig.statusJson().empty());
}

TEST(SignatureResponder, AFloodShapedLikeAClientStackGetsNoneAndTheRefusalIsLogged) {
  SigFixture f;
  f.run(400, test::linuxSyn(), 0);
  test::SynShape mimic = test::windowsSyn();
  mimic.window = 512;
  f.run(30, mimic, 500);
  EXPECT_EQ(f.installed(), 0u);
  const std::string log = f.logText();
  EXPECT_NE(log.find("\"refused\""), std::string::npos) << log;
  EXPECT_NE(log.find("common client stacks"), std::string::npos);
}

TEST(SignatureResponder, SwitchedOffNothingIsChosen) {
  SigFixture f;
  f.options.signature_drop = false;
  f.sig.setOptions(f.options);
  f.run(400, test::linuxSyn(), 0);
  f.run(20, test::spoofedFloodSyn(), 500);
  EXPECT_EQ(f.installed(), 0u);
  EXPECT_EQ(f.logText().find("port_flood_signature"), std::string::npos);
}

TEST(SignatureResponder, AnInstallErrorIsLoggedAndTheFloodStaysArmed) {
  SigFixture f;
  f.sensor.fail_signatures = true;
  f.run(400, test::linuxSyn(), 0);
  f.run(10, test::spoofedFloodSyn(), 500);
  EXPECT_EQ(f.installed(), 0u);
  EXPECT_NE(f.logText().find("sg_sig_sets full"), std::string::npos);
  f.sensor.fail_signatures = false;
  f.run(12, test::spoofedFloodSyn(), 500);  // the next choice, a second later
  EXPECT_EQ(f.installed(), 1u);
}

}  // namespace
}  // namespace sg::agent
