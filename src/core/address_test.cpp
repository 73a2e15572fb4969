#include "core/address.h"

#include <gtest/gtest.h>

#include <cstring>

#include "test_helpers.h"

namespace sg {
namespace {

TEST(AddressTest, ParsesAndFormatsBothFamilies) {
  struct Case {
    const char* text;
    const char* shown;
    bool v4;
  };
  const Case cases[] = {
      {"192.0.2.1", "192.0.2.1", true},
      {"0.0.0.0", "0.0.0.0", true},
      {"255.255.255.255", "255.255.255.255", true},
      {"2001:db8::1", "2001:db8::1", false},
      {"2001:DB8:0:0:0:0:0:1", "2001:db8::1", false},
      {"::", "::", false},
      {"::1", "::1", false},
      {"::ffff:192.0.2.7", "192.0.2.7", true},  // mapped: the same source as 192.0.2.7
      {"fe80::1:2", "fe80::1:2", false},
  };
  for (const auto& c : cases) {
    auto a = parseAddress(c.text);
    ASSERT_OK(a);
    EXPECT_EQ(a->str(), c.shown) << c.text;
    EXPECT_EQ(a->isV4(), c.v4) << c.text;
  }
}

TEST(AddressTest, StoresIpv4Mapped) {
  auto a = parseAddress("192.0.2.1");
  ASSERT_OK(a);
  const uint8_t want[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1};
  EXPECT_EQ(std::memcmp(a->raw.b, want, 16), 0);
  auto mapped = parseAddress("::ffff:c000:201");
  ASSERT_OK(mapped);
  EXPECT_EQ(*a, *mapped);
}

TEST(AddressTest, RejectsBadInputWithReason) {
  struct Case {
    const char* text;
    const char* says;
  };
  const Case cases[] = {
      {"", "empty address"},
      {"1.2.3", "not an IPv4 address"},
      {"1.2.3.256", "not an IPv4 address"},
      {"1.2.3.4.5", "not an IPv4 address"},
      {"01.2.3.4", "not an IPv4 address"},
      {"::g", "not an IPv6 address"},
      {"1::2::3", "not an IPv6 address"},
      {"[::1]", "no brackets"},
      {"fe80::1%eth0", "zone"},
      {" 10.0.0.1", "spaces"},
      {"10.0.0.1 ", "spaces"},
      {"10.0.0.1/8", "not an IPv4 address"},
      {"host.example", "not an IPv4 address"},
  };
  for (const auto& c : cases) {
    auto a = parseAddress(c.text);
    EXPECT_ERROR(a, Errc::kInvalidArgument);
    EXPECT_NE(a.error().message().find(c.says), std::string::npos)
        << "'" << c.text << "' -> " << a.error().message();
  }
  // An embedded NUL must not cut the text short.
  EXPECT_ERROR(parseAddress(std::string_view("10.0.0.1\0x", 10)), Errc::kInvalidArgument);
}

TEST(PrefixTest, ParsesAndFormats) {
  struct Case {
    const char* text;
    const char* shown;
    unsigned bits;  // in the mapped space
  };
  const Case cases[] = {
      {"192.0.2.0/24", "192.0.2.0/24", 120},
      {"10.0.0.0/8", "10.0.0.0/8", 104},
      {"0.0.0.0/0", "0.0.0.0/0", 96},
      {"192.0.2.1", "192.0.2.1/32", 128},
      {"192.0.2.1/32", "192.0.2.1/32", 128},
      {"2001:db8::/32", "2001:db8::/32", 32},
      {"2001:db8::1", "2001:db8::1/128", 128},
      {"::/0", "::/0", 0},
      {"::ffff:10.0.0.0/104", "10.0.0.0/8", 104},
  };
  for (const auto& c : cases) {
    auto p = parsePrefix(c.text);
    ASSERT_OK(p);
    EXPECT_EQ(p->str(), c.shown) << c.text;
    EXPECT_EQ(p->bits, c.bits) << c.text;
    EXPECT_EQ(p->lpmKey().prefixlen, c.bits) << c.text;
    EXPECT_EQ(std::memcmp(p->lpmKey().addr.b, p->addr.raw.b, 16), 0) << c.text;
    auto again = parsePrefix(p->str());
    ASSERT_OK(again);
    EXPECT_EQ(*again, *p) << "round trip of " << c.text;
  }
}

TEST(PrefixTest, HostBitsSuggestTheNetwork) {
  auto p = parsePrefix("192.0.2.1/24");
  EXPECT_ERROR(p, Errc::kInvalidArgument);
  EXPECT_EQ(p.error().message(), "192.0.2.1/24 has host bits set; did you mean 192.0.2.0/24?");
  auto q = parsePrefix("2001:db8::1/32");
  EXPECT_ERROR(q, Errc::kInvalidArgument);
  EXPECT_EQ(q.error().message(), "2001:db8::1/32 has host bits set; did you mean 2001:db8::/32?");
}

TEST(PrefixTest, RejectsBadInputWithReason) {
  struct Case {
    const char* text;
    const char* says;
  };
  const Case cases[] = {
      {"", "empty prefix"},
      {"10.0.0.0/33", "prefix length 33 in '10.0.0.0/33' is out of range for IPv4 (0..32)"},
      {"2001:db8::/129", "out of range for IPv6 (0..128)"},
      {"10.0.0.0/", "missing prefix length after '/'"},
      {"/8", "missing address before '/'"},
      {"10.0.0.0/8/8", "is not a number"},
      {"10.0.0.0/-1", "is not a number"},
      {"10.0.0.0/+8", "is not a number"},
      {"10.0.0.0/1000", "is not a number"},
      {"10.0.0.0/ 8", "is not a number"},
      {" 10.0.0.0/8", "spaces"},
      {"1.2.3/8", "not an IPv4 address"},
      {"::g/64", "not an IPv6 address"},
  };
  for (const auto& c : cases) {
    auto p = parsePrefix(c.text);
    EXPECT_ERROR(p, Errc::kInvalidArgument);
    EXPECT_NE(p.error().message().find(c.says), std::string::npos)
        << "'" << c.text << "' -> " << p.error().message();
  }
}

TEST(PrefixTest, Contains) {
  struct Case {
    const char* prefix;
    const char* addr;
    bool inside;
  };
  const Case cases[] = {
      {"10.0.0.0/8", "10.255.1.2", true},
      {"10.0.0.0/8", "11.0.0.0", false},
      {"192.0.2.0/25", "192.0.2.127", true},
      {"192.0.2.0/25", "192.0.2.128", false},
      {"0.0.0.0/0", "203.0.113.9", true},
      {"0.0.0.0/0", "2001:db8::1", false},
      {"2001:db8::/32", "2001:db8:ffff::1", true},
      {"2001:db8::/32", "2001:db9::", false},
      {"::/0", "10.0.0.1", true},
      {"192.0.2.1", "192.0.2.1", true},
      {"192.0.2.1", "192.0.2.2", false},
      {"2001:db8::/33", "2001:db8:8000::", false},
  };
  for (const auto& c : cases) {
    auto p = parsePrefix(c.prefix);
    auto a = parseAddress(c.addr);
    ASSERT_OK(p);
    ASSERT_OK(a);
    EXPECT_EQ(p->contains(*a), c.inside) << c.prefix << " contains " << c.addr;
  }
}

TEST(SourceKeyTest, MasksIpv6OnlyAsTheKernelDoes) {
  struct Case {
    const char* addr;
    uint8_t len;
    const char* key;
    const char* shown;
  };
  const Case cases[] = {
      {"192.0.2.77", 64, "192.0.2.77", "192.0.2.77"},
      {"192.0.2.77", 1, "192.0.2.77", "192.0.2.77"},
      {"2001:db8:1:2:3:4:5:6", 64, "2001:db8:1:2::", "2001:db8:1:2::/64"},
      {"2001:db8:1:2:3:4:5:6", 48, "2001:db8:1::", "2001:db8:1::/48"},
      {"2001:db8:1:2:3:4:5:6", 60, "2001:db8:1::", "2001:db8:1::/60"},
      {"2001:db8:1:ff:3:4:5:6", 60, "2001:db8:1:f0::", "2001:db8:1:f0::/60"},
      {"2001:db8:1:2:3:4:5:6", 128, "2001:db8:1:2:3:4:5:6", "2001:db8:1:2:3:4:5:6"},
  };
  for (const auto& c : cases) {
    auto a = parseAddress(c.addr);
    ASSERT_OK(a);
    const Address key = sourceKey(*a, c.len);
    EXPECT_EQ(key.str(), c.key) << c.addr << "/" << int(c.len);
    EXPECT_EQ(formatSource(key, c.len), c.shown) << c.addr << "/" << int(c.len);
  }
}

}  // namespace
}  // namespace sg
