// Destination-side counters (bpf/sg_dst.h, sg_dst_bpf.h) through the loaded
// program: attempts per local address and port, counted before any block
// drops them; the HyperLogLog registers equal the user-space twin's
// (DstTable) for the same hash key, and the estimate is within its error;
// the prefix table finds the sources' /24; the handshake tracepoint counts a
// real completed connection on loopback; a full set leaves a new
// destination untracked and counted.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmath>
#include <cstring>

#include "bpf/kernel_fixture.h"
#include "core/dst_table.h"
#include "core/tracker.h"
#include "sg_parse.h"

namespace sg::test {
namespace {

const DstSample* findDst(const std::vector<DstSample>& s, const std::string& dst, uint16_t port) {
  const sg_addr k = keyOf(dst);
  for (const DstSample& d : s) {
    if (d.port == port && std::memcmp(d.addr.b, k.b, 16) == 0) return &d;
  }
  return nullptr;
}

std::string v4(uint32_t a) {
  return std::to_string(a >> 24) + "." + std::to_string((a >> 16) & 255) + "." +
         std::to_string((a >> 8) & 255) + "." + std::to_string(a & 255);
}

using DstCountersTest = KernelTest;

TEST_F(DstCountersTest, AttemptsAreCountedPerLocalAddressAndPort) {
  for (int i = 0; i < 5; i++) send(newSyn("192.0.2.1", 80));
  for (int i = 0; i < 3; i++) send(newSyn("192.0.2.2", 443));
  PacketSpec other = newSyn("192.0.2.3", 80);
  other.dst = "198.51.100.2";
  send(other);
  send(ackFrom("192.0.2.1", 80));  // not an attempt
  send(udpFrom("192.0.2.1", 80));
  PacketSpec v6 = newSyn("2001:db8:1::5", 80);
  send(v6);
  const auto s = sensor_->harvestDsts();
  ASSERT_EQ(s.size(), 4u);
  ASSERT_NE(findDst(s, "198.51.100.1", 80), nullptr);
  EXPECT_EQ(findDst(s, "198.51.100.1", 80)->attempts, 5u);
  EXPECT_EQ(findDst(s, "198.51.100.1", 80)->bank_attempts, 5u);
  EXPECT_EQ(findDst(s, "198.51.100.1", 443)->attempts, 3u);
  EXPECT_EQ(findDst(s, "198.51.100.2", 80)->attempts, 1u);
  ASSERT_NE(findDst(s, "2001:db8:ffff::1", 80), nullptr);
  EXPECT_EQ(findDst(s, "2001:db8:ffff::1", 80)->attempts, 1u);
  // A new harvest: cumulative counts stay, the banks start again.
  send(newSyn("192.0.2.1", 80));
  const auto s2 = sensor_->harvestDsts();
  EXPECT_EQ(findDst(s2, "198.51.100.1", 80)->attempts, 6u);
  EXPECT_EQ(findDst(s2, "198.51.100.1", 80)->bank_attempts, 1u);
}

// A host that forwards counts only attempts at its own addresses (review
// finding: a flood through it to another host was detected, and answered, as
// its own). Until the agent writes the list, every destination counts.
TEST_F(DstCountersTest, OnlyTheHostsOwnAddressesAreCounted) {
  ASSERT_OK(sensor_->setLocalAddresses({*parseAddress("198.51.100.1")}));
  for (int i = 0; i < 3; i++) send(newSyn("192.0.2.1", 80));
  PacketSpec forwarded = newSyn("192.0.2.3", 80);
  forwarded.dst = "198.51.100.2";
  for (int i = 0; i < 4; i++) send(forwarded);
  auto s = sensor_->harvestDsts();
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(findDst(s, "198.51.100.1", 80)->attempts, 3u);
  EXPECT_EQ(findDst(s, "198.51.100.2", 80), nullptr);
  EXPECT_EQ(counter(SG_CNT_NOT_LOCAL), 4u);
  EXPECT_EQ(counter(SG_CNT_SYN), 7u) << "still attempts for the per-source counting";
  // The address becomes ours.
  ASSERT_OK(
      sensor_->setLocalAddresses({*parseAddress("198.51.100.1"), *parseAddress("198.51.100.2")}));
  send(forwarded);
  s = sensor_->harvestDsts();
  ASSERT_NE(findDst(s, "198.51.100.2", 80), nullptr);
  EXPECT_EQ(findDst(s, "198.51.100.2", 80)->attempts, 1u);
}

TEST_F(DstCountersTest, AttemptsAreCountedBeforeABlockDropsThem) {
  sg_prefix_block b{};
  b.added_ns = sensor_->kernelNowNs();
  b.expires_ns = b.added_ns + 60'000'000'000ull;
  b.flags = SG_BLK_XDP_DROP;
  ASSERT_OK(sensor_->addPrefixBlock(*parsePrefix("203.0.113.0/24"), b));
  for (int i = 0; i < 4; i++)
    EXPECT_EQ(send(newSyn("203.0.113." + std::to_string(i + 1))), XDP_DROP);
  const auto s = sensor_->harvestDsts();
  ASSERT_NE(findDst(s, "198.51.100.1", 80), nullptr);
  EXPECT_EQ(findDst(s, "198.51.100.1", 80)->attempts, 4u)
      << "a flood answered by a block must stay measured, or its end is misjudged";
}

// The kernel and its twin count the same registers and the same prefix
// table for the same key: replay's port floods are the kernel's.
TEST_F(DstCountersTest, RegistersEqualTheTwinsAndTheEstimateIsWithinItsError) {
  DstTable twin(1024, sensor_->hashKey(), 64);
  const int n = 4000;
  for (int i = 0; i < n; i++) {
    const uint32_t a = 0x0a000000u + static_cast<uint32_t>(i) * 2654435761u % 0x00ffffffu;
    PacketSpec spec = newSyn(v4(a), 25565);
    send(spec);
    sg_pkt p{};
    const auto frame = buildPacket(spec);
    sg_parse_eth(frame.data(), frame.data() + frame.size(), &p);
    twin.onAttempt(p);
  }
  const auto s = sensor_->harvestDsts();
  const auto t = twin.harvest();
  const DstSample* k = findDst(s, "198.51.100.1", 25565);
  const DstSample* u = findDst(t, "198.51.100.1", 25565);
  ASSERT_NE(k, nullptr);
  ASSERT_NE(u, nullptr);
  EXPECT_EQ(k->attempts, static_cast<uint64_t>(n));
  EXPECT_EQ(k->hll, u->hll);
  EXPECT_EQ(std::memcmp(k->hh.data(), u->hh.data(), sizeof(k->hh)), 0);
  const double est = hllEstimate(k->hll);
  EXPECT_LT(std::fabs(est - n) / n, 0.276) << "estimate " << est << " (3 standard errors)";
}

TEST_F(DstCountersTest, ThePrefixTableFindsWhereTheSourcesConcentrate) {
  for (int i = 0; i < 300; i++) send(newSyn("203.0.113." + std::to_string(i % 250 + 1)));
  for (int i = 0; i < 60; i++) send(newSyn("10." + std::to_string(i) + ".0.1"));
  const auto s = sensor_->harvestDsts();
  const DstSample* d = findDst(s, "198.51.100.1", 80);
  ASSERT_NE(d, nullptr);
  uint32_t best = 0;
  uint64_t prefix = 0;
  for (const sg_hh_entry& e : d->hh) {
    if (e.count - e.err > best) {
      best = e.count - e.err;
      prefix = e.prefix;
    }
  }
  EXPECT_EQ(prefixOf(prefix).str(), "203.0.113.0/24");
  EXPECT_GE(best, 240u);
  EXPECT_LE(best, 300u);
}

TEST_F(DstCountersTest, AFullSetLeavesANewDestinationUntrackedAndCounted) {
  // 1,024 entries, 512 sets: 8,000 ports (15.6 a set) leave a set with a
  // free way with a chance of 3e-6 per set.
  for (int port = 1; port <= 8000; port++) send(newSyn("192.0.2.1", static_cast<uint16_t>(port)));
  EXPECT_GT(counter(SG_CNT_DST_UNTRACKED), 0u);
  EXPECT_EQ(sensor_->harvestDsts().size(), sensor_->dstCapacity());
}

// A real handshake on loopback: the tracepoint counts it at the listener's
// address and port, once the XDP side has an entry for them.
TEST_F(DstCountersTest, TheHandshakeTracepointCountsACompletedConnection) {
  if (!sensor_->handshakesVisible()) GTEST_SKIP() << sensor_->handshakeNote();
  const int ls = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(ls, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(ls, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(listen(ls, 8), 0);
  socklen_t len = sizeof a;
  ASSERT_EQ(getsockname(ls, reinterpret_cast<sockaddr*>(&a), &len), 0);
  const uint16_t port = ntohs(a.sin_port);
  PacketSpec syn = newSyn("192.0.2.9", port);
  syn.dst = "127.0.0.1";
  send(syn);  // the entry the completion is counted in
  const uint64_t before = counter(SG_CNT_HANDSHAKES);
  for (int i = 0; i < 3; i++) {
    const int c = socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_EQ(connect(c, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    const int s = accept(ls, nullptr, nullptr);
    ASSERT_GE(s, 0);
    close(s);
    close(c);
  }
  close(ls);
  const auto s = sensor_->harvestDsts();
  const DstSample* d = findDst(s, "127.0.0.1", port);
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->completions, 3u);
  EXPECT_EQ(d->attempts, 1u) << "loopback SYNs never met the test-run program";
  EXPECT_GE(counter(SG_CNT_HANDSHAKES) - before, 3u);
}

}  // namespace
}  // namespace sg::test
