// The netlink messages that make, query and delete NftEnforcer's table (the
// layout is in nft_enforcer.h). Built with libnftnl, sent by NftNetlink.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/result.h"
#include "linux/nft_enforcer_netlink.h"

namespace sg {

inline constexpr const char* kNftV4Set = "blocked_v4";
inline constexpr const char* kNftChain = "prerouting";
inline constexpr const char* kNftDropCounter = "dropped";  // named counter of every drop rule

// "blocked_v6_64": the hash set of IPv6 keys masked to /len.
std::string nftV6SetName(uint8_t len);
// "blocked_v4_24": the hash set of IPv4 prefix blocks of length len (1..31),
// keys masked to /len (blocked_v4 holds the addresses).
std::string nftV4SetName(uint8_t len);
// 64 for "blocked_v6_64", 24 for "blocked_v4_24", 32 for "blocked_v4", 0 for
// any other name.
uint8_t nftSetPrefixLen(const std::string& set_name);

// "syn-guard pid 1234": the comment an agent writes on its table.
std::string nftOwnerComment(int pid);
// The pid in such a comment; 0 when the comment is not one.
int nftCommentPid(const std::string& comment);

// What the kernel says about a table.
struct NftTableInfo {
  uint32_t flags = 0;
  bool has_owner = false;  // NFT_TABLE_F_OWNER: held by a live netlink socket
  uint32_t owner_port = 0;
  std::string comment;
};

// New table `inet <table>` with the comment, owned by the sending socket when `owned`.
NftMsg nftNewTableMsg(const std::string& table, bool owned, const std::string& comment);
NftMsg nftDeleteTableMsg(const std::string& table);
// The named counter, the IPv4 set, the chain and its IPv4 rule.
std::vector<NftMsg> nftBaseMsgs(const std::string& table);
// The set for IPv6 keys masked to /len (1..128) and its rule.
std::vector<NftMsg> nftV6SetMsgs(const std::string& table, uint8_t len);
// The set for IPv4 prefixes of length len (1..31) and its rule:
// "ip saddr & <mask> @blocked_v4_<len> counter name dropped drop".
std::vector<NftMsg> nftV4SetMsgs(const std::string& table, uint8_t len);

NftMsg nftGetTableMsg(const std::string& table);
Result<NftTableInfo> parseNftTable(const nlmsghdr* nlh);
NftMsg nftGetCounterMsg(const std::string& table);
// The packets of the drop counter in a GETOBJ answer.
Result<uint64_t> parseNftCounterPackets(const nlmsghdr* nlh);

}  // namespace sg
