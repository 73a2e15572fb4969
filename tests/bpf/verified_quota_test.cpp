// Verified sources' caps (bpf/sg_verified.h) against an attacker that
// completes real handshakes (review s15 M3): one IPv6 /64 cannot take its
// /48's places before its neighbours connect (in a namespace of the test's
// own, where the /48's addresses are on lo), and handshakes from many
// prefixes cannot flush the table of the clients verified before them.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <optional>

#include "bpf/kernel_fixture.h"
#include "lab/netns.h"

namespace sg::test {
namespace {

constexpr uint64_t kTtl = 60'000'000'000ull;
constexpr uint32_t kPerPrefix = 4;  // per /48 or /24; so 1 per /64 (a 16th, at least 1)

// A real handshake from `from` to `to` (both local); whether it completed.
template <typename Sockaddr>
bool handshake(int family, const Sockaddr& from, Sockaddr to) {
  int lis = socket(family, SOCK_STREAM, 0);
  bool ok =
      bind(lis, reinterpret_cast<const sockaddr*>(&to), sizeof to) == 0 && listen(lis, 4) == 0;
  socklen_t len = sizeof to;
  getsockname(lis, reinterpret_cast<sockaddr*>(&to), &len);
  int cli = socket(family, SOCK_STREAM, 0);
  ok = ok && bind(cli, reinterpret_cast<const sockaddr*>(&from), sizeof from) == 0 &&
       connect(cli, reinterpret_cast<const sockaddr*>(&to), sizeof to) == 0;
  int acc = ok ? accept(lis, nullptr, nullptr) : -1;
  ok = ok && acc >= 0;
  if (acc >= 0) close(acc);
  close(cli);
  close(lis);
  return ok;
}

bool handshake4(uint32_t from) {
  sockaddr_in a{}, b{};
  a.sin_family = b.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(from);
  b.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return handshake(AF_INET, a, b);
}

bool handshake6(const char* from, const char* to) {
  sockaddr_in6 a{}, b{};
  a.sin6_family = b.sin6_family = AF_INET6;
  if (inet_pton(AF_INET6, from, &a.sin6_addr) != 1 || inet_pton(AF_INET6, to, &b.sin6_addr) != 1) {
    return false;
  }
  return handshake(AF_INET6, a, b);
}

class VerifiedQuota : public KernelTest {
 protected:
  void SetUp() override {
    KernelTest::SetUp();
    if (HasFatalFailure() || IsSkipped()) return;
    sensor_->setVerified(true, kTtl, kPerPrefix);
    ASSERT_TRUE(sensor_->handshakesVisible()) << sensor_->handshakeNote();
  }
  void floodBlock(const char* text) {
    auto p = parsePrefix(text);
    ASSERT_OK(p);
    sg_prefix_block b{};
    b.added_ns = sensor_->kernelNowNs();
    b.expires_ns = b.added_ns + 60'000'000'000ull;
    b.flags = SG_BLK_XDP_DROP | SG_BLK_MANUAL | SG_PFX_FLOOD;
    ASSERT_OK(sensor_->addPrefixBlock(*p, b));
  }
  bool verified(const std::string& a) { return sensor_->verifiedAt(keyOf(a)).has_value(); }
};

// The program loaded (and the handshakes made) in a namespace of the test's
// own, whose lo holds addresses of 2001:db8:1::/48: the tracepoint counts the
// namespace it was loaded in.
class VerifiedQuota6 : public VerifiedQuota {
 protected:
  void SetUp() override {
    SG_REQUIRE_ROOT();
    saved_ns_ = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    ASSERT_GE(saved_ns_, 0);
    auto ns = lab::Netns::create("vquota6");
    ASSERT_OK(ns);
    ns_.emplace(std::move(*ns));
    for (const char* a : {"2001:db8:1:1::1/128", "2001:db8:1:1::2/128", "2001:db8:1:1::3/128",
                          "2001:db8:1:1::4/128", "2001:db8:1:2::1/128", "2001:db8:9::1/128"}) {
      ASSERT_OK(ns_->addAddress("lo", a));
    }
    ASSERT_OK(lab::enterNetns(ns_->name()));
    entered_ = true;
    VerifiedQuota::SetUp();
  }
  void TearDown() override {
    VerifiedQuota::TearDown();
    if (entered_) EXPECT_EQ(setns(saved_ns_, CLONE_NEWNET), 0);
    if (saved_ns_ >= 0) close(saved_ns_);
    ns_.reset();
  }
  int saved_ns_ = -1;
  bool entered_ = false;
  std::optional<lab::Netns> ns_;
};

TEST_F(VerifiedQuota6, ReviewOneSlash64CannotTakeItsSlash48sPlaces) {
  // The attacker's /64 completes handshakes from as many of its addresses as
  // its /48 has places, at the start of the window...
  for (const char* a :
       {"2001:db8:1:1::1", "2001:db8:1:1::2", "2001:db8:1:1::3", "2001:db8:1:1::4"}) {
    ASSERT_TRUE(handshake6(a, "2001:db8:9::1")) << a;
  }
  // ...then a neighbour in another /64 of the /48 connects.
  ASSERT_TRUE(handshake6("2001:db8:1:2::1", "2001:db8:9::1"));
  int attackers = 0;
  for (const char* a :
       {"2001:db8:1:1::1", "2001:db8:1:1::2", "2001:db8:1:1::3", "2001:db8:1:1::4"}) {
    attackers += verified(a);
  }
  EXPECT_EQ(attackers, 1) << "one /64 takes a 16th of its /48's places (at least 1)";
  EXPECT_TRUE(verified("2001:db8:1:2::1")) << "the neighbour found its /48's places taken";
  EXPECT_EQ(counter(SG_CNT_VERIFIED_CAPPED), 3u);
  floodBlock("2001:db8:1::/48");
  EXPECT_EQ(send(newSyn("2001:db8:1:2::1")), XDP_PASS) << "the neighbour passes its /48's block";
  EXPECT_EQ(send(newSyn("2001:db8:1:1::2")), XDP_DROP);
}

class VerifiedQuotaTable : public VerifiedQuota {
 protected:
  SensorOptions sensorOptions() const override {
    SensorOptions o;
    o.max_verified = 1024;  // the smallest table: 512 new places per window
    return o;
  }
};

TEST_F(VerifiedQuotaTable, ReviewHandshakesFromManyPrefixesCannotFlushTheTable) {
  // A client verified first (127.0.227.1: loopback's /8, no other test uses it)...
  ASSERT_TRUE(handshake4(0x7f00e301));
  // ...then an attacker completes a handshake from one address in each of
  // 1,100 /24s (127.2.0.1, 127.2.1.1, ...): within every /24's cap, more new
  // addresses than the table holds.
  constexpr uint32_t kAttackers = 1100;
  for (uint32_t i = 0; i < kAttackers; i++) ASSERT_TRUE(handshake4(0x7f020001 + (i << 8))) << i;
  EXPECT_TRUE(verified("127.0.227.1")) << "the LRU flushed the client verified before the attack";
  EXPECT_EQ(counter(SG_CNT_VERIFIED_CAPPED), kAttackers + 1 - 512)
      << "half the table's entries per TTL window";
  EXPECT_TRUE(verified("127.2.0.1"));
  EXPECT_FALSE(verified("127.6.75.1")) << "the 1,100th attacker";
}

}  // namespace
}  // namespace sg::test
