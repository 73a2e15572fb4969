// NftEnforcer: holds blocks in an nftables table of its own (family inet):
//
//   table inet <name> {          # flags owner; comment "syn-guard pid <pid>"
//     counter dropped { }
//     set blocked_v4 { type ipv4_addr; flags timeout; }
//     set blocked_v6_64 { type ipv6_addr; flags timeout; }  # keys masked to /64
//     set blocked_v4_24 { type ipv4_addr; flags timeout; }  # prefix blocks /24 (on first use)
//     chain prerouting {
//       type filter hook prerouting priority raw; policy accept;
//       ip saddr @blocked_v4 counter name "dropped" drop
//       ip6 saddr & ffff:ffff:ffff:ffff:: @blocked_v6_64 counter name "dropped" drop
//       ip saddr & 255.255.255.0 @blocked_v4_24 counter name "dropped" drop
//     }
//   }
//
// IPv6 blocks go into plain hash sets of masked keys, one set (and rule) per
// prefix length in use: the counting prefix's set is made at start, a manual
// block of another length adds its set on first use (at most 128 rules, each
// one hash lookup). An interval set would cost milliseconds per insert at tens
// of thousands of elements; a hash set costs what an IPv4 block does (see
// bench/nft_latency_bench). Prefixes of different lengths may overlap: each
// set drops what it holds. Prefix blocks (blockPrefix: the console's Block
// Globally of a prefix) go the same way: an IPv6 /32 into blocked_v6_32, an
// IPv4 /24 into blocked_v4_24 (one set and rule per length in use). Not an
// interval set: it refuses overlapping elements (10.0.0.0/8 beside
// 10.1.0.0/16, both legitimately blocked), and inserts cost more as it grows.
//
// The chain sits at priority raw (-300), before conntrack, so a blocked
// source costs no conntrack entry. Every element carries a kernel timeout.
// The table is owned by the enforcer's netlink socket (NFT_TABLE_F_OWNER,
// Linux 5.12+): nobody else can change or delete it, and the kernel deletes
// it when the socket closes, however the agent ends. So two agents on one
// host need two table names (config `nft_table`); create() refuses a name a
// live agent holds instead of taking its table over. On kernels without
// table ownership the comment's pid tells a live holder from a leftover.
//
// All changes go over netlink (nft_enforcer_netlink.h); libnftables is used
// only to list the table and its sets (tests, diagnostics).
// Not thread-safe: one owner thread, like the agent's event loop.
#pragma once

#include <bitset>
#include <memory>
#include <string>
#include <vector>

#include "core/enforcer.h"

struct nft_ctx;

namespace sg {
class NftNetlink;
struct NftElemOp;
}  // namespace sg

namespace sg {

// One element of the block sets, as listBlocked() reports it.
struct NftBlock {
  Address key;             // IPv4 address or the IPv6 prefix's first address
  uint8_t prefix_len = 0;  // 32 for IPv4; the IPv6 prefix length (128 = one address)
  // Whole seconds, as `nft -j` reports them (truncated, not rounded).
  Nanos timeout{};
  Nanos expires{};
  std::string str() const;  // "192.0.2.1" or "2001:db8:1:2::/64"
};

class NftEnforcer final : public Enforcer {
 public:
  static constexpr const char* kDefaultTable = "syn_guard";

  // Creates the table, its counting-prefix set and chain in one transaction.
  // A table of the same name held by a live process (owned, or on older
  // kernels annotated with a live agent's pid) is refused (kAlreadyExists,
  // naming the holder); one left without an owner (a run of an older version,
  // or made by hand) is replaced in the same transaction, and
  // removedStaleTable() says so. Errors: an invalid name or prefix
  // (kInvalidArgument); no CAP_NET_ADMIN (kPermissionDenied); kIo otherwise.
  static Result<std::unique_ptr<NftEnforcer>> create(const std::string& table = kDefaultTable,
                                                     uint8_t v6_prefix = 64);

  NftEnforcer(const NftEnforcer&) = delete;
  NftEnforcer& operator=(const NftEnforcer&) = delete;
  // Deletes the table unless remove() already did. An error here needs no
  // report: closing the owning socket right after deletes the table anyway.
  ~NftEnforcer() override;

  const char* name() const override { return "nftables"; }
  // Adds the element with `timeout <ttl>ms` (ttl rounded up to whole ms), or
  // refreshes an existing one to the new timeout. IPv4 keys ignore v6_prefix;
  // an IPv6 key must have no bits set past v6_prefix (1..128); its set is
  // made on the first block of that length.
  Result<void> block(const BlockSpec& spec) override;
  // Removes the element; an absent one is not an error.
  Result<void> unblock(const Address& key, uint8_t v6_prefix) override;
  // A prefix block: IPv4 /1../31 into blocked_v4_<len>, IPv6 /1../127 into
  // blocked_v6_<len> (host bits must be clear); its set is made on first use.
  Result<void> blockPrefix(const Prefix& prefix, Nanos ttl) override;
  Result<void> unblockPrefix(const Prefix& prefix) override;

  // Packets the table's drop rules dropped since create() (the named counter
  // "dropped"): the drops after the hand-off, which the XDP program never sees.
  Result<uint64_t> droppedPackets() override;
  // Every set's elements (expired ones are not listed by the kernel).
  Result<std::vector<NftBlock>> listBlocked();
  // `nft list table inet <name>` as text, for tests and diagnostics.
  Result<std::string> listTable();
  // Deletes the table now; afterwards every call fails and the destructor does nothing.
  Result<void> remove();

  const std::string& table() const { return table_; }
  bool removedStaleTable() const { return removed_stale_; }
  // False on kernels without NFT_TABLE_F_OWNER (the pid comment guards then).
  bool ownsTable() const { return owned_; }

 private:
  NftEnforcer(nft_ctx* ctx, std::string table);
  Result<void> makeTable(uint8_t v6_prefix, bool stale);
  // Runs an nft script; its output, or an error with libnftables' text.
  Result<std::string> run(const std::string& script, bool json = false);

  nft_ctx* ctx_;                    // listing only
  std::unique_ptr<NftNetlink> nl_;  // every change; owns the table
  std::string table_;
  // The element op of a prefix block, validated (IPv4 /1../31, IPv6 /1../127).
  static Result<NftElemOp> prefixOp(const Prefix& prefix);
  Result<void> commitElem(NftElemOp op, bool add, const std::string& what);

  std::bitset<129> v6_sets_;  // prefix lengths whose set and rule exist
  std::bitset<33> v4_sets_;   // IPv4 prefix-block lengths whose set and rule exist
  bool removed_stale_ = false;
  bool removed_ = false;
  bool owned_ = false;
};

// The element text for a block key: "192.0.2.1" or "2001:db8:1:2::/64"; an
// error when IPv6 host bits past `v6_prefix` are set or v6_prefix is 0 or > 128.
Result<std::string> nftElementText(const Address& key, uint8_t v6_prefix);

struct NftElemOp;
// The netlink element for a key (validated as nftElementText does): the
// IPv4 set, or the set of IPv6 keys masked to /v6_prefix.
Result<NftElemOp> nftElemOp(const Address& key, uint8_t v6_prefix);

// Parses the output of `nft -j list set ...` (one or more sets) into blocks;
// a plain address in set blocked_v6_<n> is a /n prefix.
Result<std::vector<NftBlock>> parseNftSetJson(const std::string& json);

}  // namespace sg
