// SignatureLearner: which harvests' fingerprints are the port's normal and
// which its flood's.
#include "core/signature_learner.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>

#include "../../tests/bpf/sig_frames.h"

namespace sg {
namespace {

constexpr uint64_t kMs = 1'000'000;

sg_addr target() {
  sg_addr a{};
  a.b[10] = a.b[11] = 0xff;
  a.b[12] = a.b[13] = a.b[14] = a.b[15] = 10;
  return a;
}

sg_sig_fp fpOf(const test::SynShape& s) {
  const test::Frame f = test::shapedSyn(s, "192.0.2.1", "10.10.10.10", 25565);
  sg_sig_fp fp;
  sg_sig_fp_frame(f.bytes.data(), f.bytes.data() + f.bytes.size(), &fp);
  return fp;
}

// One harvest: `attempts` at the port, the bank's sample all of `shape`.
std::vector<DstSample> harvest(const test::SynShape& shape, uint32_t attempts) {
  DstSample s;
  s.addr = target();
  s.port = 25565;
  s.bank_attempts = attempts;
  s.sig_count = std::min<uint32_t>(attempts, SG_SIG_SAMPLES);
  for (uint32_t i = 0; i < s.sig_count; i++) s.sig[i] = fpOf(shape);
  return {s};
}

double weightOf(const std::vector<WeightedFp>& v, const sg_sig_fp& fp) {
  double w = 0;
  for (const WeightedFp& f : v) {
    if (std::memcmp(&f.fp, &fp, sizeof fp) == 0) w += f.weight;
  }
  return w;
}

TEST(SignatureLearner, TheFloodsFirstHarvestsBeforeItsDetectionAreNeverNormal) {
  SignatureLearner l;
  uint64_t t = 0;
  for (int i = 0; i < 50; i++) l.onSamples(t += 100 * kMs, harvest(test::linuxSyn(), 4));
  // The flood begins after the harvest at t; detected three harvests later.
  const uint64_t first = t;
  for (int i = 0; i < 3; i++) l.onSamples(t += 100 * kMs, harvest(test::spoofedFloodSyn(), 2000));
  l.startFlood(target(), 25565, first);
  const auto base = l.baseline(target(), 25565);
  EXPECT_EQ(weightOf(base, fpOf(test::spoofedFloodSyn())), 0);
  EXPECT_EQ(weightOf(base, fpOf(test::linuxSyn())), 200) << "every normal harvest, held or not";
  const auto flood = l.flood(target(), 25565);
  EXPECT_EQ(flood.size(), 3u * SG_SIG_SAMPLES);
  EXPECT_EQ(weightOf(flood, fpOf(test::spoofedFloodSyn())), 6000) << "weighted by attempts";
}

TEST(SignatureLearner, WhileFloodedNothingIsLearnedAndTheEndForgetsTheFlood) {
  SignatureLearner l;
  uint64_t t = 0;
  l.startFlood(target(), 25565, 0);
  for (int i = 0; i < 40; i++) l.onSamples(t += 100 * kMs, harvest(test::dominateSyn(), 500));
  EXPECT_EQ(l.flood(target(), 25565).size(), 40u * SG_SIG_SAMPLES);
  l.endFlood(target(), 25565);
  EXPECT_TRUE(l.flood(target(), 25565).empty());
  for (int i = 0; i < 40; i++) l.onSamples(t += 100 * kMs, harvest(test::windowsSyn(), 2));
  const auto base = l.baseline(target(), 25565);
  EXPECT_EQ(weightOf(base, fpOf(test::dominateSyn())), 0);
  EXPECT_GT(weightOf(base, fpOf(test::windowsSyn())), 0);
}

TEST(SignatureLearner, MemoryIsBounded) {
  SignatureLearnerOptions o;
  o.max_baseline = 8;
  o.max_flood = 64;
  o.max_targets = 2;
  SignatureLearner l(o);
  uint64_t t = 0;
  for (int i = 0; i < 100; i++) {
    test::SynShape s = test::spoofedFloodSyn();
    s.window = static_cast<uint16_t>(i);  // a new fingerprint each harvest
    l.onSamples(t += 100 * kMs, harvest(s, 1));
  }
  EXPECT_LE(l.baseline(target(), 25565).size(), 8u);
  l.startFlood(target(), 25565, t);
  for (int i = 0; i < 20; i++) l.onSamples(t += 100 * kMs, harvest(test::dominateSyn(), 100));
  EXPECT_EQ(l.flood(target(), 25565).size(), 64u);
  sg_addr other = target();
  for (uint8_t i = 1; i < 5; i++) {
    other.b[15] = i;
    l.startFlood(other, 1, t);
  }
  EXPECT_EQ(l.targets(), 2u);
}

}  // namespace
}  // namespace sg
