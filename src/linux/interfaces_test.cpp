#include "linux/interfaces.h"

#include <gtest/gtest.h>
#include <net/if.h>

#include <algorithm>
#include <cstdlib>

#include "linux/netns_guard.h"
#include "test_helpers.h"

namespace sg {
namespace {

// Real /proc/net/route text (trailing spaces included).
constexpr const char* kRoute =
    "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT      \n"
    "eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0                     \n"
    "eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0                     \n"
    "wlan0\t00000000\t0101A8C0\t0003\t0\t0\t600\t00000000\t0\t0\t0                  \n"
    "eth0\t00000000\t010300C0\t0003\t0\t0\t100\t00000000\t0\t0\t0                   \n"
    "down0\t00000000\t010300C0\t0002\t0\t0\t100\t00000000\t0\t0\t0                  \n"
    "rej0\t00000000\t00000000\t0201\t0\t0\t100\t00000000\t0\t0\t0                   \n";

constexpr const char* kIpv6Route =
    "fd000000000000000000000000000000 40 00000000000000000000000000000000 00 "
    "00000000000000000000000000000000 00000100 00000001 00000000 00000001     eth0\n"
    "00000000000000000000000000000000 00 00000000000000000000000000000000 00 "
    "fd000000000000000000000000000001 00000400 00000002 00000000 00000003     eth1\n"
    "00000000000000000000000000000001 80 00000000000000000000000000000000 00 "
    "00000000000000000000000000000000 00000000 00000002 00000000 80200001       lo\n"
    "00000000000000000000000000000000 00 00000000000000000000000000000000 00 "
    "00000000000000000000000000000000 ffffffff 00000001 00000000 00200200       lo\n";

TEST(Ipv4DefaultRoutes, KeepsUpDefaultRoutesInOrderWithoutDuplicates) {
  auto r = parseIpv4DefaultRoutes(kRoute);
  ASSERT_OK(r);
  EXPECT_EQ(*r, (std::vector<std::string>{"eth0", "wlan0"}));
}

TEST(Ipv4DefaultRoutes, EmptyTextAndHeaderOnlyHaveNone) {
  auto empty = parseIpv4DefaultRoutes("");
  ASSERT_OK(empty);
  EXPECT_TRUE(empty->empty());
  auto header = parseIpv4DefaultRoutes("Iface\tDestination\tGateway\n\n");
  ASSERT_OK(header);
  EXPECT_TRUE(header->empty());
}

TEST(Ipv4DefaultRoutes, MalformedLineIsAnErrorNamingTheLine) {
  auto short_line = parseIpv4DefaultRoutes("Iface\tDestination\neth0\t00000000\t0003\n");
  EXPECT_ERROR(short_line, Errc::kInvalidArgument);
  EXPECT_NE(short_line.error().message().find("line 2"), std::string::npos)
      << short_line.error().message();
  EXPECT_ERROR(parseIpv4DefaultRoutes("eth0\t0000000G\t0\t0003\t0\t0\t0\t00000000\n"),
               Errc::kInvalidArgument);
  EXPECT_ERROR(parseIpv4DefaultRoutes("eth0\t000000\t0\t0003\t0\t0\t0\t00000000\n"),
               Errc::kInvalidArgument);
}

TEST(Ipv6DefaultRoutes, KeepsUpDefaultRoutesAndSkipsRejectOnLo) {
  auto r = parseIpv6DefaultRoutes(kIpv6Route);
  ASSERT_OK(r);
  EXPECT_EQ(*r, (std::vector<std::string>{"eth1"}));
}

TEST(Ipv6DefaultRoutes, MalformedLineIsAnError) {
  EXPECT_ERROR(parseIpv6DefaultRoutes("0000 00 eth0\n"), Errc::kInvalidArgument);
  auto bad_hex = parseIpv6DefaultRoutes(
      "\n0000000000000000000000000000000x 00 00000000000000000000000000000000 00 "
      "00000000000000000000000000000000 00000400 00000002 00000000 00000003 eth1\n");
  EXPECT_ERROR(bad_hex, Errc::kInvalidArgument);
  EXPECT_NE(bad_hex.error().message().find("line 2"), std::string::npos);
}

TEST(InterfaceIndex, RejectsBadNamesWithoutRoot) {
  EXPECT_ERROR(interfaceIndex(""), Errc::kInvalidArgument);
  EXPECT_ERROR(interfaceIndex(std::string(IFNAMSIZ, 'x')), Errc::kInvalidArgument);
  auto missing = interfaceIndex("sg-no-such-if0");
  EXPECT_ERROR(missing, Errc::kNotFound);
  EXPECT_NE(missing.error().message().find("sg-no-such-if0"), std::string::npos);
}

TEST(InterfacesNetns, FreshNamespaceHasLoOnlyAndNoDefaultRoute) {
  SG_REQUIRE_ROOT();
  ASSERT_OK(runInFreshNetns([] {
    auto lo = interfaceIndex("lo");
    ASSERT_OK(lo);
    EXPECT_GT(*lo, 0);
    auto routes = defaultRouteInterfaces();
    EXPECT_ERROR(routes, Errc::kNotFound);
    EXPECT_EQ(routes.error().message(), "no default route: name the interfaces with --interface");
    auto addrs = localAddresses();
    ASSERT_OK(addrs);
    auto has = [&](const char* text) {
      auto a = parseAddress(text);
      return a.ok() && std::find(addrs->begin(), addrs->end(), *a) != addrs->end();
    };
    EXPECT_TRUE(has("127.0.0.1"));
    EXPECT_TRUE(has("::1"));
    EXPECT_FALSE(has("192.0.2.1"));
  }));
}

// Runs `ip args...` in the calling thread's namespace; true on exit status 0.
bool ip(const std::string& args) {
  return std::system(("ip " + args + " >/dev/null 2>&1").c_str()) == 0;
}

TEST(InterfacesNetns, FindsDefaultRoutesAndAddressesOfADummyInterface) {
  SG_REQUIRE_ROOT();
  ASSERT_OK(runInFreshNetns([] {
    ASSERT_TRUE(ip("link add sgdummy0 type veth peer name sgdummy1"));  // no dummy module here
    ASSERT_TRUE(ip("link set sgdummy1 up"));
    ASSERT_TRUE(ip("link set sgdummy0 up"));
    ASSERT_TRUE(ip("addr add 10.200.7.1/24 dev sgdummy0"));
    ASSERT_TRUE(ip("-6 addr add fd00:200:7::1/64 dev sgdummy0 nodad"));
    ASSERT_TRUE(ip("route add default via 10.200.7.254"));
    ASSERT_TRUE(ip("-6 route add default via fd00:200:7::fe dev sgdummy0"));
    auto routes = defaultRouteInterfaces();
    ASSERT_OK(routes);
    EXPECT_EQ(*routes, (std::vector<std::string>{"sgdummy0"}));  // v4 and v6, deduplicated
    auto idx = interfaceIndex("sgdummy0");
    ASSERT_OK(idx);
    EXPECT_EQ(static_cast<unsigned>(*idx), if_nametoindex("sgdummy0"));
    auto addrs = localAddresses();
    ASSERT_OK(addrs);
    for (const char* text : {"10.200.7.1", "fd00:200:7::1"}) {
      auto a = parseAddress(text);
      ASSERT_OK(a);
      EXPECT_NE(std::find(addrs->begin(), addrs->end(), *a), addrs->end()) << text;
    }
  }));
}

}  // namespace
}  // namespace sg
