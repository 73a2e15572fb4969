// XdpSensor: the block map, the block prefilter and the source count.
//
// The prefilter: the program looks a source up in sg_blocks only when its bit
// in sg_block_bits is set (and, for non-attempts, only when sg_blocks_maybe
// is). Whoever inserts a block sets its bit and the summary afterwards; only
// user space clears bits, by rebuilding the bitmap from the map
// (rebuildBlockBits). A stale bit costs one hash lookup; a missing bit would
// let a blocked source through, so the order of the rebuild matters.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cerrno>
#include <cstring>

#include "linux/errno_text.h"
#include "linux/xdp_sensor.h"
#include "sg_track.h"
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
  return __atomic_load_n(&skel_->data_blockbits->sg_blocks_maybe, __ATOMIC_SEQ_CST) != 0;
}

size_t XdpSensor::blockBitsSet() const {
  size_t n = 0;
  for (const auto& w : skel_->data_blockbits->sg_block_bits) {
    n += static_cast<size_t>(__builtin_popcountll(__atomic_load_n(&w, __ATOMIC_SEQ_CST)));
  }
  return n;
}

void XdpSensor::setBlockBit(const sg_addr& key) {
  const uint32_t bit = sg_block_bit(sg_addr_hash(&key, &hash_key_));
  __atomic_fetch_or(&skel_->data_blockbits->sg_block_bits[bit / 64], 1ull << (bit % 64),
                    __ATOMIC_SEQ_CST);
  __atomic_store_n(&skel_->data_blockbits->sg_blocks_maybe, 1u, __ATOMIC_SEQ_CST);
}

// Fail safe: every bit set, every packet pays the lookup, no block is missed.
void XdpSensor::fillBlockBits() {
  for (auto& w : skel_->data_blockbits->sg_block_bits) {
    __atomic_store_n(&w, ~0ull, __ATOMIC_SEQ_CST);
  }
  __atomic_store_n(&skel_->data_blockbits->sg_blocks_maybe, 1u, __ATOMIC_SEQ_CST);
}

// Rebuild: (1) list the map and compute the bitmap of its keys, (2) write it
// word by word, then the summary, (3) list the map again and set the bit and
// the summary of every block found. Why a block the kernel inserts
// concurrently is never left without its bit: the kernel sets the bit (and
// the summary) after its insert. If its set lands after our write of that
// word (or of the summary), it survives. If it lands before, then the insert
// happened before our write, hence before the re-read of step 3 began, so
// step 3 finds the block (unless it was deleted meanwhile, and then it needs
// no bit) and sets the bit again. Every step is a sequentially consistent
// store or a syscall, and the kernel's bit set is a locked read-modify-write.
Result<void> XdpSensor::rebuildBlockBits() {
  auto before = listBlocks();
  if (!before.ok()) return before.error();  // bitmap untouched: still a superset
  __u64 fresh[SG_BLOCK_WORDS] = {};
  for (const KernelBlock& kb : *before) {
    const uint32_t bit = sg_block_bit(sg_addr_hash(&kb.key, &hash_key_));
    fresh[bit / 64] |= 1ull << (bit % 64);
  }
  for (size_t i = 0; i < SG_BLOCK_WORDS; i++) {
    __atomic_store_n(&skel_->data_blockbits->sg_block_bits[i], fresh[i], __ATOMIC_SEQ_CST);
  }
  __atomic_store_n(&skel_->data_blockbits->sg_blocks_maybe, before->empty() ? 0u : 1u,
                   __ATOMIC_SEQ_CST);
  auto after = listBlocks();
  if (!after.ok()) {
    fillBlockBits();
    return after.error();
  }
  for (const KernelBlock& kb : *after) setBlockBit(kb.key);
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
  setBlockBit(key);  // after the insert, as the kernel does
  return Ok{};
}

Result<bool> XdpSensor::removeBlock(const sg_addr& key) {
  bool existed = true;
  if (bpf_map_delete_elem(bpf_map__fd(skel_->maps.sg_blocks), &key) != 0) {
    if (errno != ENOENT) return mapError("removing a block failed", errno);
    existed = false;
  }
  SG_TRY(rebuildBlockBits());
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
  SG_TRY(rebuildBlockBits());
  return expired;
}

Result<size_t> XdpSensor::sourceCount() {
  auto c = readCounters();
  if (!c.ok()) return c.error();
  // Two CPUs filling the same empty slot at the same instant count it twice:
  // clamp to what the array can hold.
  const uint64_t n = c->c[SG_CNT_SLOTS_FILLED];
  return static_cast<size_t>(n < slots_ ? n : slots_);
}

}  // namespace sg
