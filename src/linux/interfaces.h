// The host's interfaces as the agent needs them: which ones carry the default
// routes (the ones to protect when none are named), an interface's index, and
// the host's own addresses (never blocked).
//
// The /proc parsers are pure functions over the file's text. A line that does
// not have the kernel's format is an error naming the line, not skipped: a
// changed format must not silently hide a default route. Blank lines and the
// header line of /proc/net/route are ignored.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/address.h"
#include "core/result.h"

namespace sg {

// Interfaces of the usable IPv4 default routes (destination and mask 0, flag
// RTF_UP, not RTF_REJECT) in /proc/net/route text, in file order, no duplicates.
Result<std::vector<std::string>> parseIpv4DefaultRoutes(std::string_view proc_net_route);
// The same for /proc/net/ipv6_route text (destination ::/0, RTF_UP, not
// RTF_REJECT; the kernel's unreachable ::/0 entries on lo are RTF_REJECT).
Result<std::vector<std::string>> parseIpv6DefaultRoutes(std::string_view proc_net_ipv6_route);

// The interfaces of the IPv4 and IPv6 default routes of the calling thread's
// network namespace (read from /proc/thread-self/net: /proc/self/net is the
// main thread's), IPv4 ones first, no duplicates. A missing ipv6_route
// (IPv6 disabled) counts as no IPv6 routes. Error when there are none:
// "no default route: name the interfaces with --interface".
Result<std::vector<std::string>> defaultRouteInterfaces();

// The ifindex of `name`; kNotFound when there is no such interface,
// kInvalidArgument for an empty or too long name.
Result<int> interfaceIndex(const std::string& name);

// Every IPv4 and IPv6 address configured on any interface (loopback
// included), no duplicates, in getifaddrs order.
Result<std::vector<Address>> localAddresses();

// Address change notifications of the calling thread's network namespace
// (rtnetlink groups RTMGRP_IPV4_IFADDR and RTMGRP_IPV6_IFADDR): fd() becomes
// readable when an address is added or removed.
class AddressWatch {
 public:
  static Result<AddressWatch> open();
  AddressWatch(AddressWatch&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  AddressWatch& operator=(AddressWatch&&) = delete;
  AddressWatch(const AddressWatch&) = delete;
  ~AddressWatch();
  int fd() const { return fd_; }
  // Reads every waiting notification without blocking; true when one was an
  // address change, or when notifications were lost (ENOBUFS).
  Result<bool> drain();

 private:
  explicit AddressWatch(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace sg
