// Who holds an nftables table: shared by NftEnforcer and the isolation
// table, which both keep a table of their own owned by their netlink socket
// (NFT_TABLE_F_OWNER) and refuse a name another live process holds.
#pragma once

#include <optional>
#include <string>

#include "core/result.h"
#include "linux/nft_enforcer_rules.h"

namespace sg {

class NftNetlink;

// What the kernel knows of `inet <table>`; nullopt when there is none.
Result<std::optional<NftTableInfo>> queryNftTable(NftNetlink& nl, const std::string& table);

// True when a live process holds the table: an owning socket, or (kernels
// without table ownership) a comment naming a live process of this program.
bool nftTableHeld(const NftTableInfo& t);

// kAlreadyExists naming the holder; `hint` says how to pick another name.
Error nftTableHeldError(const std::string& table, const NftTableInfo& t, const std::string& hint);

}  // namespace sg
