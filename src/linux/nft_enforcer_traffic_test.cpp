// Traffic through the nftables rules, on the loopback of a fresh network
// namespace: the prerouting hook sees loopback packets too, so a client bound
// to a blocked source address cannot connect while another source can.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>

#include "linux/netns_guard.h"
#include "linux/nft_enforcer.h"
#include "linux/nft_enforcer_baseline.h"
#include "linux/nft_enforcer_test_util.h"
#include "test_helpers.h"

namespace sg {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// Closes the fd when it goes out of scope.
struct Fd {
  int fd = -1;
  explicit Fd(int f) : fd(f) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd >= 0) close(fd);
  }
};

sockaddr_in6 sockaddrOf(const char* text, uint16_t port) {
  sockaddr_in6 sa{};
  sa.sin6_family = AF_INET6;
  sa.sin6_port = htons(port);
  auto a = parseAddress(text);
  if (!a) std::abort();
  std::memcpy(&sa.sin6_addr, a->raw.b, 16);  // IPv4 as ::ffff:a.b.c.d
  return sa;
}

// A dual-stack listener on an OS-chosen port.
struct Listener {
  Fd sock{socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0)};
  uint16_t port = 0;
  Result<void> open() {
    int off = 0;
    setsockopt(sock.fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
    sockaddr_in6 any{};
    any.sin6_family = AF_INET6;
    socklen_t len = sizeof(any);
    if (bind(sock.fd, reinterpret_cast<sockaddr*>(&any), sizeof(any)) != 0 ||
        listen(sock.fd, 64) != 0 ||
        getsockname(sock.fd, reinterpret_cast<sockaddr*>(&any), &len) != 0) {
      return makeError(Errc::kIo, std::string("listener: ") + std::strerror(errno));
    }
    port = ntohs(any.sin6_port);
    return Ok{};
  }
};

// True when a TCP connect from `src` to `dst`:port completes within `wait`.
bool connects(const char* src, const char* dst, uint16_t port, milliseconds wait) {
  Fd s(socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  sockaddr_in6 from = sockaddrOf(src, 0);
  sockaddr_in6 to = sockaddrOf(dst, port);
  if (bind(s.fd, reinterpret_cast<sockaddr*>(&from), sizeof(from)) != 0) return false;
  int rc = connect(s.fd, reinterpret_cast<sockaddr*>(&to), sizeof(to));
  if (rc != 0 && errno != EINPROGRESS) return false;
  pollfd p{s.fd, POLLOUT, 0};
  if (poll(&p, 1, static_cast<int>(wait.count())) != 1) return false;
  int err = 0;
  socklen_t len = sizeof(err);
  getsockopt(s.fd, SOL_SOCKET, SO_ERROR, &err, &len);
  return err == 0;
}

bool ip(const std::string& args) {
  return std::system(("ip " + args + " >/dev/null 2>&1").c_str()) == 0;
}

// A blocked connect is given up on before the SYN's first retransmit (1 s), so
// one attempt drops one SYN. A connect that must succeed gets a long bound: it
// completes at once, unless the machine is busy running other tests in
// parallel (the first SYN-ACK then waited over 500 ms under ctest -j8).
constexpr milliseconds kWait{500};
constexpr milliseconds kConnectWait{10000};

// A prefix block (Block Globally of a prefix) drops every source inside it
// from its first SYN, IPv4 and IPv6, and nothing outside.
TEST(NftEnforcerTraffic, EverySourceInsideABlockedPrefixIsDropped) {
  SG_REQUIRE_ROOT();
  ASSERT_OK(runInFreshNetns([] {
    ASSERT_TRUE(ip("-6 addr add fd00:300:1::2/128 dev lo nodad"));
    ASSERT_TRUE(ip("-6 addr add fd00:301::2/128 dev lo nodad"));
    Listener server;
    ASSERT_OK(server.open());
    auto e = NftEnforcer::create();
    ASSERT_OK(e);
    ASSERT_OK((*e)->blockPrefix(*parsePrefix("127.0.1.0/24"), seconds(60)));
    ASSERT_OK((*e)->blockPrefix(*parsePrefix("fd00:300::/32"), seconds(60)));
    EXPECT_FALSE(connects("127.0.1.5", "127.0.0.1", server.port, kWait));
    EXPECT_FALSE(connects("127.0.1.250", "127.0.0.1", server.port, kWait));
    EXPECT_TRUE(connects("127.0.2.5", "127.0.0.1", server.port, kConnectWait));
    EXPECT_FALSE(connects("fd00:300:1::2", "::1", server.port, kWait));
    EXPECT_TRUE(connects("fd00:301::2", "::1", server.port, kConnectWait));
    auto dropped = (*e)->droppedPackets();
    ASSERT_OK(dropped);
    EXPECT_GE(*dropped, 3u);
    ASSERT_OK((*e)->unblockPrefix(*parsePrefix("127.0.1.0/24")));
    EXPECT_TRUE(connects("127.0.1.5", "127.0.0.1", server.port, kConnectWait));
  }));
}

TEST(NftEnforcerTraffic, BlockedSourceCannotConnectOthersCan) {
  SG_REQUIRE_ROOT();
  ASSERT_OK(runInFreshNetns([] {
    ASSERT_TRUE(ip("-6 addr add fd00:200:1::2/128 dev lo nodad"));
    ASSERT_TRUE(ip("-6 addr add fd00:200:2::2/128 dev lo nodad"));
    Listener server;
    ASSERT_OK(server.open());
    auto e = NftEnforcer::create();
    ASSERT_OK(e);
    // Before: every source connects.
    EXPECT_TRUE(connects("127.0.0.2", "127.0.0.1", server.port, kConnectWait));
    EXPECT_TRUE(connects("fd00:200:1::2", "::1", server.port, kConnectWait));
    auto none = (*e)->droppedPackets();
    ASSERT_OK(none);
    EXPECT_EQ(*none, 0u);

    // The IPv6 block is the /64's key; the rule masks the source to match it.
    ASSERT_OK((*e)->block(BlockSpec{*parseAddress("127.0.0.2"), 64, seconds(60)}));
    ASSERT_OK((*e)->block(BlockSpec{*parseAddress("fd00:200:1::"), 64, seconds(60)}));
    EXPECT_FALSE(connects("127.0.0.2", "127.0.0.1", server.port, kWait));
    EXPECT_TRUE(connects("127.0.0.3", "127.0.0.1", server.port, kConnectWait));
    auto after_v4 = (*e)->droppedPackets();
    ASSERT_OK(after_v4);
    EXPECT_GE(*after_v4, 1u);  // the SYN (and no more: the connect gave up before a retry)
    EXPECT_FALSE(connects("fd00:200:1::2", "::1", server.port, kWait));
    EXPECT_TRUE(connects("fd00:200:2::2", "::1", server.port, kConnectWait));
    auto after_v6 = (*e)->droppedPackets();
    ASSERT_OK(after_v6);
    EXPECT_GT(*after_v6, *after_v4);

    // After unblock: the source connects again, so the drop was our block.
    ASSERT_OK((*e)->unblock(*parseAddress("127.0.0.2"), 64));
    ASSERT_OK((*e)->unblock(*parseAddress("fd00:200:1::"), 64));
    EXPECT_TRUE(connects("127.0.0.2", "127.0.0.1", server.port, kConnectWait));
    EXPECT_TRUE(connects("fd00:200:1::2", "::1", server.port, kConnectWait));
  }));
}

TEST(NftEnforcerTraffic, PrefixBlocksOfOtherLengthsDropTheirWholePrefix) {
  SG_REQUIRE_ROOT();
  ASSERT_OK(runInFreshNetns([] {
    ASSERT_TRUE(ip("-6 addr add fd00:300:0:1::2/128 dev lo nodad"));  // in fd00:300::/48
    ASSERT_TRUE(ip("-6 addr add fd00:301::2/128 dev lo nodad"));      // outside it
    ASSERT_TRUE(ip("-6 addr add fd00:302::5/128 dev lo nodad"));      // a /128 block
    ASSERT_TRUE(ip("-6 addr add fd00:302::6/128 dev lo nodad"));      // its neighbour
    Listener server;
    ASSERT_OK(server.open());
    auto e = NftEnforcer::create("syn_guard", 64);
    ASSERT_OK(e);
    ASSERT_OK((*e)->block(BlockSpec{*parseAddress("fd00:300::"), 48, seconds(60)}));
    ASSERT_OK((*e)->block(BlockSpec{*parseAddress("fd00:302::5"), 128, seconds(60)}));
    EXPECT_FALSE(connects("fd00:300:0:1::2", "::1", server.port, kWait));
    EXPECT_TRUE(connects("fd00:301::2", "::1", server.port, kConnectWait));
    EXPECT_FALSE(connects("fd00:302::5", "::1", server.port, kWait));
    EXPECT_TRUE(connects("fd00:302::6", "::1", server.port, kConnectWait));
    ASSERT_OK((*e)->unblock(*parseAddress("fd00:300::"), 48));
    EXPECT_TRUE(connects("fd00:300:0:1::2", "::1", server.port, kConnectWait));
  }));
}

TEST(NftMeterBaseline, RejectsBadParameters) {
  NftBaselineParams p;
  p.threshold = 0;
  EXPECT_ERROR(nftMeterBaselineRules(p), Errc::kInvalidArgument);
  p = {};
  p.window = Nanos{0};
  EXPECT_ERROR(nftMeterBaselineRules(p), Errc::kInvalidArgument);
  p = {};
  p.block = std::chrono::hours(25);
  EXPECT_ERROR(nftMeterBaselineRules(p), Errc::kInvalidArgument);
  p = {};
  p.v6_prefix = 0;
  EXPECT_ERROR(nftMeterBaselineRules(p), Errc::kInvalidArgument);
  p = {};
  p.table = "x y";
  EXPECT_ERROR(nftMeterBaselineRules(p), Errc::kInvalidArgument);
}

TEST(NftMeterBaseline, RateIsThresholdPerWindowInTheFinestWholeUnit) {
  NftBaselineParams p;  // 200 per 5 s
  auto r = nftMeterBaselineRules(p);
  ASSERT_OK(r);
  EXPECT_NE(r->find("limit rate over 40/second burst 200 packets"), std::string::npos) << *r;
  EXPECT_NE(r->find("ip6 saddr & ffff:ffff:ffff:ffff:: @blocked_v6"), std::string::npos) << *r;
  p.threshold = 10;
  p.window = std::chrono::minutes(1);
  r = nftMeterBaselineRules(p);
  ASSERT_OK(r);
  EXPECT_NE(r->find("limit rate over 10/minute burst 10 packets"), std::string::npos) << *r;
  p.v6_prefix = 128;
  r = nftMeterBaselineRules(p);
  ASSERT_OK(r);
  EXPECT_NE(r->find("ip6 saddr @blocked_v6"), std::string::npos) << *r;
}

TEST(NftMeterBaseline, LoadsAndBlocksAFloodingSource) {
  SG_REQUIRE_ROOT();
  ASSERT_OK(runInFreshNetns([] {
    NftBaselineParams p;
    p.threshold = 5;
    p.window = seconds(10);
    auto script = nftMeterBaselineRules(p);
    ASSERT_OK(script);
    ASSERT_OK(nftRun(*script));
    ASSERT_OK(nftRun(*script));  // loading again replaces the table
    auto text = nftRun("list table inet syn_guard_baseline");
    ASSERT_OK(text);
    EXPECT_NE(text->find("update @meter_v4"), std::string::npos) << *text;

    Listener server;
    ASSERT_OK(server.open());
    int ok = 0;
    for (int i = 0; i < 20; ++i) {  // bounded: at most 20 connects, up to the first dropped one
      if (!connects("127.0.0.4", "127.0.0.1", server.port, milliseconds(200))) break;
      ++ok;
    }
    EXPECT_GE(ok, 5);   // the burst passes
    EXPECT_LT(ok, 20);  // then the source is cut off
    auto blocked = nftRun("list set inet syn_guard_baseline blocked_v4");
    ASSERT_OK(blocked);
    EXPECT_NE(blocked->find("127.0.0.4"), std::string::npos) << *blocked;
    EXPECT_FALSE(connects("127.0.0.4", "127.0.0.1", server.port, milliseconds(200)));
    EXPECT_TRUE(connects("127.0.0.5", "127.0.0.1", server.port, kConnectWait));
  }));
}

}  // namespace
}  // namespace sg
