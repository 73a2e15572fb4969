// The isolation ruleset (isolation_rules.h) as libnftnl objects. Each match
// is what nft compiles for its text (`nft --debug=netlink`): a load into
// register 1 (meta or payload), an optional mask, a compare (nft_exprs.h).
#include "linux/isolation_rules.h"

#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter_ipv4.h>
#include <linux/netlink.h>

#include <array>
#include <cstring>
#include <functional>

#include "linux/nft_exprs.h"

namespace sg {
namespace {

constexpr const char* kAllowedSrc = "allowed_src";
constexpr const char* kAllowedDst = "allowed_dst";
constexpr uint32_t kLoopbackIfindex = 1;  // "lo" is ifindex 1 in every namespace

using Exprs = std::vector<std::function<nftnl_expr*()>>;
using nft_expr::cmp;
using nft_expr::mask;
using nft_expr::meta;
using nft_expr::payload;
using nft_expr::verdict;

// "meta <key> == value" for a 1-byte key (nfproto, l4proto).
Exprs metaIs(uint32_t key, uint8_t value) {
  return {[=] { return meta(key); }, [=] { return cmp(NFT_CMP_EQ, &value, 1); }};
}

// The transport header's first `len` bytes equal `bytes` (ports, ICMP type/code).
Exprs transportIs(uint8_t l4proto, std::vector<uint8_t> bytes) {
  Exprs x = metaIs(NFT_META_L4PROTO, l4proto);
  auto len = static_cast<uint32_t>(bytes.size());
  x.push_back([=] { return payload(NFT_PAYLOAD_TRANSPORT_HEADER, 0, len); });
  x.push_back([=] { return cmp(NFT_CMP_EQ, bytes.data(), len); });
  return x;
}

// "udp sport S udp dport D"
Exprs udpPorts(uint16_t sport, uint16_t dport) {
  return transportIs(IPPROTO_UDP, {static_cast<uint8_t>(sport >> 8), static_cast<uint8_t>(sport),
                                   static_cast<uint8_t>(dport >> 8), static_cast<uint8_t>(dport)});
}

// "icmpv6 type lo-hi", or "icmpv6 type lo"
Exprs icmpv6Types(uint8_t lo, uint8_t hi) {
  Exprs x = metaIs(NFT_META_L4PROTO, IPPROTO_ICMPV6);
  x.push_back([] { return payload(NFT_PAYLOAD_TRANSPORT_HEADER, 0, 1); });
  if (lo == hi) {
    x.push_back([=] { return cmp(NFT_CMP_EQ, &lo, 1); });
  } else {
    x.push_back([=] { return cmp(NFT_CMP_GTE, &lo, 1); });
    x.push_back([=] { return cmp(NFT_CMP_LTE, &hi, 1); });
  }
  return x;
}

// "ip saddr P" / "ip6 daddr P"...: IPv4 when the prefix is in the mapped space.
Exprs addressIn(const Prefix& p, bool source) {
  const bool v4 = p.addr.isV4() && p.bits >= 96;
  const uint32_t len = v4 ? 4 : 16;
  const uint32_t bits = v4 ? p.bits - 96u : p.bits;
  const uint32_t offset = v4 ? (source ? 12 : 16) : (source ? 8 : 24);
  std::array<uint8_t, 16> value{};
  std::memcpy(value.data(), p.addr.raw.b + (v4 ? 12 : 0), len);
  const std::array<uint8_t, 16> bitmask = nft_expr::prefixMask(bits);
  Exprs x = metaIs(NFT_META_NFPROTO, v4 ? NFPROTO_IPV4 : NFPROTO_IPV6);
  x.push_back([=] { return payload(NFT_PAYLOAD_NETWORK_HEADER, offset, len); });
  if (bits < len * 8) x.push_back([=] { return mask(bitmask.data(), len); });
  x.push_back([=] { return cmp(NFT_CMP_EQ, value.data(), len); });
  return x;
}

Exprs interfaceIs(uint32_t meta_key, uint32_t ifindex) {
  return {[=] { return meta(meta_key); }, [=] { return cmp(NFT_CMP_EQ, &ifindex, 4); }};
}

NftMsg ruleMsg(const std::string& table, const std::string& chain, Exprs match, int code,
               const char* target = nullptr) {
  NftMsg m{NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND, {}};
  m.payload = [=](nlmsghdr* nlh) {
    nftnl_rule* r = nftnl_rule_alloc();
    nftnl_rule_set_str(r, NFTNL_RULE_TABLE, table.c_str());
    nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain.c_str());
    nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, NFPROTO_INET);
    for (const auto& make : match) nftnl_rule_add_expr(r, make());
    nftnl_rule_add_expr(r, verdict(code, target));
    nftnl_rule_nlmsg_build_payload(nlh, r);
    nftnl_rule_free(r);
  };
  return m;
}

NftMsg accept(const std::string& table, const std::string& chain, Exprs match) {
  return ruleMsg(table, chain, std::move(match), NF_ACCEPT);
}

// A regular chain, or (hook >= 0) a base filter chain with policy drop.
NftMsg chainMsg(const std::string& table, const std::string& name, int hook) {
  NftMsg m{NFT_MSG_NEWCHAIN, NLM_F_CREATE, {}};
  m.payload = [=](nlmsghdr* nlh) {
    nftnl_chain* c = nftnl_chain_alloc();
    nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, table.c_str());
    nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, name.c_str());
    nftnl_chain_set_u32(c, NFTNL_CHAIN_FAMILY, NFPROTO_INET);
    if (hook >= 0) {
      nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, "filter");
      nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, static_cast<uint32_t>(hook));
      nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, NF_IP_PRI_FILTER);
      nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, NF_DROP);
    }
    nftnl_chain_nlmsg_build_payload(nlh, c);
    nftnl_chain_free(c);
  };
  return m;
}

}  // namespace

std::vector<NftMsg> isolationChainMsgs(const std::string& table, const IsolationSpec& spec) {
  std::vector<Prefix> peers;
  for (const Address& a : spec.console) peers.push_back(Prefix{a, 128});
  peers.insert(peers.end(), spec.allow.begin(), spec.allow.end());

  std::vector<NftMsg> m;
  m.push_back(chainMsg(table, kAllowedSrc, -1));
  m.push_back(chainMsg(table, kAllowedDst, -1));
  for (const Prefix& p : peers) {
    m.push_back(accept(table, kAllowedSrc, addressIn(p, /*source=*/true)));
    m.push_back(accept(table, kAllowedDst, addressIn(p, /*source=*/false)));
  }

  m.push_back(chainMsg(table, "input", NF_INET_LOCAL_IN));
  m.push_back(accept(table, "input", interfaceIs(NFT_META_IIF, kLoopbackIfindex)));
  m.push_back(ruleMsg(table, "input", {}, NFT_JUMP, kAllowedSrc));
  m.push_back(accept(table, "input", icmpv6Types(130, 136)));
  m.push_back(accept(table, "input", icmpv6Types(143, 143)));
  m.push_back(accept(table, "input", icmpv6Types(2, 2)));  // packet too big
  m.push_back(accept(table, "input", transportIs(IPPROTO_ICMP, {3, 4})));
  m.push_back(accept(table, "input", udpPorts(67, 68)));
  m.push_back(accept(table, "input", udpPorts(547, 546)));

  m.push_back(chainMsg(table, "output", NF_INET_LOCAL_OUT));
  m.push_back(accept(table, "output", interfaceIs(NFT_META_OIF, kLoopbackIfindex)));
  m.push_back(ruleMsg(table, "output", {}, NFT_JUMP, kAllowedDst));
  m.push_back(accept(table, "output", icmpv6Types(130, 136)));
  m.push_back(accept(table, "output", icmpv6Types(143, 143)));
  m.push_back(accept(table, "output", udpPorts(68, 67)));
  m.push_back(accept(table, "output", udpPorts(546, 547)));

  m.push_back(chainMsg(table, "forward", NF_INET_FORWARD));
  return m;
}

}  // namespace sg
