// XdpSensor: the signature drop (bpf/sg_sig_bpf.h). sg_sig_sets holds each
// target's signatures; sg_sig_targets counts its entries: the program's gate
// (0: no attempt pays a lookup). Raised before an entry appears and lowered
// after it is gone, so the gate never hides an entry. Only the agent's loop
// thread writes them.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <algorithm>
#include <cerrno>

#include "linux/errno_text.h"
#include "linux/xdp_sensor.h"
#include "syn_guard.skel.h"

namespace sg {

namespace {

sg_sig_key sigKey(const sg_addr& dst, uint16_t port) {
  sg_sig_key k{};
  k.dst = dst;
  k.port = port;
  return k;
}

}  // namespace

Result<void> XdpSensor::setSignatures(const sg_addr& dst, uint16_t port,
                                      const std::vector<sg_sig>& sigs) {
  const int fd = bpf_map__fd(skel_->maps.sg_sig_sets);
  const sg_sig_key key = sigKey(dst, port);
  volatile uint32_t* gate = &skel_->bss->sg_sig_targets;
  sg_sig_set old{};
  const bool existed = bpf_map_lookup_elem(fd, &key, &old) == 0;
  if (sigs.empty()) {
    if (!existed) return Ok{};
    if (bpf_map_delete_elem(fd, &key) != 0 && errno != ENOENT) {
      return makeError(Errc::kIo, "removing from sg_sig_sets: " + errnoText(errno));
    }
    __atomic_fetch_sub(gate, 1u, __ATOMIC_SEQ_CST);
    return Ok{};
  }
  if (sigs.size() > SG_SIG_MAX) {
    return makeError(Errc::kInvalidArgument, "at most " + std::to_string(SG_SIG_MAX) +
                                                 " signatures per target, not " +
                                                 std::to_string(sigs.size()));
  }
  sg_sig_set set{};
  set.n = static_cast<uint32_t>(sigs.size());
  for (size_t i = 0; i < sigs.size(); i++) set.sig[i] = sigs[i];
  if (!existed) __atomic_fetch_add(gate, 1u, __ATOMIC_SEQ_CST);
  if (bpf_map_update_elem(fd, &key, &set, BPF_ANY) != 0) {
    const int err = errno;
    if (!existed) __atomic_fetch_sub(gate, 1u, __ATOMIC_SEQ_CST);
    return makeError(err == E2BIG || err == ENOSPC ? Errc::kResourceExhausted : Errc::kIo,
                     "writing sg_sig_sets: " + errnoText(err));
  }
  return Ok{};
}

Result<std::vector<uint64_t>> XdpSensor::signatureMatches(const sg_addr& dst, uint16_t port) {
  const sg_sig_key key = sigKey(dst, port);
  sg_sig_set set{};
  if (bpf_map_lookup_elem(bpf_map__fd(skel_->maps.sg_sig_sets), &key, &set) != 0) {
    if (errno == ENOENT) return std::vector<uint64_t>{};
    return makeError(Errc::kIo, "reading sg_sig_sets: " + errnoText(errno));
  }
  return std::vector<uint64_t>(set.matched, set.matched + std::min<uint32_t>(set.n, SG_SIG_MAX));
}

uint32_t XdpSensor::signatureTargets() const {
  return __atomic_load_n(&skel_->bss->sg_sig_targets, __ATOMIC_SEQ_CST);
}

}  // namespace sg
