// NftEnforcer: netlink batches for every change, libnftables for listing.
//
// block() sends one transaction of three element messages:
//   add K  ;  delete K  ;  add K with timeout
// The first add makes the delete safe when K is absent; delete + add then
// replaces an existing element, so its timeout is replaced on every kernel
// (a plain add of an existing element keeps its old timeout before Linux
// 6.x's element-timeout updates). unblock() is the first two messages. The
// first block of an IPv6 prefix length also makes that length's set and rule.
#include "linux/nft_enforcer.h"

#include <nftables/libnftables.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <optional>
#include <string_view>

#include "core/config_checks.h"
#include "linux/nft_enforcer_netlink.h"
#include "linux/nft_enforcer_rules.h"
#include "linux/nft_table_owner.h"

namespace sg {
namespace {

constexpr const char* kPermissionHint = "nftables needs CAP_NET_ADMIN (run as root)";

std::string trimmed(std::string_view s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.remove_suffix(1);
  return std::string(s);
}

// libnftables writes "Error: <what>\n<command>\n   ^^^^\n" per failure; keep
// the "Error:" lines and the first command they point at.
std::string errorSummary(const std::string& buf) {
  std::string what, where;
  size_t pos = 0;
  while (pos < buf.size()) {
    size_t end = buf.find('\n', pos);
    if (end == std::string::npos) end = buf.size();
    std::string_view line(buf.data() + pos, end - pos);
    size_t at = line.find("Error: ");
    if (at != std::string_view::npos) {
      if (!what.empty()) what += "; ";
      what += line.substr(at + 7);
      size_t next_end = buf.find('\n', end + 1);
      if (where.empty() && end < buf.size()) {
        where = trimmed(std::string_view(buf).substr(
            end + 1, (next_end == std::string::npos ? buf.size() : next_end) - end - 1));
      }
    }
    pos = end + 1;
  }
  if (what.empty()) return trimmed(buf).empty() ? "failed without a message" : trimmed(buf);
  return where.empty() ? what : what + " (in: " + where + ")";
}

}  // namespace

Result<NftElemOp> nftElemOp(const Address& key, uint8_t v6_prefix) {
  auto text = nftElementText(key, v6_prefix);  // validates
  if (!text) return text.error();
  NftElemOp op;
  if (key.isV4()) {
    op.set = kNftV4Set;
    op.key_len = 4;
    std::copy(key.raw.b + 12, key.raw.b + 16, op.key.begin());
    return op;
  }
  op.set = nftV6SetName(v6_prefix);
  op.key_len = 16;
  std::copy(key.raw.b, key.raw.b + 16, op.key.begin());
  return op;
}

NftEnforcer::NftEnforcer(nft_ctx* ctx, std::string table) : ctx_(ctx), table_(std::move(table)) {}

Result<std::unique_ptr<NftEnforcer>> NftEnforcer::create(const std::string& table,
                                                         uint8_t v6_prefix) {
  if (auto ok = limits::checkNftTable(table); !ok) return ok.error().context("nft_table");
  if (v6_prefix < 1 || v6_prefix > 128) {
    return makeError(Errc::kInvalidArgument,
                     "IPv6 prefix length " + std::to_string(v6_prefix) + " is not in 1..128");
  }
  // The owning socket first: when it is the process's first netlink socket
  // its port id is the pid, which `nft list` shows as the owner's progname.
  auto nl = NftNetlink::open();
  if (!nl) return nl.error();
  nft_ctx* ctx = nft_ctx_new(NFT_CTX_DEFAULT);
  if (ctx == nullptr) return makeError(Errc::kIo, "nft_ctx_new failed (out of memory?)");
  if (nft_ctx_buffer_output(ctx) != 0 || nft_ctx_buffer_error(ctx) != 0) {
    nft_ctx_free(ctx);
    return makeError(Errc::kIo, "libnftables: cannot buffer output");
  }
  std::unique_ptr<NftEnforcer> e(new NftEnforcer(ctx, table));
  e->removed_ = true;  // nothing of ours to delete until the table is made
  e->nl_ = std::move(*nl);
  auto existing = queryNftTable(*e->nl_, table);
  if (!existing) return existing.error();
  if (*existing) {
    const NftTableInfo& t = **existing;
    if (nftTableHeld(t)) {
      return nftTableHeldError(table, t,
                               "two agents cannot share a table; give this one another name "
                               "(nft_table / --nft-table)");
    }
  }
  // Unowned: a run of an older version, or made by hand. Replaced.
  SG_TRY(e->makeTable(v6_prefix, existing->has_value()));
  e->removed_stale_ = existing->has_value();
  e->removed_ = false;
  return e;
}

Result<void> NftEnforcer::makeTable(uint8_t v6_prefix, bool stale) {
  const std::string comment = nftOwnerComment(getpid());
  auto msgs = [&](bool owned) {
    std::vector<NftMsg> m;
    if (stale) m.push_back(nftDeleteTableMsg(table_));
    m.push_back(nftNewTableMsg(table_, owned, comment));
    for (auto& x : nftBaseMsgs(table_)) m.push_back(std::move(x));
    for (auto& x : nftV6SetMsgs(table_, v6_prefix)) m.push_back(std::move(x));
    return m;
  };
  auto r = nl_->commit(msgs(true));
  owned_ = r.ok();
  // Linux < 5.12 refuses the owner flag (EINVAL, or EOPNOTSUPP): unowned then.
  if (!r && (r.error().code() == Errc::kIo || r.error().code() == Errc::kUnavailable)) {
    r = nl_->commit(msgs(false));
  }
  if (!r) return r.error().context("creating nftables table inet " + table_);
  v6_sets_.set(v6_prefix);
  return Ok{};
}

NftEnforcer::~NftEnforcer() {
  if (!removed_) (void)remove();
  nft_ctx_free(ctx_);
}

Result<std::string> NftEnforcer::run(const std::string& script, bool json) {
  unsigned flags = nft_ctx_output_get_flags(ctx_);
  unsigned want = json ? (flags | NFT_CTX_OUTPUT_JSON) : (flags & ~NFT_CTX_OUTPUT_JSON);
  if (want != flags) nft_ctx_output_set_flags(ctx_, want);
  int rc = nft_run_cmd_from_buffer(ctx_, script.c_str());
  // The getters reset the buffers for the next call, so read both every time.
  std::string out = nft_ctx_get_output_buffer(ctx_);
  std::string err = nft_ctx_get_error_buffer(ctx_);
  if (rc == 0) return out;
  std::string summary = errorSummary(err);
  if (summary.find("Operation not permitted") != std::string::npos) {
    return makeError(Errc::kPermissionDenied, std::string(kPermissionHint) + ": " + summary);
  }
  if (summary.find("No such file or directory") != std::string::npos) {
    return makeError(Errc::kNotFound, "nftables: " + summary);
  }
  return makeError(Errc::kIo, "nftables: " + summary);
}

Result<void> NftEnforcer::block(const BlockSpec& spec) {
  if (removed_) return makeError(Errc::kUnavailable, "nftables table was removed");
  if (spec.ttl <= Nanos{0}) {
    return makeError(Errc::kInvalidArgument, "block duration must be positive, got " +
                                                 formatDuration(std::max(spec.ttl, Nanos{0})));
  }
  auto op = nftElemOp(spec.key, spec.v6_prefix);
  if (!op) return op.error().context("nftables block");
  // Whole milliseconds, rounded up: a block never ends before it was asked to.
  op->timeout_ms =
      static_cast<uint64_t>(std::chrono::ceil<std::chrono::milliseconds>(spec.ttl).count());
  std::vector<NftMsg> msgs;
  bool new_set = !spec.key.isV4() && !v6_sets_.test(spec.v6_prefix);
  if (new_set) msgs = nftV6SetMsgs(table_, spec.v6_prefix);
  for (const NftElemOp& o : nftBlockOps(*op)) msgs.push_back(nftElemMsg(table_, o));
  auto r = nl_->commit(msgs);
  if (!r) return r.error().context("nftables block " + formatSource(spec.key, spec.v6_prefix));
  if (new_set) v6_sets_.set(spec.v6_prefix);
  return Ok{};
}

Result<void> NftEnforcer::unblock(const Address& key, uint8_t v6_prefix) {
  if (removed_) return makeError(Errc::kUnavailable, "nftables table was removed");
  auto op = nftElemOp(key, v6_prefix);
  if (!op) return op.error().context("nftables unblock");
  if (!key.isV4() && !v6_sets_.test(v6_prefix)) return Ok{};  // no set: nothing to remove
  std::vector<NftMsg> msgs;
  for (const NftElemOp& o : nftUnblockOps(*op)) msgs.push_back(nftElemMsg(table_, o));
  auto r = nl_->commit(msgs);
  if (!r) return r.error().context("nftables unblock " + formatSource(key, v6_prefix));
  return Ok{};
}

Result<NftElemOp> NftEnforcer::prefixOp(const Prefix& prefix) {
  const bool v4 = prefix.addr.isV4() && prefix.bits >= 96;
  const unsigned len = v4 ? prefix.bits - 96u : prefix.bits;
  if (len < 1 || len >= (v4 ? 32u : 128u)) {
    return makeError(Errc::kInvalidArgument, "a prefix block needs a length of 1.." +
                                                 std::string(v4 ? "31" : "127") + ", not " +
                                                 prefix.str());
  }
  if (!v4) return nftElemOp(prefix.addr, static_cast<uint8_t>(len));
  NftElemOp op;
  op.set = nftV4SetName(static_cast<uint8_t>(len));
  op.key_len = 4;
  std::copy(prefix.addr.raw.b + 12, prefix.addr.raw.b + 16, op.key.begin());
  return op;
}

// One prefix-block change; the first block of a length makes its set and rule.
Result<void> NftEnforcer::commitElem(NftElemOp op, bool add, const std::string& what) {
  if (removed_) return makeError(Errc::kUnavailable, "nftables table was removed");
  const uint8_t len = nftSetPrefixLen(op.set);
  const bool v4 = op.key_len == 4;
  const bool have = v4 ? v4_sets_.test(len) : v6_sets_.test(len);
  if (!add && !have) return Ok{};  // no set: nothing to remove
  std::vector<NftMsg> msgs;
  if (!have) msgs = v4 ? nftV4SetMsgs(table_, len) : nftV6SetMsgs(table_, len);
  for (const NftElemOp& o : add ? nftBlockOps(op) : nftUnblockOps(op))
    msgs.push_back(nftElemMsg(table_, o));
  auto r = nl_->commit(msgs);
  if (!r) return r.error().context(what);
  if (!have && v4) v4_sets_.set(len);
  if (!have && !v4) v6_sets_.set(len);
  return Ok{};
}

Result<void> NftEnforcer::blockPrefix(const Prefix& prefix, Nanos ttl) {
  if (ttl <= Nanos{0}) {
    return makeError(Errc::kInvalidArgument, "block duration must be positive, got " +
                                                 formatDuration(std::max(ttl, Nanos{0})));
  }
  auto op = prefixOp(prefix);
  if (!op) return op.error().context("nftables block");
  op->timeout_ms = static_cast<uint64_t>(std::chrono::ceil<std::chrono::milliseconds>(ttl).count());
  return commitElem(*op, true, "nftables block " + prefix.str());
}

Result<void> NftEnforcer::unblockPrefix(const Prefix& prefix) {
  auto op = prefixOp(prefix);
  if (!op) return op.error().context("nftables unblock");
  return commitElem(*op, false, "nftables unblock " + prefix.str());
}

Result<uint64_t> NftEnforcer::droppedPackets() {
  if (removed_) return makeError(Errc::kUnavailable, "nftables table was removed");
  Result<uint64_t> packets = makeError(Errc::kIo, "the kernel sent no nftables counter");
  auto r = nl_->query(nftGetCounterMsg(table_),
                      [&](const nlmsghdr* nlh) { packets = parseNftCounterPackets(nlh); });
  if (!r) return r.error().context("reading the nftables drop counter");
  return packets;
}

Result<std::vector<NftBlock>> NftEnforcer::listBlocked() {
  if (removed_) return makeError(Errc::kUnavailable, "nftables table was removed");
  std::vector<std::string> sets{kNftV4Set};
  for (unsigned len = 1; len < 32; ++len) {
    if (v4_sets_.test(len)) sets.push_back(nftV4SetName(static_cast<uint8_t>(len)));
  }
  for (unsigned len = 1; len <= 128; ++len) {
    if (v6_sets_.test(len)) sets.push_back(nftV6SetName(static_cast<uint8_t>(len)));
  }
  std::vector<NftBlock> all;
  for (const std::string& set : sets) {
    auto out = run("list set inet " + table_ + " " + set, /*json=*/true);
    if (!out) return out.error().context("listing nftables blocks");
    auto blocks = parseNftSetJson(*out);
    if (!blocks) return blocks.error().context("parsing nft -j list set " + set);
    all.insert(all.end(), blocks->begin(), blocks->end());
  }
  return all;
}

Result<std::string> NftEnforcer::listTable() {
  if (removed_) return makeError(Errc::kUnavailable, "nftables table was removed");
  return run("list table inet " + table_);
}

Result<void> NftEnforcer::remove() {
  if (removed_) return Ok{};
  removed_ = true;
  auto r = nl_->commit({nftDeleteTableMsg(table_)});
  if (!r && r.error().code() != Errc::kNotFound) {
    return r.error().context("deleting nftables table inet " + table_);
  }
  return Ok{};
}

}  // namespace sg
