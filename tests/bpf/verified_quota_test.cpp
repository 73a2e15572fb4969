// Verified sources' caps (bpf/sg_verified.h) against an attacker that
// completes real handshakes from addresses of its own (review s15 M3): one
// IPv6 /64 cannot take its /48's places before its neighbours connect;
// handshakes from many prefixes cannot flush the table of the clients
// verified before them; one IPv4 /16 or IPv6 /32 cannot use up the table's
// places of a TTL window so that nobody else is verified; a refused handshake
// leaves nothing behind. Every handshake is real, made in a network namespace
// of the test's own (the program counts the namespace it was loaded in, so
// other tests' loopback handshakes are not seen), where all of 127/8 and of
// 2000::/3 is local: a client socket binds any of them (IPV6_FREEBIND).
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <optional>
#include <string>

#include "bpf/kernel_fixture.h"
#include "lab/netns.h"

namespace sg::test {
namespace {

constexpr uint64_t kTtl = 60'000'000'000ull;
// Per /48 or /24, so 1 per /64 (a 16th, at least 1). The table of 1,024
// entries takes 512 new addresses per TTL window, one /32 or /16 32 of them.
constexpr uint32_t kPerPrefix = 4;
constexpr uint32_t kTableWindow = 512;
constexpr uint32_t kAggregateShare = 32;

// A real handshake from `from` to `to` (a listener bound there, port chosen
// by the OS); whether it completed.
template <typename Sockaddr>
bool handshake(int family, const Sockaddr& from, Sockaddr to) {
  int lis = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  bool ok =
      bind(lis, reinterpret_cast<const sockaddr*>(&to), sizeof to) == 0 && listen(lis, 4) == 0;
  socklen_t len = sizeof to;
  ok = ok && getsockname(lis, reinterpret_cast<sockaddr*>(&to), &len) == 0;
  int cli = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int one = 1;
  if (family == AF_INET6) setsockopt(cli, IPPROTO_IPV6, IPV6_FREEBIND, &one, sizeof one);
  ok = ok && bind(cli, reinterpret_cast<const sockaddr*>(&from), sizeof from) == 0 &&
       connect(cli, reinterpret_cast<const sockaddr*>(&to), sizeof to) == 0;
  int acc = ok ? accept(lis, nullptr, nullptr) : -1;
  ok = ok && acc >= 0;
  if (acc >= 0) close(acc);
  close(cli);
  close(lis);
  return ok;
}

bool handshake4(const std::string& from) {
  sockaddr_in a{}, b{};
  a.sin_family = b.sin_family = AF_INET;
  b.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (inet_pton(AF_INET, from.c_str(), &a.sin_addr) != 1) return false;
  return handshake(AF_INET, a, b);
}

// To fd00::1, the listener's address (outside 2000::/3: no test's peer).
bool handshake6(const std::string& from) {
  sockaddr_in6 a{}, b{};
  a.sin6_family = b.sin6_family = AF_INET6;
  if (inet_pton(AF_INET6, from.c_str(), &a.sin6_addr) != 1 ||
      inet_pton(AF_INET6, "fd00::1", &b.sin6_addr) != 1) {
    return false;
  }
  return handshake(AF_INET6, a, b);
}

template <typename... Args>
std::string fmt(const char* f, Args... args) {
  char buf[64];
  snprintf(buf, sizeof buf, f, args...);
  return buf;
}

class VerifiedQuota : public KernelTest {
 protected:
  SensorOptions sensorOptions() const override {
    SensorOptions o;
    o.max_verified = 1024;  // the smallest table: 512 new places per window
    return o;
  }
  // The program is loaded (and the handshakes made) inside the namespace.
  void SetUp() override {
    SG_REQUIRE_ROOT();
    saved_ns_ = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    ASSERT_GE(saved_ns_, 0);
    auto ns = lab::Netns::create("vquota");
    ASSERT_OK(ns);
    ns_.emplace(std::move(*ns));
    ASSERT_OK(ns_->addAddress("lo", "fd00::1/128"));
    ASSERT_OK(ns_->ip({"-6", "route", "add", "local", "2000::/3", "dev", "lo"}));
    ASSERT_OK(lab::enterNetns(ns_->name()));
    entered_ = true;
    KernelTest::SetUp();
    if (HasFatalFailure() || IsSkipped()) return;
    sensor_->setVerified(true, kTtl, kPerPrefix);
    ASSERT_TRUE(sensor_->handshakesVisible()) << sensor_->handshakeNote();
  }
  void TearDown() override {
    KernelTest::TearDown();
    if (entered_) {
      EXPECT_EQ(setns(saved_ns_, CLONE_NEWNET), 0);
    }
    if (saved_ns_ >= 0) close(saved_ns_);
    ns_.reset();
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

 private:
  int saved_ns_ = -1;
  bool entered_ = false;
  std::optional<lab::Netns> ns_;
};

TEST_F(VerifiedQuota, ReviewOneSlash64CannotTakeItsSlash48sPlaces) {
  // The attacker's /64 completes handshakes from as many of its addresses as
  // its /48 has places, at the start of the window...
  for (int i = 1; i <= 4; i++) ASSERT_TRUE(handshake6(fmt("2001:db8:1:1::%x", i))) << i;
  // ...then a neighbour in another /64 of the /48 connects.
  ASSERT_TRUE(handshake6("2001:db8:1:2::1"));
  int attackers = 0;
  for (int i = 1; i <= 4; i++) attackers += verified(fmt("2001:db8:1:1::%x", i));
  EXPECT_EQ(attackers, 1) << "one /64 takes a 16th of its /48's places (at least 1)";
  EXPECT_TRUE(verified("2001:db8:1:2::1")) << "the neighbour found its /48's places taken";
  EXPECT_EQ(counter(SG_CNT_VERIFIED_CAPPED_64), 3u);
  floodBlock("2001:db8:1::/48");
  EXPECT_EQ(send(newSyn("2001:db8:1:2::1")), XDP_PASS) << "the neighbour passes its /48's block";
  EXPECT_EQ(send(newSyn("2001:db8:1:1::2")), XDP_DROP);
}

TEST_F(VerifiedQuota, ReviewHandshakesFromManyPrefixesCannotFlushTheTable) {
  ASSERT_TRUE(handshake4("127.1.0.1"));  // a client verified first...
  // ...then an attacker completes a handshake from one address in each of
  // 1,100 /24s of 100 /16s (11 each: within every /24's and /16's cap), more
  // new addresses than the table holds.
  constexpr int kAttackers = 1100;
  for (int i = 0; i < kAttackers; i++) {
    ASSERT_TRUE(handshake4(fmt("127.%d.%d.1", 2 + i % 100, i / 100))) << i;
  }
  EXPECT_TRUE(verified("127.1.0.1")) << "the LRU flushed the client verified before the attack";
  EXPECT_EQ(counter(SG_CNT_VERIFIED_CAPPED_TABLE), kAttackers + 1 - kTableWindow)
      << "half the table's entries per TTL window";
  EXPECT_EQ(sensor_->verifiedCount(), kTableWindow);
  EXPECT_TRUE(verified("127.2.0.1")) << "the first attacker";
  EXPECT_FALSE(verified("127.101.10.1")) << "the 1,100th attacker";
}

TEST_F(VerifiedQuota, ReviewOneSlash16CannotUseUpTheTablesWindow) {
  // An attacker with a /16 completes two handshakes in each of its 256 /24s
  // (within each /24's cap of 4): as many as the table's window...
  int attackers = 0;
  for (int i = 0; i < 256; i++) {
    for (int j = 1; j <= 2; j++) {
      const std::string a = fmt("127.2.%d.%d", i, j);
      ASSERT_TRUE(handshake4(a)) << a;
    }
  }
  for (int i = 0; i < 256; i++) {
    for (int j = 1; j <= 2; j++) attackers += verified(fmt("127.2.%d.%d", i, j));
  }
  EXPECT_EQ(attackers, static_cast<int>(kAggregateShare)) << "a 16th of the table's window";
  EXPECT_EQ(counter(SG_CNT_VERIFIED_CAPPED_AGG), 512u - kAggregateShare);
  // ...then clients of other /16s connect, and are verified.
  for (int i = 3; i < 13; i++) ASSERT_TRUE(handshake4(fmt("127.%d.0.1", i)));
  for (int i = 3; i < 13; i++) EXPECT_TRUE(verified(fmt("127.%d.0.1", i))) << i;
  EXPECT_EQ(counter(SG_CNT_VERIFIED_CAPPED_TABLE), 0u);
}

TEST_F(VerifiedQuota, ReviewOneSlash32CannotUseUpTheTablesWindow) {
  // An attacker with an IPv6 /32 (65,536 /48s) completes a handshake from
  // one address in each of 600 of its /48s: more than the table's window...
  constexpr int kAttackers = 600;
  for (int i = 0; i < kAttackers; i++) ASSERT_TRUE(handshake6(fmt("2001:db8:%x::1", i))) << i;
  int attackers = 0;
  for (int i = 0; i < kAttackers; i++) attackers += verified(fmt("2001:db8:%x::1", i));
  EXPECT_EQ(attackers, static_cast<int>(kAggregateShare)) << "a 16th of the table's window";
  EXPECT_EQ(counter(SG_CNT_VERIFIED_CAPPED_AGG), kAttackers - kAggregateShare);
  // ...then a client of another /32 connects, and is verified.
  ASSERT_TRUE(handshake6("2001:db9:1:2::3"));
  EXPECT_TRUE(verified("2001:db9:1:2::3"));
  // Windows only for what was verified: the attacker's 32 /48s and /64s, its
  // /32; the client's three.
  EXPECT_EQ(sensor_->verifiedWindowCount(), 2 * kAggregateShare + 1 + 3);
}

TEST_F(VerifiedQuota, ReviewRefusedHandshakesLeaveNoWindows) {
  // The attacker's /48 has taken its places (one per /64)...
  for (int i = 1; i <= 4; i++) ASSERT_TRUE(handshake6(fmt("2001:db8:1:%x::1", i))) << i;
  const size_t windows = sensor_->verifiedWindowCount();
  EXPECT_EQ(windows, 4u + 1 + 1) << "four /64s, their /48 and /32";
  // ...and completes handshakes from 1,500 more of its /64s: all refused,
  // none may leave a window behind (they would fill sg_verified_pfx, whose
  // LRU would then evict the windows of other prefixes, their caps with them).
  for (int i = 5; i < 1505; i++) ASSERT_TRUE(handshake6(fmt("2001:db8:1:%x::1", i))) << i;
  EXPECT_EQ(counter(SG_CNT_VERIFIED_CAPPED), 1500u);
  EXPECT_EQ(sensor_->verifiedWindowCount(), windows);
  EXPECT_EQ(sensor_->verifiedCount(), 4u);
}

}  // namespace
}  // namespace sg::test
