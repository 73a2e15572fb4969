// The one packet parser (bpf/sg_parse.h) as user space compiles it, and the
// Tracker's verdict on what it parsed: the shapes of tests/bpf/evasion_cases.cpp
// (tiny and overlapping fragments, long IPv6 header chains) give the same
// kinds and verdicts here as through the kernel program (tests/bpf/).
#include <gtest/gtest.h>

#include "bpf/evasion_cases.h"
#include "bpf/packet_builder.h"
#include "core/tracker.h"
#include "core/tracker_test_util.h"
#include "sg_parse.h"

namespace sg {
namespace {

using test::Expect;

sg_pkt parse(const std::vector<uint8_t>& frame) {
  sg_pkt p;
  const int kind = sg_parse_eth(frame.data(), frame.data() + frame.size(), &p);
  EXPECT_EQ(kind, p.kind);
  return p;
}

TEST(Parse, TcpFieldsInHostOrder) {
  for (const std::string src : {"192.0.2.1", "2001:db8::1"}) {
    test::PacketSpec s = test::synFrom(src, 443);
    s.sport = 51234;
    s.seq = 0xdeadbeef;
    s.tcp_options = 20;
    const sg_pkt p = parse(test::buildPacket(s));
    EXPECT_EQ(p.kind, SG_PKT_TCP) << src;
    EXPECT_EQ(p.src_port, 51234) << src;
    EXPECT_EQ(p.dst_port, 443) << src;
    EXPECT_EQ(p.tcp_seq, 0xdeadbeefu) << src;
    EXPECT_EQ(p.tcp_flags, SG_TCP_SYN) << src;
    EXPECT_TRUE(sg_pkt_is_attempt(&p));
  }
}

TEST(Parse, EvasionShapesGetTheirKind) {
  for (const test::ShapeCase& c : test::evasionCases()) {
    const sg_pkt p = parse(c.frame);
    EXPECT_EQ(p.kind, c.kind) << c.name;
    EXPECT_TRUE(p.has_src) << c.name;
    EXPECT_EQ(sg_pkt_is_attempt(&p), c.expect == Expect::kAttempt) << c.name;
    EXPECT_EQ(sg_pkt_is_evasive(&p) != 0, c.expect == Expect::kDropped) << c.name;
    if (c.kind == SG_PKT_TCP) {
      EXPECT_EQ(p.src_port, 40000) << c.name;
      EXPECT_EQ(p.dst_port, 80) << c.name;
      EXPECT_EQ(p.tcp_seq, 1u) << c.name;
    }
  }
}

// The kernel test's sequence (tests/bpf/evasion_test.cpp), through the Tracker.
TEST(Parse, TrackerAnswersTheShapesAsTheKernelDoes) {
  const uint32_t threshold = 5;
  Tracker t(test::testOptions(threshold));
  uint64_t now = test::kT0, attempts = 0, shapes = 0;
  for (const test::ShapeCase& c : test::evasionCases()) {
    const sg_pkt p = parse(c.frame);
    for (uint32_t i = 1; i <= threshold + 1; i++) {
      const bool drop =
          c.expect == Expect::kDropped || (c.expect == Expect::kAttempt && i > threshold);
      sg_pkt q = p;
      q.tcp_seq += i;  // each a new attempt, not a retransmission
      EXPECT_EQ(t.onPacket(q, now += 1000, nullptr), drop ? Verdict::kDrop : Verdict::kPass)
          << c.name << ", send " << i;
    }
    attempts += c.expect == Expect::kAttempt ? threshold + 1 : 0;
    shapes += c.expect == Expect::kDropped ? threshold + 1 : 0;
  }
  const sg_counters& n = t.counters();
  EXPECT_EQ(n.c[SG_CNT_SYN], attempts);
  EXPECT_EQ(n.c[SG_CNT_TINY_FRAGMENTS] + n.c[SG_CNT_LONG_CHAINS], shapes);
  EXPECT_EQ(n.c[SG_CNT_MALFORMED], 0u);
}

TEST(Parse, DetectOnlyTrackerPassesTheShapes) {
  TrackerOptions o = test::testOptions(5);
  o.cfg.enforce = SG_ENFORCE_NONE;
  Tracker t(o);
  for (const test::ShapeCase& c : test::evasionCases()) {
    if (c.expect != Expect::kDropped) continue;
    EXPECT_EQ(t.onPacket(parse(c.frame), test::kT0, nullptr), Verdict::kPass) << c.name;
  }
}

}  // namespace
}  // namespace sg
