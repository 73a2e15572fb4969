#include "core/allowlist.h"

#include <gtest/gtest.h>

namespace sg {
namespace {

std::vector<std::string> strs(const std::vector<Prefix>& v) {
  std::vector<std::string> out;
  for (const auto& p : v) out.push_back(p.str());
  return out;
}

TEST(Allowlist, WidensLongIpv6EntriesToTheCountingPrefix) {
  auto got = effectiveAllowlist({*parsePrefix("2001:db8:1:2::5/128"), *parsePrefix("2001:db8::/32"),
                                 *parsePrefix("192.0.2.1/32")},
                                64);
  EXPECT_EQ(strs(got),
            (std::vector<std::string>{"2001:db8:1:2::/64", "2001:db8::/32", "192.0.2.1/32"}));
}

TEST(Allowlist, NeverWidensLoopbackIntoTheIpv4MappedSpace) {
  auto got = effectiveAllowlist(loopbackPrefixes(), 64);
  for (const auto& p : got) {
    EXPECT_GE(p.bits, 96) << p.str() << " would cover IPv4-mapped addresses";
  }
  EXPECT_FALSE(Prefix(got[1]).contains(*parseAddress("198.51.100.1")));
}

TEST(Allowlist, Deduplicates) {
  auto got = effectiveAllowlist(
      {*parsePrefix("2001:db8:1:2::5/128"), *parsePrefix("2001:db8:1:2::6/128")}, 64);
  EXPECT_EQ(got.size(), 1u);
}

}  // namespace
}  // namespace sg
