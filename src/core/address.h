// Addresses and prefixes as syn-guard keeps them: 16 bytes, IPv4 mapped
// (::ffff:a.b.c.d), the same layout as the kernel's struct sg_addr.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.h"
#include "sg_shared.h"

namespace sg {

struct Address {
  sg_addr raw{};

  bool isV4() const;  // ::ffff:0:0/96
  // "192.0.2.1" or "2001:db8::1".
  std::string str() const;
  friend bool operator==(const Address& a, const Address& b);
};

// Parses "192.0.2.1" or "2001:db8::1" (no brackets, no zone). Error says why.
Result<Address> parseAddress(std::string_view text);

// A prefix over the 128-bit (mapped) space: an IPv4 a.b.c.d/n has bits 96+n.
struct Prefix {
  Address addr;      // host bits zeroed
  uint8_t bits = 0;  // 0..128 in the mapped space

  bool contains(const Address& a) const;
  // "192.0.2.0/24" or "2001:db8::/32" (IPv4 written with its own length).
  std::string str() const;
  sg_lpm_key lpmKey() const;
  friend bool operator==(const Prefix& a, const Prefix& b);
};

// Parses "192.0.2.0/24", "2001:db8::/32", or a bare address (/32, /128).
// Host bits must be zero ("192.0.2.1/24" is an error that says so).
Result<Prefix> parsePrefix(std::string_view text);

// The key a source is counted under: IPv4 as is, IPv6 masked to v6_prefix_len.
Address sourceKey(const Address& a, uint8_t v6_prefix_len);
// How a counted source is shown: "192.0.2.1", or "2001:db8:1:2::/64" for an
// IPv6 key counted per prefix (plain address when v6_prefix_len is 128).
std::string formatSource(const Address& key, uint8_t v6_prefix_len);

}  // namespace sg
