// SYN fingerprints (bpf/sg_sig.h, the code the XDP program runs) and the
// signature chooser (core/signature.h).
#include "core/signature.h"

#include <gtest/gtest.h>

#include <map>
#include <random>

#include "../../tests/bpf/sig_frames.h"

namespace sg {
namespace {

using test::SynShape;

sg_sig_fp fpOf(const SynShape& s, const std::string& src = "192.0.2.1") {
  const test::Frame f = test::shapedSyn(s, src, "10.10.10.10", 25565);
  sg_sig_fp fp;
  sg_sig_fp_frame(f.bytes.data(), f.bytes.data() + f.bytes.size(), &fp);
  return fp;
}

std::vector<WeightedFp> many(const SynShape& s, int n) {
  return std::vector<WeightedFp>(static_cast<size_t>(n), WeightedFp{fpOf(s), 1});
}

void append(std::vector<WeightedFp>& to, const std::vector<WeightedFp>& from) {
  to.insert(to.end(), from.begin(), from.end());
}

// The normal clients of a port: Linux, Windows and macOS SYNs.
std::vector<WeightedFp> normalMix(int each) {
  std::vector<WeightedFp> n;
  append(n, many(test::linuxSyn(), each));
  append(n, many(test::windowsSyn(), each));
  append(n, many(test::macSyn(), each));
  return n;
}

TEST(SynFingerprint, ALinuxSynShowsItsOptionsLayoutAndValues) {
  const sg_sig_fp fp = fpOf(test::linuxSyn());
  EXPECT_EQ(fp.olayout, layoutOf({SG_SIG_OPT_MSS, SG_SIG_OPT_SACKOK, SG_SIG_OPT_TS, SG_SIG_OPT_NOP,
                                  SG_SIG_OPT_WS}));
  EXPECT_EQ(fp.mss, 1460);
  EXPECT_EQ(fp.wscale, 7);
  EXPECT_EQ(fp.win, 64240);
  EXPECT_EQ(fp.ttl, 64);
  EXPECT_EQ(fp.quirks, SG_SIG_Q_DF);
  EXPECT_EQ(fp.ip_len, 60);
  EXPECT_EQ(fp.flags, SG_TCP_SYN);
  EXPECT_EQ(fp.family, 4);
  EXPECT_EQ(describe(fp),
            "v4 opts=mss,sok,ts,nop,ws mss=1460 ws=7 win=64240 ttl<=64 flags=S len=60 quirks=df");
}

TEST(SynFingerprint, TheRealFloodsShapesAreWhatTheyLookLike) {
  const sg_sig_fp spoofed = fpOf(test::spoofedFloodSyn());
  EXPECT_EQ(describe(spoofed), "v4 opts=- mss=- ws=- win=0 ttl<=255 flags=S len=40 quirks=-");
  const sg_sig_fp dominate = fpOf(test::dominateSyn());
  EXPECT_EQ(describe(dominate),
            "v4 opts=- mss=- ws=- win=65535 ttl<=255 flags=S,ECE,CWR len=40 quirks=uptr");
}

TEST(SynFingerprint, TtlBandsAreTheLikelyInitialTtl) {
  EXPECT_EQ(sg_sig_ttl_band(1), 32);
  EXPECT_EQ(sg_sig_ttl_band(32), 32);
  EXPECT_EQ(sg_sig_ttl_band(33), 64);
  EXPECT_EQ(sg_sig_ttl_band(64), 64);
  EXPECT_EQ(sg_sig_ttl_band(100), 128);
  EXPECT_EQ(sg_sig_ttl_band(129), 255);
  EXPECT_EQ(sg_sig_ttl_band(255), 255);
}

TEST(SynFingerprint, BrokenOptionsAndPayloadAreQuirks) {
  SynShape bad = test::linuxSyn();
  bad.options = {2, 4, 5, 180, 8, 40};  // a timestamp option longer than the header
  EXPECT_TRUE(fpOf(bad).quirks & SG_SIG_Q_OPTS);
  SynShape zero = test::linuxSyn();
  zero.options = {2, 0, 0, 0};  // length 0
  EXPECT_TRUE(fpOf(zero).quirks & SG_SIG_Q_OPTS);
  SynShape nops = test::linuxSyn();
  nops.options.assign(40, 1);  // 40 NOPs: more than the layout holds
  EXPECT_TRUE(fpOf(nops).quirks & SG_SIG_Q_OPTS);

  test::PacketSpec spec = test::synFrom("192.0.2.1", 80);
  spec.payload = 10;
  const test::Frame f = test::buildFrame(spec);
  sg_sig_fp fp;
  sg_sig_fp_frame(f.bytes.data(), f.bytes.data() + f.bytes.size(), &fp);
  EXPECT_TRUE(fp.quirks & SG_SIG_Q_DATA);
}

TEST(SynFingerprint, Ipv6AndExtensionHeaders) {
  const sg_sig_fp v6 = fpOf(test::linuxSyn(), "2001:db8::7");
  EXPECT_EQ(v6.family, 6);
  EXPECT_EQ(v6.ip_len, 80);
  EXPECT_EQ(v6.mss, 1460);
  test::PacketSpec spec = test::synFrom("2001:db8::7", 80);
  spec.v6_ext = {test::kExtDstOpts};
  const test::Frame f = test::buildFrame(spec);
  sg_sig_fp fp;
  sg_sig_fp_frame(f.bytes.data(), f.bytes.data() + f.bytes.size(), &fp);
  EXPECT_EQ(fp.quirks, SG_SIG_Q_IPOPT);
  EXPECT_EQ(fp.olayout, 0u);
}

TEST(SynFingerprint, TheReservoirKeepsEveryAttemptOfABankEquallyLikely) {
  // 64 attempts a bank, 20,000 banks: how often each position is kept.
  std::mt19937 rng(7);
  std::vector<int> kept(64, 0);
  for (int bank = 0; bank < 20000; bank++) {
    std::vector<int> slots(SG_SIG_SAMPLES, -1);
    for (uint32_t n = 1; n <= 64; n++) {
      const int s = sg_sig_slot(n, static_cast<uint32_t>(rng()));
      if (s >= 0) slots[static_cast<size_t>(s)] = static_cast<int>(n - 1);
    }
    for (int p : slots) kept[static_cast<size_t>(p)]++;
  }
  // Expected 20000 * 16 / 64 = 5000 each: first and last alike.
  for (int k : kept) EXPECT_NEAR(k, 5000, 400);
  EXPECT_EQ(sg_sig_slot(0, 0), -1);
  EXPECT_EQ(sg_sig_slot(3, 0xffffffff), 2);
}

TEST(SignatureChooser, TheSpoofedFloodGetsItsExactShapeNoNormalClientMatches) {
  const auto normal = normalMix(200);
  const auto flood = many(test::spoofedFloodSyn(), 160);
  const SignatureChoice c = chooseSignatures(flood, normal, {});
  ASSERT_TRUE(c.ok()) << c.why;
  ASSERT_EQ(c.signatures.size(), 1u);
  EXPECT_EQ(c.coverage, 1.0);
  EXPECT_EQ(c.normal_share, 0.0);
  EXPECT_EQ(describe(c.signatures[0]),
            "v4 opts=- mss=- ws=- win=0 ttl<=255 flags=S len=40 quirks=-");
  for (const WeightedFp& n : normal) EXPECT_FALSE(matchesAny(n.fp, c.signatures));
}

TEST(SignatureChooser, RandomisedWindowAndTtlLeaveThoseFieldsOut) {
  std::mt19937 rng(1);
  std::vector<WeightedFp> flood;
  for (int i = 0; i < 400; i++) {
    SynShape s = test::spoofedFloodSyn();
    s.window = static_cast<uint16_t>(rng());
    s.ttl = static_cast<uint8_t>(rng());
    flood.push_back({fpOf(s), 1});
  }
  const SignatureChoice c = chooseSignatures(flood, normalMix(100), {});
  ASSERT_TRUE(c.ok()) << c.why;
  EXPECT_GE(c.coverage, 0.99);
  for (const sg_sig& s : c.signatures) {
    EXPECT_EQ(s.mask.win, 0) << describe(s);
    EXPECT_EQ(s.mask.ttl, 0) << describe(s);
  }
}

TEST(SignatureChooser, AFloodMimickingACommonStackGetsNoSignatureEvenWithoutABaseline) {
  const SignatureChoice c = chooseSignatures(many(test::linuxSyn(), 200), {}, {});
  EXPECT_FALSE(c.ok());
  EXPECT_NE(c.why.find("common client stacks"), std::string::npos) << c.why;
  // Not even one that adds the flood's fixed window or TTL: a Linux client
  // could send those.
  SynShape odd = test::windowsSyn();
  odd.window = 1;
  EXPECT_FALSE(chooseSignatures(many(odd, 200), {}, {}).ok());
}

TEST(SignatureChooser, AFloodThatSharesTheNormalClientsShapeIsRefused) {
  // This port's clients are an embedded stack without options; the attacker
  // forges exactly their SYNs, to get them dropped.
  SynShape device = test::spoofedFloodSyn();
  device.window = 1024;
  device.ttl = 64;
  const SignatureChoice c = chooseSignatures(many(device, 200), many(device, 500), {});
  EXPECT_FALSE(c.ok());
  EXPECT_NE(c.why.find("too many normal SYNs"), std::string::npos) << c.why;
}

TEST(SignatureChooser, RandomisedFieldsCannotWidenTheSignatureOntoNormalClients) {
  // Normal: the same embedded stack (no options, TTL band 64, window 1024).
  // Flood: no options, random window, TTL band 255. Leaving the window out
  // alone would match the normal clients: the TTL band must stay in.
  SynShape device = test::spoofedFloodSyn();
  device.window = 1024;
  device.ttl = 60;
  std::mt19937 rng(3);
  std::vector<WeightedFp> flood;
  for (int i = 0; i < 300; i++) {
    SynShape s = test::spoofedFloodSyn();
    s.window = static_cast<uint16_t>(rng());
    flood.push_back({fpOf(s), 1});
  }
  const auto normal = many(device, 1000);
  const SignatureChoice c = chooseSignatures(flood, normal, {});
  ASSERT_TRUE(c.ok()) << c.why;
  EXPECT_GE(c.coverage, 0.99);
  for (const WeightedFp& n : normal) EXPECT_FALSE(matchesAny(n.fp, c.signatures));
  for (const sg_sig& s : c.signatures) EXPECT_NE(s.mask.ttl, 0) << describe(s);
}

TEST(SignatureChooser, TwoToolsAtOnceAreBothCovered) {
  // Without options both: one signature may cover the two (the fields they
  // share), as long as no client matches it.
  std::vector<WeightedFp> flood = many(test::spoofedFloodSyn(), 100);
  append(flood, many(test::dominateSyn(), 60));
  const auto normal = normalMix(50);
  const SignatureChoice c = chooseSignatures(flood, normal, {});
  ASSERT_TRUE(c.ok()) << c.why;
  EXPECT_EQ(c.coverage, 1.0);
  for (const WeightedFp& n : normal) EXPECT_FALSE(matchesAny(n.fp, c.signatures));
  // With different options layouts no one signature can: two.
  SynShape ts_only = test::spoofedFloodSyn();
  ts_only.options = {8, 10, 0, 0, 0, 1, 0, 0, 0, 0};
  std::vector<WeightedFp> two = many(test::spoofedFloodSyn(), 100);
  append(two, many(ts_only, 60));
  const SignatureChoice c2 = chooseSignatures(two, normal, {});
  ASSERT_TRUE(c2.ok()) << c2.why;
  EXPECT_EQ(c2.signatures.size(), 2u);
  EXPECT_EQ(c2.coverage, 1.0);
}

TEST(SignatureChooser, WeightsAreAttemptsNotSamples) {
  // 16 samples of a bank of 16,000 attempts outweigh 100 of a quiet one.
  std::vector<WeightedFp> flood = many(test::dominateSyn(), 100);
  for (WeightedFp& f : flood) f.weight = 1;
  std::vector<WeightedFp> heavy = many(test::linuxSyn(), 16);
  for (WeightedFp& f : heavy) f.weight = 1000;
  append(flood, heavy);
  const SignatureChoice c = chooseSignatures(flood, {}, {});
  EXPECT_FALSE(c.ok()) << "the Linux-shaped part is 99% of the attempts";
  EXPECT_LT(c.coverage, 0.01);
}

TEST(SignatureChooser, AMostlyMimickingFloodIsRefusedAndFewSamplesWait) {
  std::vector<WeightedFp> flood = many(test::linuxSyn(), 140);
  append(flood, many(test::spoofedFloodSyn(), 60));
  const SignatureChoice c = chooseSignatures(flood, {}, {});
  EXPECT_FALSE(c.ok());
  EXPECT_NEAR(c.coverage, 0.3, 1e-9);
  SignatureOptions lenient;
  lenient.min_coverage = 0.25;
  EXPECT_TRUE(chooseSignatures(flood, {}, lenient).ok());
  const SignatureChoice wait = chooseSignatures(many(test::spoofedFloodSyn(), 10), {}, {});
  EXPECT_FALSE(wait.ok());
  EXPECT_NE(wait.why.find("waiting for samples"), std::string::npos);
}

TEST(SignatureChooser, TheNormalBudgetIsForAllSignaturesTogether) {
  // Two flood shapes, each also 0.07% of the normal: one fits the 0.1%
  // budget, both do not.
  std::vector<WeightedFp> flood = many(test::spoofedFloodSyn(), 100);
  append(flood, many(test::dominateSyn(), 100));
  std::vector<WeightedFp> normal = normalMix(3333);  // ~10,000
  append(normal, many(test::spoofedFloodSyn(), 7));
  append(normal, many(test::dominateSyn(), 7));
  const SignatureChoice c = chooseSignatures(flood, normal, {});
  ASSERT_TRUE(c.ok()) << c.why;
  EXPECT_EQ(c.signatures.size(), 1u);
  EXPECT_LE(c.normal_share, 0.001);
  EXPECT_NEAR(c.coverage, 0.5, 1e-9);
}

TEST(SignatureMatch, OverlapIsAgreementOnTheSharedFields) {
  const sg_sig a = exactSignature(fpOf(test::spoofedFloodSyn()));
  sg_sig b{};
  b.mask.win = 0xffff;
  b.value.win = 0;
  EXPECT_TRUE(overlaps(a, b));
  b.value.win = 5;
  EXPECT_FALSE(overlaps(a, b));
  EXPECT_TRUE(matchesAny(fpOf(test::spoofedFloodSyn()), {a}));
  EXPECT_FALSE(matchesAny(fpOf(test::dominateSyn()), {a}));
}

}  // namespace
}  // namespace sg
