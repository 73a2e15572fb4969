// The fixture of the challenge's test-run tables (bpf/sg_challenge.h):
// source_response = challenge, handshake-aware counting on, and the steps of
// a handshake through the challenge (a source's crossing, its arming, the SYN
// answered with a cookie SYN-ACK, the third packet and later segments).
// tests/bpf/challenge_test.cpp and challenge_conntrack_test.cpp.
#pragma once

#include <linux/bpf.h>

#include <cstring>
#include <string>
#include <vector>

#include "bpf/kernel_fixture.h"
#include "sg_challenge.h"

namespace sg::test {

inline constexpr uint16_t kPort = 8080;
inline constexpr uint32_t kIsn = 0x01020304;

class Challenge : public KernelTest {
 protected:
  static sg_config challengeConfig() {
    sg_config c = testConfig();
    c.block_scope = SG_SCOPE_ATTEMPTS;  // the default
    c.source_response = SG_RESPONSE_CHALLENGE;
    c.conn_threshold = 8;  // handshake-aware counting on: half-open crossings
    return c;
  }
  void SetUp() override {
    KernelTest::SetUp();
    if (HasFatalFailure() || IsSkipped()) return;
    if (!XdpSensor::challengeAvailable()) GTEST_SKIP() << "no conntrack kfuncs on this kernel";
    setConfig(challengeConfig());
  }

  // A SYN from `src` to the port, its own source port and sequence number.
  static PacketSpec synSpec(const std::string& src, uint16_t sport) {
    PacketSpec s = synFrom(src, kPort);
    s.family = src.find(':') != std::string::npos ? 6 : 4;
    s.dst = s.family == 6 ? "2001:db8:1::1" : "198.51.100.1";
    s.sport = sport;
    s.seq = kIsn + sport;
    return s;
  }
  Frame syn(const std::string& src, uint16_t sport = 40000) {
    return buildFrame(synSpec(src, sport));
  }
  // A segment of the flow that the SYN `spec` opens, with its third packet's
  // numbers (seq past the SYN, ack past the cookie of `synack`) plus `seq_delta`.
  static std::vector<uint8_t> segmentOf(PacketSpec spec, const TestOutput& synack, uint8_t flags,
                                        size_t payload, uint32_t seq_delta = 0) {
    const uint32_t seq = spec.seq + 1 + seq_delta;
    spec.tcp_flags = flags;
    spec.payload = payload;
    Frame f = buildFrame(spec);
    put32(f.bytes, f.l4 + 4, seq);
    put32(f.bytes, f.l4 + 8, get32(synack.frame, f.l4 + 4) + 1);
    return f.bytes;
  }
  // The client's ACK to `synack` (ack_delta past its cookie).
  static std::vector<uint8_t> ackFor(const Frame& s, const TestOutput& synack,
                                     uint32_t ack_delta = 1) {
    std::vector<uint8_t> f = s.bytes;
    f[s.l4 + 13] = kAck;
    put32(f, s.l4 + 4, get32(s.bytes, s.l4 + 4) + 1);
    put32(f, s.l4 + 8, get32(synack.frame, s.l4 + 4) + ack_delta);
    return f;
  }
  // Takes `src` over the threshold (threshold + 1 SYNs); returns the drops.
  int cross(const std::string& src) {
    return synBurst(src, static_cast<int>(cfg_.threshold) + 1, kPort);
  }
  const sg_block* findBlock(const std::string& key) {
    auto blocks = sensor_->listBlocks();
    EXPECT_OK(blocks);
    const sg_addr k = keyOf(key);
    for (const KernelBlock& b : *blocks) {
      if (std::memcmp(b.key.b, k.b, 16) == 0) {
        last_ = b.block;
        return &last_;
      }
    }
    return nullptr;
  }
  void arm(const std::string& key) {
    const sg_block* b = findBlock(key);
    ASSERT_NE(b, nullptr) << key << " is not challenged";
    ASSERT_OK(sensor_->armChallenge(keyOf(key), b->expires_ns));
  }
  // One handshake through the challenge from `src`: SYN -> SYN-ACK, ACK.
  uint32_t handshake(const std::string& src, uint16_t sport) {
    const Frame s = syn(src, sport);
    const TestOutput synack = run(s.bytes);
    EXPECT_EQ(synack.verdict, static_cast<uint32_t>(XDP_TX)) << src << ":" << sport;
    return run(ackFor(s, synack)).verdict;
  }

  sg_block last_{};
};

}  // namespace sg::test
