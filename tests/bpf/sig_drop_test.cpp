// The signature drop through the loaded program (bpf/sg_sig.h,
// sg_sig_bpf.h): a SYN matching a target's active signature is dropped
// (counted, passed in detect-only mode), a normal client's SYN to the same
// target passes, as does the flood's shape at another target; removing the
// signatures lifts the drop and closes the gate. The kernel's fingerprints
// equal user space's for the same frames (the chooser reasons on what the
// kernel matches), and the banks' reservoir samples the whole bank, not its
// first attempts.
#include <cstring>

#include "bpf/kernel_fixture.h"
#include "bpf/sig_frames.h"
#include "core/signature.h"

namespace sg::test {
namespace {

constexpr const char* kDst = "198.51.100.1";

sg_sig_fp fpOf(const Frame& f) {
  sg_sig_fp fp;
  sg_sig_fp_frame(f.bytes.data(), f.bytes.data() + f.bytes.size(), &fp);
  return fp;
}

const DstSample* findDst(const std::vector<DstSample>& s, const std::string& dst, uint16_t port) {
  const sg_addr k = keyOf(dst);
  for (const DstSample& d : s) {
    if (d.port == port && std::memcmp(d.addr.b, k.b, 16) == 0) return &d;
  }
  return nullptr;
}

class SigDropTest : public KernelTest {
 protected:
  // A new source (and sequence number) per SYN: never a retransmission,
  // never over the per-source threshold.
  uint32_t sendShape(const SynShape& s, const std::string& dst = kDst, uint16_t port = 25565) {
    const uint32_t n = next_src_++;
    const std::string src =
        "203.0." + std::to_string((n >> 8) & 255) + "." + std::to_string(n & 255);
    Frame f = shapedSyn(s, src, dst, port, static_cast<uint16_t>(1024 + n));
    f.bytes[f.l4 + 7] = static_cast<uint8_t>(n);  // sequence number
    return sendBytes(f.bytes);
  }
  uint32_t next_src_ = 1;
};

TEST_F(SigDropTest, ASynMatchingTheFloodsSignatureIsDroppedANormalOnePasses) {
  const sg_sig sig = exactSignature(fpOf(shapedSyn(spoofedFloodSyn(), "192.0.2.1", kDst, 25565)));
  ASSERT_OK(sensor_->setSignatures(keyOf(kDst), 25565, {sig}));
  EXPECT_EQ(sensor_->signatureTargets(), 1u);

  EXPECT_EQ(sendShape(spoofedFloodSyn()), XDP_DROP);
  SynShape other_ttl = spoofedFloodSyn();
  other_ttl.ttl = 242;  // the same TTL band
  EXPECT_EQ(sendShape(other_ttl), XDP_DROP);
  for (const SynShape& s : {linuxSyn(), windowsSyn(), macSyn(), dominateSyn()}) {
    EXPECT_EQ(sendShape(s), XDP_PASS) << s.name;
  }
  // The same shape at another port or address: not flooded there.
  EXPECT_EQ(sendShape(spoofedFloodSyn(), kDst, 25566), XDP_PASS);
  EXPECT_EQ(sendShape(spoofedFloodSyn(), "198.51.100.2", 25565), XDP_PASS);
  // Not attempts: an ACK of that shape passes.
  PacketSpec ack = ackFrom("203.0.113.9", 25565);
  ack.dst = kDst;
  EXPECT_EQ(send(ack), XDP_PASS);

  EXPECT_EQ(counter(SG_CNT_SIG_MATCHED), 2u);
  EXPECT_EQ(counter(SG_CNT_DROPPED), 2u);
  auto matched = sensor_->signatureMatches(keyOf(kDst), 25565);
  ASSERT_OK(matched);
  ASSERT_EQ(matched->size(), 1u);
  EXPECT_EQ((*matched)[0], 2u);

  ASSERT_OK(sensor_->setSignatures(keyOf(kDst), 25565, {}));
  EXPECT_EQ(sensor_->signatureTargets(), 0u);
  EXPECT_EQ(sendShape(spoofedFloodSyn()), XDP_PASS);
}

TEST_F(SigDropTest, SeveralSignaturesAndMaskedFields) {
  // DOMINATE's shape without its window (a tool that randomises it), and
  // the spoofed flood's exact shape, at one target.
  sg_sig dominate = exactSignature(fpOf(shapedSyn(dominateSyn(), "192.0.2.1", kDst, 25565)));
  dominate.mask.win = 0;
  dominate.value.win = 0;
  const sg_sig spoofed =
      exactSignature(fpOf(shapedSyn(spoofedFloodSyn(), "192.0.2.1", kDst, 25565)));
  ASSERT_OK(sensor_->setSignatures(keyOf(kDst), 25565, {dominate, spoofed}));
  SynShape d = dominateSyn();
  for (uint16_t w : {0, 1, 512, 65535}) {
    d.window = w;
    EXPECT_EQ(sendShape(d), XDP_DROP) << w;
  }
  EXPECT_EQ(sendShape(spoofedFloodSyn()), XDP_DROP);
  SynShape no_urg = dominateSyn();
  no_urg.urg = 0;  // another quirk set: not this signature
  EXPECT_EQ(sendShape(no_urg), XDP_PASS);
  EXPECT_EQ(sendShape(macSyn()), XDP_PASS) << "macOS sends ECE+CWR too, with options";
  EXPECT_ERROR(sensor_->setSignatures(keyOf(kDst), 25565, std::vector<sg_sig>(SG_SIG_MAX + 1)),
               Errc::kInvalidArgument);
}

TEST_F(SigDropTest, DetectOnlyCountsAndPasses) {
  sg_config c = testConfig();
  c.enforce = SG_ENFORCE_NONE;
  setConfig(c);
  const sg_sig sig = exactSignature(fpOf(shapedSyn(spoofedFloodSyn(), "192.0.2.1", kDst, 25565)));
  ASSERT_OK(sensor_->setSignatures(keyOf(kDst), 25565, {sig}));
  EXPECT_EQ(sendShape(spoofedFloodSyn()), XDP_PASS);
  EXPECT_EQ(counter(SG_CNT_SIG_MATCHED), 1u);
  EXPECT_EQ(counter(SG_CNT_DROPPED), 0u);
}

TEST_F(SigDropTest, TheKernelsFingerprintsAreUserSpaces) {
  // A source per SYN: none crosses the per-source threshold.
  std::vector<std::pair<SynShape, std::string>> cases;
  int n = 1;
  for (const SynShape& s : {linuxSyn(), windowsSyn(), macSyn(), spoofedFloodSyn(), dominateSyn()}) {
    cases.push_back({s, "192.0.2." + std::to_string(n)});
    cases.push_back({s, "2001:db8::" + std::to_string(n++)});
  }
  SynShape broken = linuxSyn();
  broken.options = {2, 4, 5, 180, 8, 40, 0, 0};  // an option past the header
  cases.push_back({broken, "192.0.2.99"});
  uint16_t port = 1000;
  for (const auto& [shape, src] : cases) {
    const std::string dst = src.find(':') != std::string::npos ? "2001:db8:ffff::1" : kDst;
    const Frame f = shapedSyn(shape, src, dst, port);
    ASSERT_EQ(sendBytes(f.bytes), XDP_PASS);
    const auto s = sensor_->harvestDsts();
    const DstSample* d = findDst(s, dst, port);
    ASSERT_NE(d, nullptr) << shape.name;
    ASSERT_EQ(d->sig_count, 1u);
    const sg_sig_fp want = fpOf(f);
    EXPECT_EQ(std::memcmp(&d->sig[0], &want, sizeof want), 0)
        << shape.name << " " << src << ": kernel " << describe(d->sig[0]) << ", user "
        << describe(want);
    port++;
  }
}

TEST_F(SigDropTest, TheReservoirSamplesTheWholeBank) {
  // 16 of one shape first, then 1,000 of another: a sample of the first 16
  // alone would show only the first.
  for (int i = 0; i < 16; i++) sendShape(linuxSyn());
  for (int i = 0; i < 1000; i++) sendShape(spoofedFloodSyn());
  const auto s = sensor_->harvestDsts();
  const DstSample* d = findDst(s, kDst, 25565);
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->bank_attempts, 1016u);
  ASSERT_EQ(d->sig_count, static_cast<uint32_t>(SG_SIG_SAMPLES));
  const sg_sig flood = exactSignature(fpOf(shapedSyn(spoofedFloodSyn(), "192.0.2.1", kDst, 25565)));
  int from_flood = 0;
  for (const sg_sig_fp& fp : d->sig) from_flood += sg_sig_match(&fp, &flood) ? 1 : 0;
  // Expected 16 * 1000/1016 = 15.7; fewer than 12 has probability < 1e-6.
  EXPECT_GE(from_flood, 12);
}

}  // namespace
}  // namespace sg::test
