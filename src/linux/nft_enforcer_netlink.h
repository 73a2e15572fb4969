// The fast path of NftEnforcer: set-element changes sent as one nf_tables
// netlink batch (libnftnl builds the messages, libmnl sends them) on a socket
// kept open. libnftables' text path fetches the set's elements into its cache
// on each command, so its cost grows with the number of blocks; this path
// does not read anything back. Measured (kernel 6.18, 2 shared cores, 1000
// calls each, p50 / p99):
//   libnftables text, one kept nft_ctx:  IPv4 82 us / 4.1 ms into ~1k elements,
//                                        128 ms / 247 ms into 22k elements;
//                                        IPv6 /64 7 ms / 17 ms into ~1k
//   this netlink path:                   IPv4 10 us / 42 us (empty), 10 us / 15 us (21k);
//                                        IPv6 /64 26 us / 1.7 ms (empty),
//                                        2.4 ms / 12 ms (21k: the kernel's
//                                        interval rbtree, not user space)
// (nft_enforcer_latency_test.cpp prints the netlink figures on each run.)
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/result.h"

struct mnl_socket;

namespace sg {

// One element change. IPv6 prefixes are intervals: `key` is the first
// address and `end` the first address after the prefix (absent when the
// prefix reaches the end of the address space, as nft itself encodes it).
struct NftElemOp {
  enum class Kind { kAdd, kDelete };
  Kind kind = Kind::kAdd;
  std::string set;
  std::array<uint8_t, 16> key{};
  uint8_t key_len = 4;  // 4 (ipv4_addr) or 16 (ipv6_addr)
  bool interval = false;
  bool has_end = false;
  std::array<uint8_t, 16> end{};
  uint64_t timeout_ms = 0;  // 0: none (only for kAdd)
};

class NftNetlink {
 public:
  // A netfilter netlink socket in the calling thread's network namespace.
  static Result<std::unique_ptr<NftNetlink>> open();
  NftNetlink(const NftNetlink&) = delete;
  NftNetlink& operator=(const NftNetlink&) = delete;
  ~NftNetlink();

  // Applies `ops` to sets of `inet <table>` in one transaction: all or none.
  // Errors carry the kernel's errno; EPERM becomes kPermissionDenied.
  Result<void> commit(const std::string& table, const std::vector<NftElemOp>& ops);

 private:
  explicit NftNetlink(mnl_socket* nl);
  Result<void> receiveAcks(uint32_t first_seq, uint32_t count);

  mnl_socket* nl_;
  uint32_t portid_;
  uint32_t seq_;
  std::vector<char> out_;  // the batch being sent
  std::vector<char> in_;   // the kernel's answers
};

// The ops of a block (add; delete; add with timeout: replaces an existing
// element on every kernel) and of an unblock (add; delete: absent is fine).
std::vector<NftElemOp> nftBlockOps(const NftElemOp& elem);
std::vector<NftElemOp> nftUnblockOps(const NftElemOp& elem);

}  // namespace sg
