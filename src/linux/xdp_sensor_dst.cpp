// XdpSensor: the destination-side counters (bpf/sg_dst.h) — the table
// through its mmap, harvested by core/dst_table.cpp — and the handshake
// tracepoint that counts completions (bpf/sg_dst_bpf.h).
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <sys/mman.h>

#include <cerrno>
#include <span>

#include "linux/errno_text.h"
#include "linux/xdp_sensor.h"
#include "syn_guard.skel.h"

namespace sg {

Result<void> XdpSensor::openDsts() {
  const size_t n = bpf_map__max_entries(skel_->maps.sg_dsts);
  void* p = mmap(nullptr, n * sizeof(sg_dst), PROT_READ | PROT_WRITE, MAP_SHARED,
                 bpf_map__fd(skel_->maps.sg_dsts), 0);
  if (p == MAP_FAILED) {
    return makeError(Errc::kIo, "mapping the destination table failed: " + errnoText(errno));
  }
  dsts_ = static_cast<sg_dst*>(p);
  dsts_len_ = n;
  handshake_link_ =
      bpf_program__attach_raw_tracepoint(skel_->progs.sg_handshake_done, "inet_sock_set_state");
  if (handshake_link_ == nullptr) {
    handshake_note_ = "the handshake tracepoint (sock:inet_sock_set_state) did not attach (" +
                      errnoText(errno) + "): completion ratios are unknown";
  }
  return Ok{};
}

void XdpSensor::closeDsts() {
  if (handshake_link_ != nullptr) bpf_link__destroy(handshake_link_);
  handshake_link_ = nullptr;
  if (dsts_ != nullptr) munmap(dsts_, dsts_len_ * sizeof(sg_dst));
  dsts_ = nullptr;
}

std::vector<DstSample> XdpSensor::harvestDsts() {
  if (dsts_ == nullptr) return {};
  return sg::harvestDsts(std::span<sg_dst>(dsts_, dsts_len_),
                         const_cast<uint32_t*>(&skel_->bss->sg_dst_bank));
}

}  // namespace sg
