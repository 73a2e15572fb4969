// SynproxyRules: the kernel's SYNPROXY (the nftables `synproxy` statement) on
// the ports where SYN cookies are on, in a table of its own,
// `inet syn_guard_synproxy`. SYNs to those ports are not tracked (raw
// prerouting `notrack`); the input hook hands untracked, invalid and new
// packets to `synproxy`, which answers SYNs with a cookie SYN-ACK (the
// nftables-only mode; in the XDP mode the XDP program answers them first,
// bpf/sg_syncookie.h) and, on an ACK whose cookie checks out, opens the
// connection to the real listener and splices the two. The listener's queue
// never holds a half-open connection of a spoofed source.
//
// The table, with empty sets, exists for the object's whole life: its
// conntrack rules make the kernel track connections from the start, so that
// connections opened before cookies come on for a port keep passing (XDP
// looks their flow up in conntrack; `synproxy` only sees untracked, invalid
// and new ones). add()/remove() change set elements: no rule is rewritten.
// The object remembers the elements it added, so that repair() can make the
// table again as it was when something else deleted it (`systemctl reload
// nftables` with a ruleset that starts with `flush ruleset`, Debian's default).
// Loopback is left alone: SYNPROXY's own SYN to the listener comes through it.
// Not thread-safe: one owner thread, like the agent's event loop.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/address.h"
#include "core/result.h"

struct nft_ctx;

namespace sg {

struct SynproxyOptions {
  std::string table = "syn_guard_synproxy";  // `inet <table>`; one per agent on a host
  // What SYNPROXY's SYN-ACK advertises: the listener's own MSS and window
  // scale (SYNPROXY cannot learn them before the client's ACK).
  uint16_t mss4 = 1460;
  uint16_t mss6 = 1440;
  uint8_t wscale = 7;
};

class SynproxyRules {
 public:
  // Makes the table (replacing a stale one of the same name). Errors:
  // kPermissionDenied without CAP_NET_ADMIN, kIo otherwise.
  static Result<std::unique_ptr<SynproxyRules>> create(const SynproxyOptions& options);
  SynproxyRules(const SynproxyRules&) = delete;
  SynproxyRules& operator=(const SynproxyRules&) = delete;
  ~SynproxyRules();  // deletes the table

  // SYNPROXY on for `port` on every local address (`dst` unset) or on one.
  // Idempotent.
  Result<void> add(uint16_t port, const std::optional<Address>& dst);
  // Off again; removing what is not there is no error.
  Result<void> remove(uint16_t port, const std::optional<Address>& dst);

  // SYNPROXY on for every port from challenged sources (bpf/sg_challenge.h):
  // IPv4 addresses, or IPv6 ones masked to `v6_prefix` bits (the counting
  // prefix), all in one transaction. Idempotent; removing what is not there
  // is no error, nor is removing from a table that is gone.
  Result<void> addSources(const std::vector<Address>& sources, uint8_t v6_prefix);
  Result<void> removeSources(const std::vector<Address>& sources, uint8_t v6_prefix);

  // Whether the table is still there; when it is not, makes it again with
  // every element added and not removed since (one transaction). Ok(true):
  // it was made again; Ok(false): it was there.
  Result<bool> repair();

  // The table as an nft script (for tests and the docs).
  static std::string script(const SynproxyOptions& options);

 private:
  SynproxyRules(nft_ctx* ctx, SynproxyOptions options)
      : ctx_(ctx), options_(std::move(options)), table_(options_.table) {}
  Result<void> run(const std::string& cmd);
  bool exists();
  std::string element(uint16_t port, const std::optional<Address>& dst) const;
  std::string sourceElement(const Address& src, uint8_t v6_prefix) const;
  // Adds (or removes) `elements` in one transaction and remembers them.
  Result<void> addElements(const std::vector<std::string>& elements);
  Result<void> removeElements(const std::vector<std::string>& elements);

  nft_ctx* ctx_;
  SynproxyOptions options_;
  std::string table_;               // empty: nothing of ours to delete
  std::set<std::string> elements_;  // "inet <table> <set> { <element> }", as added
};

}  // namespace sg
