// XdpSensor: attaching to interfaces through bpf_links.
//
// A link dies with the process that holds it, so a crashed agent leaves no
// program behind. Before attaching, the interface is inspected: a
// syn_guard_xdp attached without a link is a leftover of a netlink attach
// (`ip link set dev X xdp obj ...`) and is removed; a syn_guard_xdp held by a
// live link belongs to another agent and is left alone; libxdp's dispatcher
// is joined (xdp_sensor_dispatcher.cpp); any other program is someone else's
// and is never replaced.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "linux/errno_text.h"
#include "linux/xdp_sensor.h"
#include "syn_guard.skel.h"

namespace sg {
namespace {

// Name and id of a loaded program ("" when it vanished meanwhile).
std::string progName(uint32_t prog_id) {
  const int fd = bpf_prog_get_fd_by_id(prog_id);
  if (fd < 0) return "";
  bpf_prog_info info{};
  uint32_t len = sizeof(info);
  std::string name;
  if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0) name = info.name;
  close(fd);
  return name;
}

uint32_t progIdOf(int prog_fd) {
  bpf_prog_info info{};
  uint32_t len = sizeof(info);
  return bpf_obj_get_info_by_fd(prog_fd, &info, &len) == 0 ? info.id : 0;
}

// Id of a live XDP link on `ifindex` running `prog_id`, or 0.
uint32_t xdpLinkFor(int ifindex, uint32_t prog_id) {
  uint32_t id = 0;
  while (bpf_link_get_next_id(id, &id) == 0) {
    const int fd = bpf_link_get_fd_by_id(id);
    if (fd < 0) continue;  // gone meanwhile
    bpf_link_info info{};
    uint32_t len = sizeof(info);
    const bool match = bpf_obj_get_info_by_fd(fd, &info, &len) == 0 &&
                       info.type == BPF_LINK_TYPE_XDP &&
                       static_cast<int>(info.xdp.ifindex) == ifindex && info.prog_id == prog_id;
    close(fd);
    if (match) return id;
  }
  return 0;
}

uint32_t linkFlags(XdpMode mode) {
  switch (mode) {
    case XdpMode::kNative:
      return XDP_FLAGS_DRV_MODE;
    case XdpMode::kGeneric:
      return XDP_FLAGS_SKB_MODE;
    case XdpMode::kAuto:
      return 0;
  }
  return 0;
}

}  // namespace

Result<void> XdpSensor::detachStale(int ifindex, const std::string& ifname, uint32_t mode_flags,
                                    uint32_t prog_id, std::string* note) {
  if (bpf_xdp_detach(ifindex, mode_flags, nullptr) != 0) {
    return makeError(Errc::kIo, ifname + ": removing a stale " SG_XDP_PROG_NAME " (prog id " +
                                    std::to_string(prog_id) + ") failed: " + errnoText(errno));
  }
  if (!note->empty()) *note += "; ";
  *note += "removed a stale " SG_XDP_PROG_NAME " (prog id " + std::to_string(prog_id) +
           ") attached without a link (netlink attach, e.g. `ip link set xdp`)";
  return Ok{};
}

Result<void> XdpSensor::attach(const std::string& ifname, XdpMode mode, bool coexist) {
  const int ifindex = static_cast<int>(if_nametoindex(ifname.c_str()));
  if (ifindex == 0) return makeError(Errc::kNotFound, "no such interface '" + ifname + "'");
  for (const Link& l : links_) {
    if (l.info.ifindex == ifindex) {
      return makeError(Errc::kAlreadyExists, ifname + ": already attached by this agent");
    }
  }

  LIBBPF_OPTS(bpf_xdp_query_opts, q);
  if (bpf_xdp_query(ifindex, 0, &q) != 0) {
    return makeError(Errc::kIo, ifname + ": querying its XDP programs failed: " + errnoText(errno));
  }
  XdpAttachment info;
  info.ifname = ifname;
  info.ifindex = ifindex;
  const struct {
    uint32_t id;
    uint32_t flags;
  } present[] = {{q.drv_prog_id, XDP_FLAGS_DRV_MODE},
                 {q.skb_prog_id, XDP_FLAGS_SKB_MODE},
                 {q.hw_prog_id, XDP_FLAGS_HW_MODE}};
  bool dispatcher = false;
  for (const auto& p : present) {
    if (p.id == 0) continue;
    const std::string name = progName(p.id);
    const uint32_t link = xdpLinkFor(ifindex, p.id);
    if (name != SG_XDP_PROG_NAME && dispatcherAttached(ifindex)) {
      dispatcher = true;
      continue;
    }
    if (name == SG_XDP_PROG_NAME && link != 0) {
      return makeError(Errc::kAlreadyExists,
                       ifname + ": another syn-guard agent is already attached (prog id " +
                           std::to_string(p.id) + ", link id " + std::to_string(link) + ")");
    }
    if (name == SG_XDP_PROG_NAME) {
      SG_TRY(detachStale(ifindex, ifname, p.flags, p.id, &info.note));
      continue;
    }
    return makeError(Errc::kAlreadyExists,
                     ifname + ": another XDP program is attached directly ('" +
                         (name.empty() ? std::string("?") : name) + "', prog id " +
                         std::to_string(p.id) +
                         (link != 0 ? ", through bpf_link id " + std::to_string(link)
                                    : std::string(", by netlink")) +
                         "); syn-guard does not replace it. To run both, load that program "
                         "through libxdp's dispatcher (e.g. xdp-loader load) and start "
                         "syn-guard again; or detach it if it is not needed");
  }
  if (dispatcher) {
    auto still = cleanDispatcher(ifindex, ifname, &info.note);
    if (!still.ok()) return still.error();
    dispatcher = *still;
  }
  if (dispatcher || coexist) return joinDispatcher(mode, info);

  LIBBPF_OPTS(bpf_link_create_opts, lo, .flags = linkFlags(mode));
  int fd = bpf_link_create(progFd(), ifindex, BPF_XDP, &lo);
  if (fd < 0 && mode == XdpMode::kAuto && errno != EPERM && errno != EACCES && errno != EBUSY &&
      errno != EEXIST) {
    // Auto: the kernel tries native XDP when the driver has it, but a driver
    // may still refuse (virtio_net without enough queues, for one): fall back
    // to generic mode and say why.
    const int native_errno = errno;
    LIBBPF_OPTS(bpf_link_create_opts, generic, .flags = XDP_FLAGS_SKB_MODE);
    fd = bpf_link_create(progFd(), ifindex, BPF_XDP, &generic);
    if (fd >= 0) {
      if (!info.note.empty()) info.note += "; ";
      info.note += "the driver refused native XDP (" + errnoText(native_errno) +
                   "): running in generic mode";
    } else {
      errno = native_errno;
    }
  }
  if (fd < 0) {
    const int e = errno;
    if (e == EPERM || e == EACCES) {
      return makeError(Errc::kPermissionDenied,
                       ifname + ": attaching XDP needs CAP_NET_ADMIN and CAP_BPF (run as root)");
    }
    if (e == EOPNOTSUPP && mode == XdpMode::kNative) {
      return makeError(Errc::kUnavailable,
                       ifname + ": its driver has no native XDP; use xdp_mode generic or auto");
    }
    if (e == EBUSY || e == EEXIST) {
      return makeError(Errc::kAlreadyExists,
                       ifname + ": an XDP program was attached meanwhile (" + errnoText(e) + ")");
    }
    return makeError(Errc::kIo, ifname + ": attaching the XDP program (" + xdpModeName(mode) +
                                    " mode) failed: " + errnoText(e));
  }

  info.prog_id = progIdOf(progFd());
  LIBBPF_OPTS(bpf_xdp_query_opts, after);
  if (bpf_xdp_query(ifindex, 0, &after) == 0) {
    if (after.drv_prog_id == info.prog_id) {
      info.mode = XdpMode::kNative;
    } else if (after.skb_prog_id == info.prog_id) {
      info.mode = XdpMode::kGeneric;
    }
  }
  Link link;
  link.fd = fd;
  link.info = info;
  links_.push_back(link);
  attachments_.push_back(info);
  return Ok{};
}

void XdpSensor::detachAll() {
  for (Link& l : links_) {
    if (l.fd >= 0) close(l.fd);  // the last reference to the link: the kernel detaches
    if (l.xdp != nullptr) leaveDispatcher(l);
  }
  links_.clear();
  attachments_.clear();
}

}  // namespace sg
