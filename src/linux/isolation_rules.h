// The isolation table's contents as netlink messages (libnftnl), sent by
// NftNetlink. While isolated, `inet <table>` holds (the text nft would show):
//
//   chain allowed_src {                  # one rule per console address / allow prefix
//     ip saddr 192.0.2.10 accept
//     ip6 saddr 2001:db8:1::/48 accept
//   }
//   chain allowed_dst { ip daddr 192.0.2.10 accept; ... }
//   chain input {
//     type filter hook input priority filter; policy drop;
//     iif "lo" accept
//     jump allowed_src
//     icmpv6 type 130-136 accept         # MLD, router and neighbour discovery
//     icmpv6 type 143 accept             # MLDv2 reports
//     icmpv6 type packet-too-big accept  # path MTU towards the console
//     icmp type 3 code 4 accept          # fragmentation needed (same)
//     udp sport 67 udp dport 68 accept   # DHCPv4 replies
//     udp sport 547 udp dport 546 accept # DHCPv6 replies
//   }
//   chain output {
//     type filter hook output priority filter; policy drop;
//     oif "lo" accept
//     jump allowed_dst
//     icmpv6 type 130-136 accept ; icmpv6 type 143 accept
//     udp sport 68 udp dport 67 accept ; udp sport 546 udp dport 547 accept
//   }
//   chain forward { type filter hook forward priority filter; policy drop; }
//
// ARP is not filtered (the inet family never sees it), so IPv4 neighbours
// keep resolving. While not isolated the table is empty.
#pragma once

#include <vector>

#include "core/isolation.h"
#include "linux/nft_enforcer_netlink.h"

namespace sg {

// The chains and rules above for `spec`, to follow the table's NEWTABLE in
// one transaction. `spec` must be valid (validateIsolationSpec).
std::vector<NftMsg> isolationChainMsgs(const std::string& table, const IsolationSpec& spec);

}  // namespace sg
