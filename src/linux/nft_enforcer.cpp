// NftEnforcer: libnftables for the table, netlink batches for elements.
//
// block() sends one transaction of three element messages:
//   add K  ;  delete K  ;  add K with timeout
// The first add makes the delete safe when K is absent; delete + add then
// replaces an existing element, so its timeout is replaced on every kernel
// (a plain add of an existing element keeps its old timeout before Linux
// 6.x's element-timeout updates). unblock() is the first two messages.
#include "linux/nft_enforcer.h"

#include <nftables/libnftables.h>

#include <algorithm>
#include <string_view>

#include "linux/nft_enforcer_netlink.h"

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

std::string tableScript(const std::string& t) {
  return "add table inet " + t + "\n" +                           //
         "delete table inet " + t + "\n" +                        // replaces a stale one
         "table inet " + t + " {\n" +                             //
         "  set blocked_v4 { type ipv4_addr; flags timeout; }\n"  //
         "  set blocked_v6 { type ipv6_addr; flags interval, timeout; }\n"
         "  chain prerouting {\n"
         "    type filter hook prerouting priority raw; policy accept;\n"
         "    ip saddr @blocked_v4 counter drop\n"
         "    ip6 saddr @blocked_v6 counter drop\n"
         "  }\n"
         "}\n";
}

}  // namespace

Result<NftElemOp> nftElemOp(const Address& key, uint8_t v6_prefix) {
  auto text = nftElementText(key, v6_prefix);  // validates
  if (!text) return text.error();
  NftElemOp op;
  if (key.isV4()) {
    op.set = "blocked_v4";
    op.key_len = 4;
    std::copy(key.raw.b + 12, key.raw.b + 16, op.key.begin());
    return op;
  }
  op.set = "blocked_v6";
  op.key_len = 16;
  op.interval = true;
  std::copy(key.raw.b, key.raw.b + 16, op.key.begin());
  // end = first address after the prefix: add 1 at bit v6_prefix-1, carrying.
  op.end = op.key;
  unsigned bit = v6_prefix - 1u;
  int byte = static_cast<int>(bit / 8);
  unsigned carry = 0x80u >> (bit % 8);
  for (; byte >= 0 && carry != 0; --byte) {
    unsigned sum = op.end[byte] + carry;
    op.end[byte] = static_cast<uint8_t>(sum);
    carry = sum >> 8;
  }
  op.has_end = carry == 0;  // the prefix that ends the space has no end element
  return op;
}

NftEnforcer::NftEnforcer(nft_ctx* ctx, std::string table) : ctx_(ctx), table_(std::move(table)) {}

Result<std::unique_ptr<NftEnforcer>> NftEnforcer::create(const std::string& table) {
  SG_TRY(checkNftTableName(table));
  nft_ctx* ctx = nft_ctx_new(NFT_CTX_DEFAULT);
  if (ctx == nullptr) return makeError(Errc::kIo, "nft_ctx_new failed (out of memory?)");
  if (nft_ctx_buffer_output(ctx) != 0 || nft_ctx_buffer_error(ctx) != 0) {
    nft_ctx_free(ctx);
    return makeError(Errc::kIo, "libnftables: cannot buffer output");
  }
  std::unique_ptr<NftEnforcer> e(new NftEnforcer(ctx, table));
  e->removed_ = true;  // nothing of ours to delete until the table is made
  auto nl = NftNetlink::open();
  if (!nl) return nl.error();
  e->nl_ = std::move(*nl);
  // A table of this name now can only be a leftover of a run that did not end
  // cleanly (or another agent using the same name, which we then take over).
  auto listed = e->run("list table inet " + table);
  if (!listed && listed.error().code() == Errc::kPermissionDenied) return listed.error();
  e->removed_stale_ = listed.ok();
  auto made = e->run(tableScript(table));
  if (!made) return made.error().context("creating nftables table inet " + table);
  e->removed_ = false;
  return e;
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
  auto r = nl_->commit(table_, nftBlockOps(*op));
  if (!r) return r.error().context("nftables block " + formatSource(spec.key, spec.v6_prefix));
  return Ok{};
}

Result<void> NftEnforcer::unblock(const Address& key, uint8_t v6_prefix) {
  if (removed_) return makeError(Errc::kUnavailable, "nftables table was removed");
  auto op = nftElemOp(key, v6_prefix);
  if (!op) return op.error().context("nftables unblock");
  auto r = nl_->commit(table_, nftUnblockOps(*op));
  if (!r) return r.error().context("nftables unblock " + formatSource(key, v6_prefix));
  return Ok{};
}

Result<std::vector<NftBlock>> NftEnforcer::listBlocked() {
  if (removed_) return makeError(Errc::kUnavailable, "nftables table was removed");
  std::vector<NftBlock> all;
  for (const char* set : {"blocked_v4", "blocked_v6"}) {
    auto out = run("list set inet " + table_ + " " + set, /*json=*/true);
    if (!out) return out.error().context("listing nftables blocks");
    auto blocks = parseNftSetJson(*out);
    if (!blocks) return blocks.error().context(std::string("parsing nft -j list set ") + set);
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
  auto r = run("delete table inet " + table_);
  if (!r && r.error().code() != Errc::kNotFound) {
    return r.error().context("deleting nftables table inet " + table_);
  }
  return Ok{};
}

}  // namespace sg
