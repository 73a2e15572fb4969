#include "core/address.h"

#ifdef _WIN32
#include <ws2tcpip.h>
#else
#include <arpa/inet.h>
#endif

#include <algorithm>
#include <cstring>

#include "sg_parse.h"

namespace sg {
namespace {

constexpr uint8_t kV4MappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
constexpr unsigned kV4Offset = 96;  // bits of the ::ffff:0:0/96 prefix

std::string quoted(std::string_view text) { return "'" + std::string(text) + "'"; }

bool hasSpace(std::string_view text) {
  return std::any_of(text.begin(), text.end(), [](char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
  });
}

// Zeroes every bit of `a` past the first `bits`.
void maskTo(sg_addr& a, unsigned bits) {
  for (unsigned i = 0; i < 16; i++) {
    const int left = static_cast<int>(bits) - static_cast<int>(i * 8);
    if (left <= 0) {
      a.b[i] = 0;
    } else if (left < 8) {
      a.b[i] &= static_cast<uint8_t>(0xff << (8 - left));
    }
  }
}

// A prefix whose address lies in ::ffff:0:0/96 and covers at least that /96
// is written the IPv4 way.
bool showsAsV4(const Prefix& p) { return p.addr.isV4() && p.bits >= kV4Offset; }

Result<unsigned> parseLength(std::string_view digits, std::string_view whole) {
  if (digits.empty()) {
    return makeError(Errc::kInvalidArgument, "missing prefix length after '/' in " + quoted(whole));
  }
  if (digits.size() > 3 ||
      !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return makeError(Errc::kInvalidArgument, "prefix length " + quoted(digits) + " in " +
                                                 quoted(whole) + " is not a number");
  }
  unsigned n = 0;
  for (char c : digits) n = n * 10 + static_cast<unsigned>(c - '0');
  return n;
}

}  // namespace

bool Address::isV4() const { return std::memcmp(raw.b, kV4MappedPrefix, 12) == 0; }

std::string Address::str() const {
  char buf[INET6_ADDRSTRLEN] = {};
  const char* out = isV4() ? inet_ntop(AF_INET, raw.b + 12, buf, sizeof(buf))
                           : inet_ntop(AF_INET6, raw.b, buf, sizeof(buf));
  // inet_ntop fails only on a too-small buffer: a broken invariant here.
  if (out == nullptr) std::abort();
  return buf;
}

bool operator==(const Address& a, const Address& b) {
  return std::memcmp(a.raw.b, b.raw.b, sizeof(a.raw.b)) == 0;
}

Result<Address> parseAddress(std::string_view text) {
  if (text.empty()) return makeError(Errc::kInvalidArgument, "empty address");
  if (hasSpace(text)) {
    return makeError(Errc::kInvalidArgument,
                     "address " + quoted(text) + " contains spaces (remove them)");
  }
  if (text.find('\0') != std::string_view::npos || text.size() >= INET6_ADDRSTRLEN + 8) {
    return makeError(Errc::kInvalidArgument, "address " + quoted(text) + " is not an IP address");
  }
  const std::string s(text);
  Address a;
  if (s.find(':') == std::string::npos) {
    std::memcpy(a.raw.b, kV4MappedPrefix, 12);
    if (inet_pton(AF_INET, s.c_str(), a.raw.b + 12) != 1) {
      return makeError(Errc::kInvalidArgument,
                       quoted(text) + " is not an IPv4 address (expected a.b.c.d, each 0..255)");
    }
    return a;
  }
  if (s.front() == '[' || s.find('%') != std::string::npos) {
    return makeError(Errc::kInvalidArgument,
                     quoted(text) + " is not an IPv6 address (no brackets or zone index here)");
  }
  if (inet_pton(AF_INET6, s.c_str(), a.raw.b) != 1) {
    return makeError(Errc::kInvalidArgument, quoted(text) + " is not an IPv6 address");
  }
  return a;
}

bool Prefix::contains(const Address& a) const {
  sg_addr masked = a.raw;
  maskTo(masked, bits);
  return std::memcmp(masked.b, addr.raw.b, sizeof(masked.b)) == 0;
}

std::string Prefix::str() const {
  const unsigned len = showsAsV4(*this) ? bits - kV4Offset : bits;
  return addr.str() + "/" + std::to_string(len);
}

sg_lpm_key Prefix::lpmKey() const {
  sg_lpm_key key{};
  key.prefixlen = bits;
  key.addr = addr.raw;
  return key;
}

bool operator==(const Prefix& a, const Prefix& b) { return a.bits == b.bits && a.addr == b.addr; }

Result<Prefix> parsePrefix(std::string_view text) {
  if (text.empty()) return makeError(Errc::kInvalidArgument, "empty prefix");
  const size_t slash = text.find('/');
  const std::string_view addr_text = text.substr(0, slash);
  if (slash == 0) {
    return makeError(Errc::kInvalidArgument, "missing address before '/' in " + quoted(text));
  }
  auto addr = parseAddress(addr_text);
  if (!addr.ok()) return addr.error().context("prefix " + quoted(text));
  // An address written in IPv4 notation takes an IPv4 length; any other
  // (including ::ffff:a.b.c.d) takes a length over all 128 bits.
  const bool v4_text = addr_text.find(':') == std::string_view::npos;
  const unsigned max_len = v4_text ? 32 : 128;
  unsigned len = max_len;
  if (slash != std::string_view::npos) {
    auto parsed = parseLength(text.substr(slash + 1), text);
    if (!parsed.ok()) return parsed.error();
    len = *parsed;
    if (len > max_len) {
      return makeError(Errc::kInvalidArgument, "prefix length " + std::to_string(len) + " in " +
                                                   quoted(text) + " is out of range for " +
                                                   (v4_text ? "IPv4" : "IPv6") + " (0.." +
                                                   std::to_string(max_len) + ")");
    }
  }
  Prefix p;
  p.addr = *addr;
  p.bits = static_cast<uint8_t>(v4_text ? kV4Offset + len : len);
  maskTo(p.addr.raw, p.bits);
  if (!(p.addr == *addr)) {
    return makeError(Errc::kInvalidArgument,
                     std::string(text) + " has host bits set; did you mean " + p.str() + "?");
  }
  return p;
}

Address sourceKey(const Address& a, uint8_t v6_prefix_len) {
  Address key = a;
  sg_mask_source(&key.raw, a.isV4() ? 4 : 6, v6_prefix_len);
  return key;
}

std::string formatSource(const Address& key, uint8_t v6_prefix_len) {
  if (key.isV4() || v6_prefix_len >= 128) return key.str();
  return key.str() + "/" + std::to_string(v6_prefix_len);
}

}  // namespace sg
