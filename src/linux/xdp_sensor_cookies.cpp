// XdpSensor: SYN cookies (bpf/sg_syncookie.h). sg_cookie_ports holds a mode
// per port (SG_COOKIE_ANY_ADDR, SG_COOKIE_BY_ADDR), sg_cookie_addrs the
// (address, port) pairs of the by-address mode, and sg_cookie.ports the
// number of ports with a mode: the program's gate (0: no packet pays more
// than its load). Only the agent's loop thread writes them.
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include <cerrno>
#include <cstring>

#include "linux/errno_text.h"
#include "linux/xdp_sensor.h"
#include "syn_guard.skel.h"

namespace sg {
namespace {

Error mapError(const std::string& what, int err) {
  return makeError(err == ENOSPC || err == E2BIG ? Errc::kResourceExhausted : Errc::kIo,
                   what + ": " + errnoText(err));
}

// Whether any (address, port) pair of `port` is left in sg_cookie_addrs.
Result<bool> portHasAddrs(int fd, uint16_t port) {
  sg_cookie_key cur{}, next{};
  const void* prev = nullptr;
  while (bpf_map_get_next_key(fd, prev, &next) == 0) {
    if (next.port == port) return true;
    cur = next;
    prev = &cur;
  }
  if (errno != ENOENT) return mapError("listing sg_cookie_addrs", errno);
  return false;
}

// Whether the kernel has the conntrack kfuncs the ACK check calls, looked up
// where libbpf resolves them (vmlinux, then the nf_conntrack module's BTF).
// Without them the program loaded with the calls pruned (they are weak,
// bpf/sg_syncookie.h), so cookies must stay off.
bool lookUpConntrackKfuncs() {
  struct btf* vmlinux = btf__load_vmlinux_btf();
  if (vmlinux == nullptr) return false;
  auto has = [](const struct btf* b) {
    return btf__find_by_name_kind(b, "bpf_xdp_ct_lookup", BTF_KIND_FUNC) > 0 &&
           btf__find_by_name_kind(b, "bpf_ct_release", BTF_KIND_FUNC) > 0;
  };
  bool found = has(vmlinux);
  if (!found) {
    struct btf* mod = btf__load_module_btf("nf_conntrack", vmlinux);
    found = mod != nullptr && has(mod);
    btf__free(mod);
  }
  btf__free(vmlinux);
  return found;
}

}  // namespace

bool conntrackKfuncsPresent() {
  static const bool kFound = lookUpConntrackKfuncs();
  return kFound;
}

Result<void> XdpSensor::setCookies(uint16_t port, const std::optional<Address>& dst, bool on) {
  if (on && !conntrackKfuncsPresent()) {
    return makeError(Errc::kUnavailable,
                     "XDP SYN cookies need the kernel's conntrack kfuncs (bpf_xdp_ct_lookup), "
                     "absent: load nf_conntrack (modprobe nf_conntrack) and restart the agent, "
                     "or set syncookies = \"nftables\"");
  }
  const int ports_fd = bpf_map__fd(skel_->maps.sg_cookie_ports);
  const int addrs_fd = bpf_map__fd(skel_->maps.sg_cookie_addrs);
  const uint32_t idx = port;
  uint8_t old_mode = 0;
  if (bpf_map_lookup_elem(ports_fd, &idx, &old_mode) != 0) {
    return mapError("reading sg_cookie_ports", errno);
  }
  uint8_t mode = old_mode;
  if (!dst) {
    mode = on ? mode | SG_COOKIE_ANY_ADDR : mode & ~SG_COOKIE_ANY_ADDR;
  } else {
    sg_cookie_key key{};
    key.dst = dst->raw;
    key.port = port;
    const uint8_t one = 1;
    if (on) {
      if (bpf_map_update_elem(addrs_fd, &key, &one, BPF_ANY) != 0) {
        return mapError("adding to sg_cookie_addrs", errno);
      }
      mode |= SG_COOKIE_BY_ADDR;
    } else {
      if (bpf_map_delete_elem(addrs_fd, &key) != 0 && errno != ENOENT) {
        return mapError("removing from sg_cookie_addrs", errno);
      }
      auto left = portHasAddrs(addrs_fd, port);
      if (!left) return left.error();
      if (!*left) mode &= ~SG_COOKIE_BY_ADDR;
    }
  }
  if (mode == old_mode) return Ok{};
  volatile sg_cookie_params& params = skel_->data_cookie->sg_cookie;
  if (old_mode == 0) __atomic_fetch_add(&params.ports, 1u, __ATOMIC_SEQ_CST);
  if (bpf_map_update_elem(ports_fd, &idx, &mode, BPF_ANY) != 0) {
    const int err = errno;
    if (old_mode == 0) __atomic_fetch_sub(&params.ports, 1u, __ATOMIC_SEQ_CST);
    return mapError("writing sg_cookie_ports", err);
  }
  if (mode == 0) __atomic_fetch_sub(&params.ports, 1u, __ATOMIC_SEQ_CST);
  return Ok{};
}

void XdpSensor::setCookieParams(uint16_t mss4, uint16_t mss6, uint8_t wscale, uint8_t ttl) {
  volatile sg_cookie_params& params = skel_->data_cookie->sg_cookie;
  params.mss4 = mss4;
  params.mss6 = mss6;
  params.wscale = wscale;
  params.ttl = ttl;
}

uint32_t XdpSensor::cookiePorts() const {
  return __atomic_load_n(&skel_->data_cookie->sg_cookie.ports, __ATOMIC_SEQ_CST);
}

}  // namespace sg
