// XdpSensor: the block map, the sg_blocks_active hint and the source count.
//
// The hint: the program skips the sg_blocks lookup entirely while
// sg_blocks_active is 0. The kernel sets it when it adds a block; user space
// sets it when it adds one, and clears it only when it finds the map empty —
// clear first, then look again, and set it back if a block appeared in
// between (the kernel may have added one after the emptiness check). A stale
// 1 costs a lookup; a stale 0 would let a blocked source through, so the
// order matters.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cerrno>
#include <cstring>

#include "linux/errno_text.h"
#include "linux/xdp_sensor.h"
#include "syn_guard.skel.h"

namespace sg {
namespace {

Error mapError(const char* what, int err) {
  return makeError(
      err == ENOSPC || err == E2BIG || err == ENOMEM ? Errc::kResourceExhausted : Errc::kIo,
      std::string(what) + ": " + errnoText(err));
}

}  // namespace

bool XdpSensor::blocksActiveHint() const {
  return __atomic_load_n(&skel_->bss->sg_blocks_active, __ATOMIC_SEQ_CST) != 0;
}

void XdpSensor::setBlocksHint(uint32_t value) {
  __atomic_store_n(&skel_->bss->sg_blocks_active, value, __ATOMIC_SEQ_CST);
}

Result<void> XdpSensor::refreshBlocksHint() {
  const int fd = bpf_map__fd(skel_->maps.sg_blocks);
  sg_addr first{};
  if (bpf_map_get_next_key(fd, nullptr, &first) == 0) return Ok{};  // not empty: keep it
  if (errno != ENOENT) return mapError("scanning the block map failed", errno);
  setBlocksHint(0);
  if (bpf_map_get_next_key(fd, nullptr, &first) == 0) {
    setBlocksHint(1);  // the kernel added a block in between
  } else if (errno != ENOENT) {
    setBlocksHint(1);  // fail safe: a stale 1 only costs a lookup
    return mapError("scanning the block map failed", errno);
  }
  return Ok{};
}

Result<std::vector<KernelBlock>> XdpSensor::listBlocks() {
  const int fd = bpf_map__fd(skel_->maps.sg_blocks);
  std::vector<KernelBlock> out;
  sg_addr cur{}, next{};
  const void* prev = nullptr;
  while (bpf_map_get_next_key(fd, prev, &next) == 0) {
    KernelBlock kb;
    kb.key = next;
    if (bpf_map_lookup_elem(fd, &next, &kb.block) == 0) {
      out.push_back(kb);
    } else if (errno != ENOENT) {  // ENOENT: deleted meanwhile
      return mapError("reading the block map failed", errno);
    }
    cur = next;
    prev = &cur;
  }
  if (errno != ENOENT) return mapError("scanning the block map failed", errno);
  return out;
}

Result<void> XdpSensor::addBlock(const sg_addr& key, const sg_block& block) {
  if (bpf_map_update_elem(bpf_map__fd(skel_->maps.sg_blocks), &key, &block, BPF_ANY) != 0) {
    return mapError("adding a block failed", errno);
  }
  setBlocksHint(1);
  return Ok{};
}

Result<bool> XdpSensor::removeBlock(const sg_addr& key) {
  bool existed = true;
  if (bpf_map_delete_elem(bpf_map__fd(skel_->maps.sg_blocks), &key) != 0) {
    if (errno != ENOENT) return mapError("removing a block failed", errno);
    existed = false;
  }
  SG_TRY(refreshBlocksHint());
  return existed;
}

Result<void> XdpSensor::markHandedOff(const sg_addr& key) {
  const int fd = bpf_map__fd(skel_->maps.sg_blocks);
  sg_block b{};
  if (bpf_map_lookup_elem(fd, &key, &b) != 0) {
    if (errno == ENOENT) {
      return makeError(Errc::kNotFound, "cannot hand off " + Address{key}.str() +
                                            ": it is not blocked (expired or removed)");
    }
    return mapError("reading a block failed", errno);
  }
  b.flags |= SG_BLK_HANDED_OFF;
  // BPF_EXIST: never resurrect a block that expired between lookup and update.
  // (The drops counter may lose the kernel's increments of that instant.)
  if (bpf_map_update_elem(fd, &key, &b, BPF_EXIST) != 0) {
    if (errno == ENOENT) {
      return makeError(Errc::kNotFound,
                       "cannot hand off " + Address{key}.str() + ": its block just ended");
    }
    return mapError("marking a block handed off failed", errno);
  }
  return Ok{};
}

Result<std::vector<KernelBlock>> XdpSensor::sweepExpired(uint64_t now_ns) {
  auto all = listBlocks();
  if (!all.ok()) return all.error();
  const int fd = bpf_map__fd(skel_->maps.sg_blocks);
  std::vector<KernelBlock> expired;
  for (const KernelBlock& kb : *all) {
    if (kb.block.expires_ns > now_ns) continue;
    // Read it again right before deleting: the kernel may have replaced an
    // expired block with a fresh one for the same source since the listing.
    // (No compare-and-delete exists for BPF maps; this narrows the race to
    // the gap between two syscalls.)
    sg_block again{};
    if (bpf_map_lookup_elem(fd, &kb.key, &again) != 0 || again.expires_ns > now_ns) continue;
    if (bpf_map_delete_elem(fd, &kb.key) == 0) {
      expired.push_back(kb);
    } else if (errno != ENOENT) {  // ENOENT: the kernel removed it first
      return mapError("removing an expired block failed", errno);
    }
  }
  SG_TRY(refreshBlocksHint());
  return expired;
}

Result<size_t> XdpSensor::sourceCount() {
  const int fd = bpf_map__fd(skel_->maps.sg_sources);
  size_t n = 0;
  sg_addr cur{}, next{};
  const void* prev = nullptr;
  while (bpf_map_get_next_key(fd, prev, &next) == 0) {
    n++;
    cur = next;
    prev = &cur;
  }
  if (errno != ENOENT) return mapError("scanning the source map failed", errno);
  return n;
}

}  // namespace sg
