#include "linux/listener_probe.h"

#include <arpa/inet.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace sg {
namespace {

constexpr uint32_t kTcpListen = 10;  // TCP_LISTEN (include/net/tcp_states.h)
constexpr int kMaxReads = 10000;     // a dump of listeners: bounded all the same

bool isV4Mapped(const sg_addr& a) {
  static const uint8_t kPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  return std::memcmp(a.b, kPrefix, sizeof kPrefix) == 0;
}

// The listener `m` takes connections to `dst`: bound to it, or to its
// family's wildcard (an IPv6 wildcard takes IPv4 too, unless v6only).
bool takes(const inet_diag_msg& m, const sg_addr& dst) {
  uint8_t bound[16];
  std::memcpy(bound, m.id.idiag_src, sizeof bound);
  if (m.idiag_family == AF_INET) {
    static const uint8_t kAny4[4] = {};
    return isV4Mapped(dst) &&
           (std::memcmp(bound, kAny4, 4) == 0 || std::memcmp(bound, dst.b + 12, 4) == 0);
  }
  static const uint8_t kAny6[16] = {};
  return std::memcmp(bound, kAny6, 16) == 0 || std::memcmp(bound, dst.b, 16) == 0;
}

// One family's listening TCP sockets: 1 one takes dst:port, 0 none, -1 error.
int dumpFamily(int fd, uint8_t family, const sg_addr& dst, uint16_t port) {
  struct {
    nlmsghdr nlh;
    inet_diag_req_v2 req;
  } msg{};
  msg.nlh.nlmsg_len = sizeof msg;
  msg.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  msg.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  msg.req.sdiag_family = family;
  msg.req.sdiag_protocol = IPPROTO_TCP;
  msg.req.idiag_states = 1u << kTcpListen;
  if (send(fd, &msg, sizeof msg, 0) < 0) return -1;
  alignas(nlmsghdr) char buf[32768];
  bool found = false;
  for (int reads = 0; reads < kMaxReads; reads++) {
    const ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -1;
    const auto total = static_cast<size_t>(n);
    size_t off = 0;
    while (off + sizeof(nlmsghdr) <= total) {
      const auto* h = reinterpret_cast<const nlmsghdr*>(buf + off);
      if (h->nlmsg_len < sizeof(nlmsghdr) || off + h->nlmsg_len > total) break;
      if (h->nlmsg_type == NLMSG_DONE) return found ? 1 : 0;
      if (h->nlmsg_type == NLMSG_ERROR) return -1;
      if (h->nlmsg_len >= NLMSG_LENGTH(sizeof(inet_diag_msg))) {
        const auto* m = static_cast<const inet_diag_msg*>(NLMSG_DATA(h));
        if (ntohs(m->id.idiag_sport) == port && takes(*m, dst)) found = true;
      }
      off += NLMSG_ALIGN(h->nlmsg_len);
    }
  }
  return -1;
}

}  // namespace

bool SockDiagListenerProbe::listening(const sg_addr& dst, uint16_t port) {
  const int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
  if (fd < 0) {
    errors_++;
    return true;
  }
  timeval timeout{1, 0};
  (void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  int found = 0;
  for (uint8_t family : {uint8_t{AF_INET6}, uint8_t{AF_INET}}) {
    if (family == AF_INET && !isV4Mapped(dst)) continue;
    const int r = dumpFamily(fd, family, dst, port);
    if (r < 0) {
      errors_++;
      found = 1;  // unknown: keep the ratio test
      break;
    }
    if (r > 0) {
      found = 1;
      break;
    }
  }
  close(fd);
  return found != 0;
}

}  // namespace sg
