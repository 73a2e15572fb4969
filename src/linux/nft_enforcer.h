// NftEnforcer: holds blocks in an nftables table of its own (family inet):
//
//   table inet <name> {
//     set blocked_v4 { type ipv4_addr; flags timeout; }
//     set blocked_v6 { type ipv6_addr; flags interval, timeout; }  # prefixes
//     chain prerouting {
//       type filter hook prerouting priority raw; policy accept;
//       ip saddr @blocked_v4 counter drop
//       ip6 saddr @blocked_v6 counter drop
//     }
//   }
//
// The chain sits at priority raw (-300), before conntrack, so a blocked
// source costs no conntrack entry. Every element carries a kernel timeout: a
// crashed agent leaves at most the table behind (create() replaces a stale
// one), never a permanent block.
//
// Table creation, listing and removal go through libnftables (one nft_ctx
// kept for the object's lifetime); block()/unblock() send set-element
// batches over netlink directly (nft_enforcer_netlink.h): libnftables' text
// path reads the whole set back on every command, so it slows down as blocks
// accumulate (figures in nft_enforcer_netlink.h).
// Not thread-safe: one owner thread, like the agent's event loop.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/enforcer.h"

struct nft_ctx;

namespace sg {
class NftNetlink;
}

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

  // Creates the table, sets and chain in one transaction. A table of the same
  // name left by a crashed run is replaced in that same transaction, and
  // removedStaleTable() says so. Errors: an invalid name (kInvalidArgument);
  // no CAP_NET_ADMIN (kPermissionDenied); anything libnftables reports (kIo).
  static Result<std::unique_ptr<NftEnforcer>> create(const std::string& table = kDefaultTable);

  NftEnforcer(const NftEnforcer&) = delete;
  NftEnforcer& operator=(const NftEnforcer&) = delete;
  // Deletes the table unless remove() already did (errors are dropped here).
  ~NftEnforcer() override;

  const char* name() const override { return "nftables"; }
  // Adds the element with `timeout <ttl>ms` (ttl rounded up to whole ms), or
  // refreshes an existing one to the new timeout. IPv4 keys ignore v6_prefix;
  // an IPv6 key must have no bits set past v6_prefix (1..128).
  Result<void> block(const BlockSpec& spec) override;
  // Removes the element; an absent one is not an error.
  Result<void> unblock(const Address& key, uint8_t v6_prefix) override;

  // Both sets' elements (expired ones are not listed by the kernel).
  Result<std::vector<NftBlock>> listBlocked();
  // `nft list table inet <name>` as text, for tests and diagnostics.
  Result<std::string> listTable();
  // Deletes the table now; afterwards every call fails and the destructor does nothing.
  Result<void> remove();

  const std::string& table() const { return table_; }
  bool removedStaleTable() const { return removed_stale_; }

 private:
  NftEnforcer(nft_ctx* ctx, std::string table);
  // Runs an nft script; its output, or an error with libnftables' text.
  Result<std::string> run(const std::string& script, bool json = false);

  nft_ctx* ctx_;                    // table-level commands and listing
  std::unique_ptr<NftNetlink> nl_;  // element changes (block/unblock)
  std::string table_;
  bool removed_stale_ = false;
  bool removed_ = false;
};

// A table name nft accepts and that cannot change the meaning of a script:
// [A-Za-z][A-Za-z0-9_]*, at most 255 characters.
Result<void> checkNftTableName(const std::string& table);

// The element text for a block key: "192.0.2.1" or "2001:db8:1:2::/64"; an
// error when IPv6 host bits past `v6_prefix` are set or v6_prefix is 0 or > 128.
Result<std::string> nftElementText(const Address& key, uint8_t v6_prefix);

struct NftElemOp;
// The netlink element for a key (validated as nftElementText does).
Result<NftElemOp> nftElemOp(const Address& key, uint8_t v6_prefix);

// Parses the output of `nft -j list set ...` (one or more sets) into blocks.
Result<std::vector<NftBlock>> parseNftSetJson(const std::string& json);

}  // namespace sg
