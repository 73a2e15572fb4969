#include "linux/synproxy_rules.h"

#include <nftables/libnftables.h>

#include <string>

#include "core/config_checks.h"

namespace sg {
namespace {

// SYN only (no ACK, RST, FIN): what `notrack` takes out of conntrack.
constexpr const char* kSynOnly = "tcp flags & (fin | syn | rst | ack) == syn";

}  // namespace

std::string SynproxyRules::script(const SynproxyOptions& o) {
  const std::string t = "inet " + o.table;
  const std::string opts = " wscale " + std::to_string(o.wscale) + " timestamp sack-perm";
  std::string s;
  s += "table " + t + " {}\n";
  s += "delete table " + t + "\n";
  s += "table " + t + " {\n";
  s += "  set ports { type inet_service; }\n";
  s += "  set addr4_ports { type ipv4_addr . inet_service; }\n";
  s += "  set addr6_ports { type ipv6_addr . inet_service; }\n";
  // Challenged sources (bpf/sg_challenge.h): every port, from these sources.
  s += "  set src4 { type ipv4_addr; }\n";
  s += "  set src6 { type ipv6_addr; flags interval; }\n";
  s += "  chain pre {\n    type filter hook prerouting priority raw; policy accept;\n";
  s += "    iif != \"lo\" " + std::string(kSynOnly) + " tcp dport @ports notrack\n";
  s +=
      "    iif != \"lo\" " + std::string(kSynOnly) + " ip daddr . tcp dport @addr4_ports notrack\n";
  s += "    iif != \"lo\" " + std::string(kSynOnly) +
       " ip6 daddr . tcp dport @addr6_ports notrack\n";
  s += "    iif != \"lo\" " + std::string(kSynOnly) + " ip saddr @src4 notrack\n";
  s += "    iif != \"lo\" " + std::string(kSynOnly) + " ip6 saddr @src6 notrack\n  }\n";
  s += "  chain in {\n    type filter hook input priority filter - 1; policy accept;\n";
  s += "    iif \"lo\" accept\n";
  s += "    tcp dport @ports jump guard\n";
  s += "    ip daddr . tcp dport @addr4_ports jump guard\n";
  s += "    ip6 daddr . tcp dport @addr6_ports jump guard\n";
  s += "    meta l4proto tcp ip saddr @src4 jump guard\n";
  s += "    meta l4proto tcp ip6 saddr @src6 jump guard\n  }\n";
  // new: a conntrack that picks up connections mid-stream (tcp_loose, the
  // default) calls the cookie's ACK new rather than invalid.
  s += "  chain guard {\n";
  s += "    meta nfproto ipv4 ct state invalid,untracked,new synproxy mss " +
       std::to_string(o.mss4) + opts + "\n";
  s += "    meta nfproto ipv6 ct state invalid,untracked,new synproxy mss " +
       std::to_string(o.mss6) + opts + "\n";
  s += "    ct state invalid drop\n  }\n";
  s += "}\n";
  return s;
}

Result<std::unique_ptr<SynproxyRules>> SynproxyRules::create(const SynproxyOptions& options) {
  if (auto ok = limits::checkNftTable(options.table); !ok) {
    return ok.error().context("synproxy table");
  }
  if (options.wscale > 14) {
    return makeError(Errc::kInvalidArgument,
                     "window scale " + std::to_string(options.wscale) + " is not in 0..14");
  }
  nft_ctx* ctx = nft_ctx_new(NFT_CTX_DEFAULT);
  if (ctx == nullptr) return makeError(Errc::kIo, "nft_ctx_new failed (out of memory?)");
  if (nft_ctx_buffer_output(ctx) != 0 || nft_ctx_buffer_error(ctx) != 0) {
    nft_ctx_free(ctx);
    return makeError(Errc::kIo, "libnftables: cannot buffer output");
  }
  std::unique_ptr<SynproxyRules> r(new SynproxyRules(ctx, options));
  if (auto ok = r->run(script(options)); !ok) {
    r->table_.clear();  // nothing of ours to delete
    return ok.error().context("creating nftables table inet " + options.table);
  }
  return r;
}

SynproxyRules::~SynproxyRules() {
  if (!table_.empty()) (void)run("delete table inet " + table_ + "\n");
  nft_ctx_free(ctx_);
}

std::string SynproxyRules::element(uint16_t port, const std::optional<Address>& dst) const {
  const std::string p = std::to_string(port);
  if (!dst) return "inet " + table_ + " ports { " + p + " }";
  const char* set = dst->isV4() ? "addr4_ports" : "addr6_ports";
  return "inet " + table_ + " " + set + " { " + dst->str() + " . " + p + " }";
}

Result<void> SynproxyRules::addElements(const std::vector<std::string>& elements) {
  if (elements.empty()) return Ok{};
  std::string cmd;
  for (const std::string& e : elements) cmd += "add element " + e + "\n";
  SG_TRY(run(cmd));
  elements_.insert(elements.begin(), elements.end());
  return Ok{};
}

Result<void> SynproxyRules::removeElements(const std::vector<std::string>& elements) {
  if (elements.empty()) return Ok{};
  // `destroy` (nft >= 1.0.8) is not everywhere: add-then-delete is idempotent.
  std::string cmd;
  for (const std::string& e : elements) cmd += "add element " + e + "\ndelete element " + e + "\n";
  if (auto r = run(cmd); !r) {
    // A table that is gone holds nothing: what was to go is gone.
    if (exists()) return r;
  }
  for (const std::string& e : elements) elements_.erase(e);
  return Ok{};
}

Result<void> SynproxyRules::add(uint16_t port, const std::optional<Address>& dst) {
  return addElements({element(port, dst)});
}

Result<void> SynproxyRules::remove(uint16_t port, const std::optional<Address>& dst) {
  return removeElements({element(port, dst)});
}

std::string SynproxyRules::sourceElement(const Address& src, uint8_t v6_prefix) const {
  if (src.isV4()) return "inet " + table_ + " src4 { " + src.str() + " }";
  return "inet " + table_ + " src6 { " + formatSource(src, v6_prefix) + " }";
}

Result<void> SynproxyRules::addSources(const std::vector<Address>& sources, uint8_t v6_prefix) {
  std::vector<std::string> e;
  e.reserve(sources.size());
  for (const Address& a : sources) e.push_back(sourceElement(a, v6_prefix));
  return addElements(e);
}

Result<void> SynproxyRules::removeSources(const std::vector<Address>& sources, uint8_t v6_prefix) {
  std::vector<std::string> e;
  e.reserve(sources.size());
  for (const Address& a : sources) e.push_back(sourceElement(a, v6_prefix));
  return removeElements(e);
}

// One chain, not the table: listing the table would dump every element.
bool SynproxyRules::exists() { return run("list chain inet " + table_ + " guard\n").ok(); }

Result<bool> SynproxyRules::repair() {
  if (table_.empty()) return makeError(Errc::kUnavailable, "no SYNPROXY table");
  if (exists()) return false;
  std::string cmd = script(options_);
  for (const std::string& e : elements_) cmd += "add element " + e + "\n";
  if (auto r = run(cmd); !r) {
    return r.error().context("making nftables table inet " + table_ + " again");
  }
  return true;
}

Result<void> SynproxyRules::run(const std::string& cmd) {
  const int rc = nft_run_cmd_from_buffer(ctx_, cmd.c_str());
  std::string err = nft_ctx_get_error_buffer(ctx_);
  (void)nft_ctx_get_output_buffer(ctx_);
  if (rc == 0) return Ok{};
  if (err.find("Operation not permitted") != std::string::npos) {
    return makeError(Errc::kPermissionDenied, "nftables (needs CAP_NET_ADMIN): " + err);
  }
  return makeError(Errc::kIo, "nftables: " + err);
}

}  // namespace sg
