// The nf_tables netlink side of NftEnforcer: every change to its table goes
// as one batch (libnftnl builds the messages, libmnl sends them) over one
// socket kept open for the enforcer's lifetime. That socket owns the table
// (NFT_TABLE_F_OWNER): only it may change or delete the table, and the kernel
// deletes the table when the socket closes, however the agent ends.
// libnftables' text path is not used for changes: it fetches the set's
// elements into its cache on each command, so its cost grows with the number
// of blocks (bench/nft_latency_bench measures this path).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/result.h"

struct mnl_socket;
struct nlmsghdr;

namespace sg {

// One message of a transaction or query: its type (NFT_MSG_*), its netlink
// flags besides NLM_F_REQUEST/NLM_F_ACK, and a writer of its attributes.
struct NftMsg {
  uint16_t type = 0;
  uint16_t flags = 0;
  std::function<void(nlmsghdr*)> payload;
};

// One set-element change: `key` (4 or 16 bytes) into or out of `set`.
struct NftElemOp {
  enum class Kind { kAdd, kDelete };
  Kind kind = Kind::kAdd;
  std::string set;
  std::array<uint8_t, 16> key{};
  uint8_t key_len = 4;      // 4 (ipv4_addr) or 16 (ipv6_addr)
  uint64_t timeout_ms = 0;  // 0: none (only for kAdd)
};

class NftNetlink {
 public:
  // A netfilter netlink socket in the calling thread's network namespace.
  static Result<std::unique_ptr<NftNetlink>> open();
  NftNetlink(const NftNetlink&) = delete;
  NftNetlink& operator=(const NftNetlink&) = delete;
  ~NftNetlink();

  // Applies `msgs` in one transaction: all or none. Errors carry the
  // kernel's errno (the first failing message's); EPERM becomes
  // kPermissionDenied, ENOENT kNotFound, EEXIST kAlreadyExists.
  Result<void> commit(const std::vector<NftMsg>& msgs);
  // Sends one GET request (not a dump) and hands the kernel's answer to `on_reply`.
  Result<void> query(const NftMsg& request, const std::function<void(const nlmsghdr*)>& on_reply);
  // The socket's netlink port id: what the kernel records as a table's owner.
  uint32_t portId() const { return portid_; }

 private:
  explicit NftNetlink(mnl_socket* nl);
  Result<void> receiveAcks(uint32_t first_seq, uint32_t count);

  mnl_socket* nl_;
  uint32_t portid_;
  uint32_t seq_;
  std::vector<char> out_;  // the batch being sent
  std::vector<char> in_;   // the kernel's answers
};

// The message of one element change in set `op.set` of `inet <table>`.
NftMsg nftElemMsg(const std::string& table, const NftElemOp& op);

// The ops of a block (add; delete; add with timeout: replaces an existing
// element on every kernel) and of an unblock (add; delete: absent is fine).
std::vector<NftElemOp> nftBlockOps(const NftElemOp& elem);
std::vector<NftElemOp> nftUnblockOps(const NftElemOp& elem);

}  // namespace sg
