// XdpSensor: the host's own addresses (bpf/sg_local.h). sg_local_addrs is
// made to hold exactly the given addresses (stale ones deleted first, then
// new ones added), then sg_local_on turns the check on. Only the agent's
// loop thread writes them.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cerrno>
#include <cstring>
#include <set>
#include <vector>

#include "linux/errno_text.h"
#include "linux/xdp_sensor.h"
#include "sg_local.h"
#include "syn_guard.skel.h"

namespace sg {
namespace {

struct AddrLess {
  bool operator()(const sg_addr& a, const sg_addr& b) const {
    return std::memcmp(a.b, b.b, sizeof a.b) < 0;
  }
};

constexpr const char* kCheckOff =
    ": the check is off (every destination counts as local), and the reflection drop only counts";

}  // namespace

Result<void> XdpSensor::setLocalAddresses(const std::vector<Address>& addrs) {
  volatile uint32_t& on = skel_->bss->sg_local_on;
  std::set<sg_addr, AddrLess> want;
  for (const Address& a : addrs) want.insert(a.raw);
  if (want.size() > SG_LOCAL_MAX) {
    __atomic_store_n(&on, 0u, __ATOMIC_SEQ_CST);  // every destination counts as local
    return makeError(Errc::kResourceExhausted,
                     std::to_string(want.size()) + " local addresses, more than " +
                         std::to_string(SG_LOCAL_MAX) +
                         ": forwarded traffic is counted and answered as the host's own, and the "
                         "reflection drop only counts");
  }
  const int fd = bpf_map__fd(skel_->maps.sg_local_addrs);
  std::vector<sg_addr> stale;
  sg_addr cur{}, next{};
  const void* prev = nullptr;
  while (bpf_map_get_next_key(fd, prev, &next) == 0) {
    if (want.count(next) == 0) stale.push_back(next);
    cur = next;
    prev = &cur;
  }
  // Stale ones deleted first, so the map never holds the union (an address
  // change of more than half of SG_LOCAL_MAX overflowed it half-way); an
  // address kept all along is never touched. A failure turns the check off
  // (every destination counts as local) rather than leave a partial list on.
  for (const sg_addr& a : stale) {
    if (bpf_map_delete_elem(fd, &a) != 0 && errno != ENOENT) {
      const int err = errno;
      __atomic_store_n(&on, 0u, __ATOMIC_SEQ_CST);
      return makeError(Errc::kIo, "removing from sg_local_addrs: " + errnoText(err) + kCheckOff);
    }
  }
  const uint8_t one = 1;
  for (const sg_addr& a : want) {
    if (bpf_map_update_elem(fd, &a, &one, BPF_ANY) != 0) {
      const int err = errno;
      __atomic_store_n(&on, 0u, __ATOMIC_SEQ_CST);
      return makeError(Errc::kIo, "adding to sg_local_addrs: " + errnoText(err) + kCheckOff);
    }
  }
  __atomic_store_n(&on, 1u, __ATOMIC_SEQ_CST);
  return Ok{};
}

}  // namespace sg
