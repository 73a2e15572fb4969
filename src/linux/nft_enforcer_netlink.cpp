#include "linux/nft_enforcer_netlink.h"

#include <libmnl/libmnl.h>
#include <libnftnl/common.h>
#include <libnftnl/set.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <cerrno>
#include <ctime>

#include "linux/errno_text.h"

namespace sg {
namespace {

constexpr size_t kBufferSize = 64 * 1024;  // a batch here is a few hundred bytes

Error netlinkError(int err, const std::string& what) {
  Errc code = err == EPERM        ? Errc::kPermissionDenied
              : err == ENOENT     ? Errc::kNotFound
              : err == EEXIST     ? Errc::kAlreadyExists
              : err == ENOSPC     ? Errc::kResourceExhausted
              : err == EOPNOTSUPP ? Errc::kUnavailable
                                  : Errc::kIo;
  std::string msg = what + ": " + errnoText(err);
  if (err == EPERM) {
    msg =
        "nftables needs CAP_NET_ADMIN (run as root), or the table is owned by another "
        "process: " +
        msg;
  }
  return makeError(code, msg);
}

}  // namespace

NftMsg nftElemMsg(const std::string& table, const NftElemOp& op) {
  bool add = op.kind == NftElemOp::Kind::kAdd;
  NftMsg m;
  m.type = add ? NFT_MSG_NEWSETELEM : NFT_MSG_DELSETELEM;
  m.flags = add ? NLM_F_CREATE : 0;
  m.payload = [table, op](nlmsghdr* nlh) {
    nftnl_set* set = nftnl_set_alloc();
    nftnl_set_set_str(set, NFTNL_SET_TABLE, table.c_str());
    nftnl_set_set_str(set, NFTNL_SET_NAME, op.set.c_str());
    nftnl_set_set_u32(set, NFTNL_SET_FAMILY, NFPROTO_INET);
    nftnl_set_elem* e = nftnl_set_elem_alloc();
    nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, op.key.data(), op.key_len);
    if (op.kind == NftElemOp::Kind::kAdd && op.timeout_ms > 0) {
      nftnl_set_elem_set_u64(e, NFTNL_SET_ELEM_TIMEOUT, op.timeout_ms);
    }
    nftnl_set_elem_add(set, e);
    nftnl_set_elems_nlmsg_build_payload(nlh, set);
    nftnl_set_free(set);
  };
  return m;
}

std::vector<NftElemOp> nftBlockOps(const NftElemOp& elem) {
  NftElemOp plain = elem;
  plain.timeout_ms = 0;
  NftElemOp del = plain;
  del.kind = NftElemOp::Kind::kDelete;
  NftElemOp add = elem;
  add.kind = NftElemOp::Kind::kAdd;
  return {plain, del, add};
}

std::vector<NftElemOp> nftUnblockOps(const NftElemOp& elem) {
  auto ops = nftBlockOps(elem);
  ops.pop_back();
  return ops;
}

NftNetlink::NftNetlink(mnl_socket* nl)
    : nl_(nl),
      portid_(mnl_socket_get_portid(nl)),
      seq_(static_cast<uint32_t>(time(nullptr))),
      out_(kBufferSize),
      in_(kBufferSize) {}

NftNetlink::~NftNetlink() { mnl_socket_close(nl_); }

Result<std::unique_ptr<NftNetlink>> NftNetlink::open() {
  mnl_socket* nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
  if (nl == nullptr) return netlinkError(errno, "opening a netfilter netlink socket");
  if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
    int err = errno;
    mnl_socket_close(nl);
    return netlinkError(err, "binding the netfilter netlink socket");
  }
  // Bounded wait for the kernel's answer: a lost reply is an error, not a hang.
  timeval tv{1, 0};
  if (setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0) {
    int err = errno;
    mnl_socket_close(nl);
    return netlinkError(err, "setting the netlink receive timeout");
  }
  return std::unique_ptr<NftNetlink>(new NftNetlink(nl));
}

Result<void> NftNetlink::commit(const std::vector<NftMsg>& msgs) {
  mnl_nlmsg_batch* batch = mnl_nlmsg_batch_start(out_.data(), out_.size());
  if (batch == nullptr) return makeError(Errc::kIo, "mnl_nlmsg_batch_start failed");
  nftnl_batch_begin(static_cast<char*>(mnl_nlmsg_batch_current(batch)), seq_++);
  mnl_nlmsg_batch_next(batch);
  uint32_t first = seq_;
  for (const NftMsg& m : msgs) {
    nlmsghdr* nlh =
        nftnl_nlmsg_build_hdr(static_cast<char*>(mnl_nlmsg_batch_current(batch)), m.type,
                              NFPROTO_INET, static_cast<uint16_t>(m.flags | NLM_F_ACK), seq_++);
    m.payload(nlh);
    if (!mnl_nlmsg_batch_next(batch)) {
      mnl_nlmsg_batch_stop(batch);
      return makeError(Errc::kResourceExhausted, "nftables batch larger than its buffer");
    }
  }
  nftnl_batch_end(static_cast<char*>(mnl_nlmsg_batch_current(batch)), seq_++);
  mnl_nlmsg_batch_next(batch);
  ssize_t sent = mnl_socket_sendto(nl_, mnl_nlmsg_batch_head(batch), mnl_nlmsg_batch_size(batch));
  int err = errno;
  mnl_nlmsg_batch_stop(batch);
  if (sent < 0) return netlinkError(err, "sending the nftables batch");
  return receiveAcks(first, static_cast<uint32_t>(msgs.size()));
}

Result<void> NftNetlink::receiveAcks(uint32_t first_seq, uint32_t count) {
  uint32_t acked = 0;
  int first_error = 0;
  while (acked < count) {
    ssize_t n = mnl_socket_recvfrom(nl_, in_.data(), in_.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return netlinkError(errno, "waiting for the kernel's nftables answer");
    }
    int len = static_cast<int>(n);
    for (auto* nlh = reinterpret_cast<nlmsghdr*>(in_.data()); mnl_nlmsg_ok(nlh, len);
         nlh = mnl_nlmsg_next(nlh, &len)) {
      if (nlh->nlmsg_seq < first_seq || nlh->nlmsg_seq >= first_seq + count) continue;  // stale
      if (nlh->nlmsg_type != NLMSG_ERROR) continue;
      const auto* e = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(nlh));
      if (e->error != 0 && first_error == 0) first_error = -e->error;
      ++acked;
    }
  }
  if (first_error != 0) return netlinkError(first_error, "nftables transaction");
  return Ok{};
}

Result<void> NftNetlink::query(const NftMsg& request,
                               const std::function<void(const nlmsghdr*)>& on_reply) {
  uint32_t seq = seq_++;
  nlmsghdr* nlh = nftnl_nlmsg_build_hdr(out_.data(), request.type, NFPROTO_INET,
                                        static_cast<uint16_t>(request.flags | NLM_F_ACK), seq);
  request.payload(nlh);
  if (mnl_socket_sendto(nl_, nlh, nlh->nlmsg_len) < 0) {
    return netlinkError(errno, "sending the nftables query");
  }
  // The answer, then the ack (or only an error). Older answers are skipped.
  for (;;) {
    ssize_t n = mnl_socket_recvfrom(nl_, in_.data(), in_.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return netlinkError(errno, "waiting for the kernel's nftables answer");
    }
    int len = static_cast<int>(n);
    for (auto* m = reinterpret_cast<nlmsghdr*>(in_.data()); mnl_nlmsg_ok(m, len);
         m = mnl_nlmsg_next(m, &len)) {
      if (m->nlmsg_seq != seq) continue;
      if (m->nlmsg_type == NLMSG_ERROR) {
        const auto* e = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(m));
        if (e->error != 0) return netlinkError(-e->error, "nftables query");
        return Ok{};
      }
      if (m->nlmsg_type == NLMSG_DONE) return Ok{};
      on_reply(m);
    }
  }
}

}  // namespace sg
