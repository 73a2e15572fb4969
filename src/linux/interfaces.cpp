#include "linux/interfaces.h"

#include <ifaddrs.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "linux/errno_text.h"

namespace sg {
namespace {

std::vector<std::string_view> fields(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) ++i;
    size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t' && line[i] != '\r') ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

// A hexadecimal field of exactly `digits` digits (0 = any length 1..8).
bool parseHex(std::string_view s, size_t digits, uint32_t* out) {
  if (s.empty() || (digits != 0 && s.size() != digits) || (digits == 0 && s.size() > 8)) {
    return false;
  }
  uint32_t v = 0;
  for (char c : s) {
    int d = (c >= '0' && c <= '9')   ? c - '0'
            : (c >= 'a' && c <= 'f') ? c - 'a' + 10
            : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                     : -1;
    if (d < 0) return false;
    v = (v << 4) | static_cast<uint32_t>(d);
  }
  *out = v;
  return true;
}

bool allZeroHex(std::string_view s, size_t digits) {
  return s.size() == digits && std::all_of(s.begin(), s.end(), [](char c) { return c == '0'; });
}

bool isHexString(std::string_view s, size_t digits) {
  uint32_t ignored = 0;
  if (s.size() != digits) return false;
  for (size_t i = 0; i < s.size(); i += 8) {
    if (!parseHex(s.substr(i, 8), 0, &ignored)) return false;
  }
  return true;
}

void addUnique(std::vector<std::string>& out, std::string_view name) {
  if (std::find(out.begin(), out.end(), name) == out.end()) out.emplace_back(name);
}

Error badLine(const char* file, size_t line_no, const std::string& why) {
  return makeError(Errc::kInvalidArgument,
                   std::string(file) + " line " + std::to_string(line_no) + ": " + why);
}

// Calls fn(fields, line_no) for each non-blank line; stops at the first error.
template <typename Fn>
Result<void> eachLine(std::string_view text, Fn fn) {
  size_t line_no = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    ++line_no;
    auto f = fields(text.substr(pos, end - pos));
    pos = end + 1;
    if (f.empty()) continue;
    SG_TRY(fn(f, line_no));
  }
  return Ok{};
}

Result<std::string> readFile(const char* path) {
  std::ifstream in(path);
  if (!in) {
    return makeError(errno == ENOENT ? Errc::kNotFound : Errc::kIo,
                     std::string("reading ") + path + ": " + errnoText(errno));
  }
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

Result<std::vector<std::string>> parseIpv4DefaultRoutes(std::string_view text) {
  // Iface Destination Gateway Flags RefCnt Use Metric Mask MTU Window IRTT
  std::vector<std::string> out;
  auto r = eachLine(text, [&](const std::vector<std::string_view>& f, size_t n) -> Result<void> {
    if (f[0] == "Iface") return Ok{};  // header
    uint32_t dest = 0, flags = 0, mask = 0;
    if (f.size() < 8) return badLine("/proc/net/route", n, "fewer than 8 fields");
    if (!parseHex(f[1], 8, &dest) || !parseHex(f[3], 0, &flags) || !parseHex(f[7], 8, &mask)) {
      return badLine("/proc/net/route", n, "destination, flags or mask is not hexadecimal");
    }
    if (dest == 0 && mask == 0 && (flags & RTF_UP) && !(flags & RTF_REJECT)) addUnique(out, f[0]);
    return Ok{};
  });
  if (!r) return r.error();
  return out;
}

Result<std::vector<std::string>> parseIpv6DefaultRoutes(std::string_view text) {
  // dest dest_len src src_len next_hop metric refcnt use flags iface
  std::vector<std::string> out;
  auto r = eachLine(text, [&](const std::vector<std::string_view>& f, size_t n) -> Result<void> {
    if (f.size() != 10) return badLine("/proc/net/ipv6_route", n, "not 10 fields");
    uint32_t dest_len = 0, flags = 0;
    if (!isHexString(f[0], 32) || !parseHex(f[1], 2, &dest_len) || !parseHex(f[8], 8, &flags)) {
      return badLine("/proc/net/ipv6_route", n,
                     "destination, prefix length or flags is not hexadecimal");
    }
    if (allZeroHex(f[0], 32) && dest_len == 0 && (flags & RTF_UP) && !(flags & RTF_REJECT)) {
      addUnique(out, f[9]);
    }
    return Ok{};
  });
  if (!r) return r.error();
  return out;
}

Result<std::vector<std::string>> defaultRouteInterfaces() {
  auto v4_text = readFile("/proc/thread-self/net/route");
  if (!v4_text && v4_text.error().code() != Errc::kNotFound) return v4_text.error();
  auto v6_text = readFile("/proc/thread-self/net/ipv6_route");
  if (!v6_text && v6_text.error().code() != Errc::kNotFound) return v6_text.error();
  std::vector<std::string> out;
  for (auto* text : {&v4_text, &v6_text}) {
    if (!*text) continue;
    auto names = text == &v4_text ? parseIpv4DefaultRoutes(**text) : parseIpv6DefaultRoutes(**text);
    if (!names) return names.error();
    for (const auto& n : *names) addUnique(out, n);
  }
  if (out.empty()) {
    return makeError(Errc::kNotFound, "no default route: name the interfaces with --interface");
  }
  return out;
}

Result<int> interfaceIndex(const std::string& name) {
  if (name.empty()) return makeError(Errc::kInvalidArgument, "empty interface name");
  if (name.size() >= IFNAMSIZ) {
    return makeError(Errc::kInvalidArgument, "interface name \"" + name + "\" is longer than " +
                                                 std::to_string(IFNAMSIZ - 1) + " characters");
  }
  unsigned idx = if_nametoindex(name.c_str());
  if (idx == 0) {
    int err = errno;
    if (err == ENODEV || err == ENXIO) {
      return makeError(Errc::kNotFound, "interface \"" + name + "\" does not exist");
    }
    return makeError(Errc::kIo, "if_nametoindex(" + name + "): " + errnoText(err));
  }
  return static_cast<int>(idx);
}

Result<std::vector<Address>> localAddresses() {
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return makeError(Errc::kIo, "getifaddrs: " + errnoText(errno));
  std::vector<Address> out;
  for (ifaddrs* i = list; i != nullptr; i = i->ifa_next) {
    if (i->ifa_addr == nullptr) continue;
    Address a;
    if (i->ifa_addr->sa_family == AF_INET) {
      const auto* sin = reinterpret_cast<const sockaddr_in*>(i->ifa_addr);
      a.raw.b[10] = 0xff;
      a.raw.b[11] = 0xff;
      std::memcpy(a.raw.b + 12, &sin->sin_addr, 4);
    } else if (i->ifa_addr->sa_family == AF_INET6) {
      const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(i->ifa_addr);
      std::memcpy(a.raw.b, &sin6->sin6_addr, 16);
    } else {
      continue;
    }
    if (std::find(out.begin(), out.end(), a) == out.end()) out.push_back(a);
  }
  freeifaddrs(list);
  return out;
}

Result<AddressWatch> AddressWatch::open() {
  const int fd = ::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
  if (fd < 0) return makeError(Errc::kIo, "rtnetlink socket: " + errnoText(errno));
  AddressWatch w(fd);
  sockaddr_nl sa{};
  sa.nl_family = AF_NETLINK;
  sa.nl_groups = RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    return makeError(Errc::kIo, "rtnetlink address groups: " + errnoText(errno));
  }
  return w;
}

AddressWatch::~AddressWatch() {
  if (fd_ >= 0) ::close(fd_);
}

Result<bool> AddressWatch::drain() {
  bool changed = false;
  char buf[8192];
  for (;;) {
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return changed;
      if (errno == EINTR) continue;
      if (errno == ENOBUFS) {  // the kernel dropped notifications: re-read anyway
        changed = true;
        continue;
      }
      return makeError(Errc::kIo, "reading rtnetlink: " + errnoText(errno));
    }
    const size_t len = static_cast<size_t>(n);
    size_t off = 0;
    while (off + sizeof(nlmsghdr) <= len) {
      nlmsghdr h{};
      std::memcpy(&h, buf + off, sizeof h);
      if (h.nlmsg_len < sizeof h || h.nlmsg_len > len - off) break;
      if (h.nlmsg_type == RTM_NEWADDR || h.nlmsg_type == RTM_DELADDR) changed = true;
      off += NLMSG_ALIGN(h.nlmsg_len);
    }
  }
}

}  // namespace sg
