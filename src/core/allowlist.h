// The allowlist the kernel gets. The XDP program looks the *counted key* up
// (an IPv4 address, or an IPv6 source masked to --ipv6-prefix), so an IPv6
// entry longer than the counting prefix could never match; it is widened to
// the counting prefix instead — the whole prefix that would be blocked is
// exempt, which is the only way to be sure the entry is never blocked.
// Entries inside ::/64 (loopback, IPv4-mapped space) are never widened: that
// would exempt all of IPv4; the masked loopback key (::/128) is added instead.
#pragma once

#include <vector>

#include "core/address.h"

namespace sg {

// Loopback (127.0.0.0/8, ::1, and ::/128, the masked key of ::1).
std::vector<Prefix> loopbackPrefixes();

// config + implicit entries, widened as above, deduplicated.
std::vector<Prefix> effectiveAllowlist(const std::vector<Prefix>& entries, uint8_t v6_prefix);

}  // namespace sg
