// NftEnforcer's table as libnftnl objects. Each rule is what nft itself
// compiles for the text in nft_enforcer.h (`nft --debug=netlink`):
//   meta nfproto == ipv4|ipv6; payload load saddr; [bitwise & mask];
//   lookup set; objref counter "dropped"; verdict drop
#include "linux/nft_enforcer_rules.h"

#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/object.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter_ipv4.h>
#include <linux/netlink.h>

#include <array>

#include "linux/nft_exprs.h"

namespace sg {
namespace {

constexpr uint32_t kTypeIpv4Addr = 7;  // nft's datatype ids (key type of a set)
constexpr uint32_t kTypeIpv6Addr = 8;
constexpr uint32_t kV4SetId = 1;  // set ids within one transaction; v6: 0x100 + len,
                                  // IPv4 prefix sets: 0x200 + len
constexpr const char* kCommentPrefix = "syn-guard pid ";

using nft_expr::meta;

nftnl_expr* cmpEq(uint8_t value) { return nft_expr::cmp(NFT_CMP_EQ, &value, sizeof(value)); }

nftnl_expr* payload(uint32_t offset, uint32_t len) {
  return nft_expr::payload(NFT_PAYLOAD_NETWORK_HEADER, offset, len);
}

// The first `len` bits of a `bytes`-long address (16: IPv6, 4: IPv4).
nftnl_expr* maskBits(uint8_t len, uint32_t bytes) {
  const std::array<uint8_t, 16> mask = nft_expr::prefixMask(len);
  return nft_expr::mask(mask.data(), bytes);
}

nftnl_expr* lookup(const std::string& set, uint32_t set_id) {
  nftnl_expr* e = nftnl_expr_alloc("lookup");
  nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, NFT_REG_1);
  nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, set.c_str());
  nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SET_ID, set_id);
  return e;
}

nftnl_expr* countDrop() {
  nftnl_expr* e = nftnl_expr_alloc("objref");
  nftnl_expr_set_u32(e, NFTNL_EXPR_OBJREF_IMM_TYPE, NFT_OBJECT_COUNTER);
  nftnl_expr_set_str(e, NFTNL_EXPR_OBJREF_IMM_NAME, kNftDropCounter);
  return e;
}

nftnl_expr* drop() { return nft_expr::verdict(NF_DROP); }

// "<family> saddr [& mask] @set counter name dropped drop"
NftMsg ruleMsg(const std::string& table, bool v6, uint8_t len, const std::string& set,
               uint32_t set_id) {
  NftMsg m{NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND, {}};
  m.payload = [=](nlmsghdr* nlh) {
    nftnl_rule* r = nftnl_rule_alloc();
    nftnl_rule_set_str(r, NFTNL_RULE_TABLE, table.c_str());
    nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, kNftChain);
    nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, NFPROTO_INET);
    nftnl_rule_add_expr(r, meta(NFT_META_NFPROTO));
    nftnl_rule_add_expr(r, cmpEq(v6 ? NFPROTO_IPV6 : NFPROTO_IPV4));
    nftnl_rule_add_expr(r, v6 ? payload(8, 16) : payload(12, 4));
    if (v6 && len < 128) nftnl_rule_add_expr(r, maskBits(len, 16));
    if (!v6 && len < 32) nftnl_rule_add_expr(r, maskBits(len, 4));
    nftnl_rule_add_expr(r, lookup(set, set_id));
    nftnl_rule_add_expr(r, countDrop());
    nftnl_rule_add_expr(r, drop());
    nftnl_rule_nlmsg_build_payload(nlh, r);
    nftnl_rule_free(r);
  };
  return m;
}

NftMsg setMsg(const std::string& table, const std::string& name, uint32_t id, uint32_t key_type,
              uint32_t key_len) {
  NftMsg m{NFT_MSG_NEWSET, NLM_F_CREATE, {}};
  m.payload = [=](nlmsghdr* nlh) {
    nftnl_set* s = nftnl_set_alloc();
    nftnl_set_set_str(s, NFTNL_SET_TABLE, table.c_str());
    nftnl_set_set_str(s, NFTNL_SET_NAME, name.c_str());
    nftnl_set_set_u32(s, NFTNL_SET_FAMILY, NFPROTO_INET);
    nftnl_set_set_u32(s, NFTNL_SET_ID, id);
    nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, key_type);
    nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, key_len);
    nftnl_set_set_u32(s, NFTNL_SET_FLAGS, NFT_SET_TIMEOUT);  // a hash set: no interval flag
    nftnl_set_nlmsg_build_payload(nlh, s);
    nftnl_set_free(s);
  };
  return m;
}

nftnl_table* tableNamed(const std::string& table) {
  nftnl_table* t = nftnl_table_alloc();
  nftnl_table_set_str(t, NFTNL_TABLE_NAME, table.c_str());
  nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, NFPROTO_INET);
  return t;
}

nftnl_obj* counterNamed(const std::string& table) {
  nftnl_obj* o = nftnl_obj_alloc();
  nftnl_obj_set_str(o, NFTNL_OBJ_TABLE, table.c_str());
  nftnl_obj_set_str(o, NFTNL_OBJ_NAME, kNftDropCounter);
  nftnl_obj_set_u32(o, NFTNL_OBJ_TYPE, NFT_OBJECT_COUNTER);
  nftnl_obj_set_u32(o, NFTNL_OBJ_FAMILY, NFPROTO_INET);
  return o;
}

int commentAttr(const nftnl_udata* attr, void* data) {
  if (nftnl_udata_type(attr) != NFTNL_UDATA_TABLE_COMMENT) return 0;
  const char* value = static_cast<const char*>(nftnl_udata_get(attr));
  uint8_t len = nftnl_udata_len(attr);
  if (len > 0 && value[len - 1] == '\0') *static_cast<std::string*>(data) = value;
  return 0;
}

}  // namespace

std::string nftV6SetName(uint8_t len) { return "blocked_v6_" + std::to_string(len); }
std::string nftV4SetName(uint8_t len) { return "blocked_v4_" + std::to_string(len); }

uint8_t nftSetPrefixLen(const std::string& set_name) {
  if (set_name == kNftV4Set) return 32;
  const bool v4 = set_name.rfind("blocked_v4_", 0) == 0;
  const std::string prefix = v4 ? "blocked_v4_" : "blocked_v6_";
  if (set_name.rfind(prefix, 0) != 0 || set_name.size() == prefix.size() ||
      set_name.size() > prefix.size() + 3) {
    return 0;
  }
  unsigned len = 0;
  for (size_t i = prefix.size(); i < set_name.size(); ++i) {
    char c = set_name[i];
    if (c < '0' || c > '9') return 0;
    len = len * 10 + static_cast<unsigned>(c - '0');
  }
  return len >= 1 && len <= (v4 ? 32u : 128u) ? static_cast<uint8_t>(len) : 0;
}

std::string nftOwnerComment(int pid) { return kCommentPrefix + std::to_string(pid); }

int nftCommentPid(const std::string& comment) {
  const std::string prefix = kCommentPrefix;
  if (comment.rfind(prefix, 0) != 0 || comment.size() == prefix.size() ||
      comment.size() > prefix.size() + 9) {
    return 0;
  }
  int pid = 0;
  for (size_t i = prefix.size(); i < comment.size(); ++i) {
    char c = comment[i];
    if (c < '0' || c > '9') return 0;
    pid = pid * 10 + (c - '0');
  }
  return pid;
}

NftMsg nftNewTableMsg(const std::string& table, bool owned, const std::string& comment) {
  NftMsg m{NFT_MSG_NEWTABLE, NLM_F_CREATE | NLM_F_EXCL, {}};
  m.payload = [=](nlmsghdr* nlh) {
    nftnl_table* t = tableNamed(table);
    nftnl_table_set_u32(t, NFTNL_TABLE_FLAGS, owned ? NFT_TABLE_F_OWNER : 0);
    nftnl_udata_buf* ud = nftnl_udata_buf_alloc(NFTNL_UDATA_COMMENT_MAXLEN + 8);
    if (ud != nullptr && nftnl_udata_put_strz(ud, NFTNL_UDATA_TABLE_COMMENT, comment.c_str())) {
      nftnl_table_set_data(t, NFTNL_TABLE_USERDATA, nftnl_udata_buf_data(ud),
                           nftnl_udata_buf_len(ud));
    }
    nftnl_table_nlmsg_build_payload(nlh, t);
    nftnl_udata_buf_free(ud);
    nftnl_table_free(t);
  };
  return m;
}

NftMsg nftDeleteTableMsg(const std::string& table) {
  NftMsg m{NFT_MSG_DELTABLE, 0, {}};
  m.payload = [=](nlmsghdr* nlh) {
    nftnl_table* t = tableNamed(table);
    nftnl_table_nlmsg_build_payload(nlh, t);
    nftnl_table_free(t);
  };
  return m;
}

std::vector<NftMsg> nftBaseMsgs(const std::string& table) {
  NftMsg counter{NFT_MSG_NEWOBJ, NLM_F_CREATE, [=](nlmsghdr* nlh) {
                   nftnl_obj* o = counterNamed(table);
                   nftnl_obj_nlmsg_build_payload(nlh, o);
                   nftnl_obj_free(o);
                 }};
  NftMsg chain{NFT_MSG_NEWCHAIN, NLM_F_CREATE, [=](nlmsghdr* nlh) {
                 nftnl_chain* c = nftnl_chain_alloc();
                 nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, table.c_str());
                 nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, kNftChain);
                 nftnl_chain_set_u32(c, NFTNL_CHAIN_FAMILY, NFPROTO_INET);
                 nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, "filter");
                 nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, NF_INET_PRE_ROUTING);
                 // raw (-300): before conntrack, so a blocked source costs no entry.
                 nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, NF_IP_PRI_RAW);
                 nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, NF_ACCEPT);
                 nftnl_chain_nlmsg_build_payload(nlh, c);
                 nftnl_chain_free(c);
               }};
  return {counter, setMsg(table, kNftV4Set, kV4SetId, kTypeIpv4Addr, 4), chain,
          ruleMsg(table, false, 32, kNftV4Set, kV4SetId)};
}

std::vector<NftMsg> nftV6SetMsgs(const std::string& table, uint8_t len) {
  const std::string name = nftV6SetName(len);
  const uint32_t id = 0x100u + len;
  return {setMsg(table, name, id, kTypeIpv6Addr, 16), ruleMsg(table, true, len, name, id)};
}

std::vector<NftMsg> nftV4SetMsgs(const std::string& table, uint8_t len) {
  const std::string name = nftV4SetName(len);
  const uint32_t id = 0x200u + len;
  return {setMsg(table, name, id, kTypeIpv4Addr, 4), ruleMsg(table, false, len, name, id)};
}

NftMsg nftGetTableMsg(const std::string& table) {
  NftMsg m{NFT_MSG_GETTABLE, 0, {}};
  m.payload = [=](nlmsghdr* nlh) {
    nftnl_table* t = tableNamed(table);
    nftnl_table_nlmsg_build_payload(nlh, t);
    nftnl_table_free(t);
  };
  return m;
}

Result<NftTableInfo> parseNftTable(const nlmsghdr* nlh) {
  nftnl_table* t = nftnl_table_alloc();
  if (nftnl_table_nlmsg_parse(nlh, t) < 0) {
    nftnl_table_free(t);
    return makeError(Errc::kIo, "cannot parse the kernel's nftables table message");
  }
  NftTableInfo info;
  info.flags = nftnl_table_get_u32(t, NFTNL_TABLE_FLAGS);
  info.has_owner = (info.flags & NFT_TABLE_F_OWNER) != 0;
  if (nftnl_table_is_set(t, NFTNL_TABLE_OWNER))
    info.owner_port = nftnl_table_get_u32(t, NFTNL_TABLE_OWNER);
  if (nftnl_table_is_set(t, NFTNL_TABLE_USERDATA)) {
    uint32_t len = 0;
    const void* data = nftnl_table_get_data(t, NFTNL_TABLE_USERDATA, &len);
    nftnl_udata_parse(data, len, commentAttr, &info.comment);
  }
  nftnl_table_free(t);
  return info;
}

NftMsg nftGetCounterMsg(const std::string& table) {
  NftMsg m{NFT_MSG_GETOBJ, 0, {}};
  m.payload = [=](nlmsghdr* nlh) {
    nftnl_obj* o = counterNamed(table);
    nftnl_obj_nlmsg_build_payload(nlh, o);
    nftnl_obj_free(o);
  };
  return m;
}

Result<uint64_t> parseNftCounterPackets(const nlmsghdr* nlh) {
  nftnl_obj* o = nftnl_obj_alloc();
  if (nftnl_obj_nlmsg_parse(nlh, o) < 0 || !nftnl_obj_is_set(o, NFTNL_OBJ_CTR_PKTS)) {
    nftnl_obj_free(o);
    return makeError(Errc::kIo, "cannot parse the kernel's nftables counter message");
  }
  uint64_t packets = nftnl_obj_get_u64(o, NFTNL_OBJ_CTR_PKTS);
  nftnl_obj_free(o);
  return packets;
}

}  // namespace sg
