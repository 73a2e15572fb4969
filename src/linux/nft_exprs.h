// The libnftnl expressions of both rulesets built over netlink (NftEnforcer's
// table, nft_enforcer_rules.cpp; the isolation table, isolation_rules.cpp), as
// nft compiles its text (`nft --debug=netlink`): a load into register 1, an
// optional mask, a compare, a verdict. Each returns a new expression for
// nftnl_rule_add_expr(), which takes it over.
#pragma once

#include <array>
#include <cstdint>

struct nftnl_expr;  // libnftnl/expr.h

namespace sg::nft_expr {

// Loads meta `key` (NFT_META_*) into register 1.
nftnl_expr* meta(uint32_t key);

// Compares register 1 with the `len` bytes at `data` (op: NFT_CMP_*).
nftnl_expr* cmp(uint32_t op, const void* data, uint32_t len);

// Loads the `len` bytes at `offset` of header `base` (NFT_PAYLOAD_*) into
// register 1.
nftnl_expr* payload(uint32_t base, uint32_t offset, uint32_t len);

// Masks the first `len` bytes of register 1 with `bits`.
nftnl_expr* mask(const uint8_t* bits, uint32_t len);

// The verdict `code` (NF_ACCEPT, NF_DROP, NFT_JUMP...), to `chain` for a jump.
nftnl_expr* verdict(int code, const char* chain = nullptr);

// The mask of an address prefix's first `bits` bits (at most 128).
std::array<uint8_t, 16> prefixMask(unsigned bits);

}  // namespace sg::nft_expr
