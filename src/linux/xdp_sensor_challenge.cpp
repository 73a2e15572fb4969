// XdpSensor: challenge instead of block (bpf/sg_challenge.h). The kernel marks
// a source challenged in sg_blocks at its crossing; the agent arms it here,
// in sg_challenged, once the kernel's SYNPROXY covers the source, and disarms
// it when the challenge ends. sg_chal.live is the program's gate: 1 while an
// entry may exist. Only the agent's loop thread writes them.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cerrno>

#include "linux/errno_text.h"
#include "linux/xdp_sensor.h"
#include "syn_guard.skel.h"

namespace sg {

bool XdpSensor::challengeAvailable() { return conntrackKfuncsPresent(); }

Result<void> XdpSensor::armChallenge(const sg_addr& key, uint64_t expires_ns) {
  if (!challengeAvailable()) {
    return makeError(Errc::kUnavailable,
                     "challenges need the kernel's conntrack kfuncs (bpf_xdp_ct_lookup), absent");
  }
  const int fd = bpf_map__fd(skel_->maps.sg_challenged);
  sg_challenge c{};
  // Re-arming keeps the completions counted so far.
  if (bpf_map_lookup_elem(fd, &key, &c) != 0) c = sg_challenge{};
  c.expires_ns = expires_ns;
  // The gate first: an entry without it would never be looked at.
  __atomic_store_n(&skel_->data_chal->sg_chal.live, 1u, __ATOMIC_SEQ_CST);
  if (bpf_map_update_elem(fd, &key, &c, BPF_ANY) != 0) {
    const int err = errno;
    return makeError(err == E2BIG || err == ENOSPC ? Errc::kResourceExhausted : Errc::kIo,
                     "arming a challenge in sg_challenged: " + errnoText(err));
  }
  return Ok{};
}

Result<void> XdpSensor::disarmChallenge(const sg_addr& key) {
  const int fd = bpf_map__fd(skel_->maps.sg_challenged);
  if (bpf_map_delete_elem(fd, &key) != 0 && errno != ENOENT) {
    return makeError(Errc::kIo, "disarming a challenge in sg_challenged: " + errnoText(errno));
  }
  sg_addr next{};
  if (bpf_map_get_next_key(fd, nullptr, &next) != 0 && errno == ENOENT) {
    __atomic_store_n(&skel_->data_chal->sg_chal.live, 0u, __ATOMIC_SEQ_CST);
  }
  return Ok{};
}

size_t XdpSensor::armedChallenges() const {
  const int fd = bpf_map__fd(skel_->maps.sg_challenged);
  size_t n = 0;
  sg_addr cur{}, next{};
  const void* prev = nullptr;
  while (bpf_map_get_next_key(fd, prev, &next) == 0 && n < (1u << 24)) {
    n++;
    cur = next;
    prev = &cur;
  }
  return n;
}

}  // namespace sg
