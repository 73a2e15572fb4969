// XdpSensor: the block map, the block prefilter and the source count.
//
// The prefilter: the program looks a source up in sg_blocks only when its bit
// in sg_block_bits is set (and, for non-attempts, only when sg_blocks_maybe
// is). Whoever inserts a block sets its bit and the summary afterwards; only
// user space clears bits, and only the bits no listed block needs, one atomic
// AND per word (rebuildBlockBits). A stale bit costs one hash lookup; a
// missing bit would let a blocked source through.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <sys/mman.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "linux/errno_text.h"
#include "linux/xdp_sensor.h"
#include "sg_track.h"
#include "syn_guard.skel.h"

namespace sg {
namespace {

constexpr size_t kListBatch = 4096;  // entries per bpf_map_lookup_batch call

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

uint32_t XdpSensor::blockBitOf(const sg_addr& key) const {
  return sg_block_bit(sg_addr_hash(&key, &hash_key_));
}

void XdpSensor::setBlockBit(const sg_addr& key) {
  const uint32_t bit = blockBitOf(key);
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

// Rebuild, clearing only bits no block needs: (1) snapshot the bitmap, (2)
// list the map and compute the bits its keys need, (3) clear, with an atomic
// AND, the snapshot's bits that no listed key needs, (4) list the map again
// and set the bit of every block found.
// A block the kernel inserts during the rebuild keeps its bit: the kernel
// sets it after its insert and user space never writes a whole word, so the
// bit can only be lost if (3) clears it — which needs it set in the snapshot
// and unneeded by the listing, i.e. shared with a key deleted just now (a
// collision: 1 in SG_BLOCK_BITS per cleared bit, or the same source blocked
// again within microseconds of the deletion). For that case alone the bit is
// missing from (3) until (4) sets it again, one map scan later. A key that
// existed before (1) and still exists is in the listing of (2), so its bit is
// never cleared. The summary (sg_blocks_maybe) is cleared only when the
// bitmap is empty after (3), and set again in (4) if a block appeared.
Result<void> XdpSensor::rebuildBlockBits() {
  __u64* bits = skel_->data_blockbits->sg_block_bits;
  std::vector<__u64> snapshot(SG_BLOCK_WORDS);  // 128 KiB: on the heap, not the stack
  for (size_t i = 0; i < SG_BLOCK_WORDS; i++) {
    snapshot[i] = __atomic_load_n(&bits[i], __ATOMIC_SEQ_CST);
  }
  auto before = listBlocks();
  if (!before.ok()) return before.error();  // bitmap untouched: still a superset
  std::vector<__u64> needed(SG_BLOCK_WORDS, 0);
  for (const KernelBlock& kb : *before) {
    const uint32_t bit = blockBitOf(kb.key);
    needed[bit / 64] |= 1ull << (bit % 64);
  }
  if (rebuild_hook_) rebuild_hook_(RebuildStep::kListed);
  bool any = false;
  for (size_t i = 0; i < SG_BLOCK_WORDS; i++) {
    const __u64 clear = snapshot[i] & ~needed[i];
    const __u64 left = clear != 0 ? __atomic_and_fetch(&bits[i], ~clear, __ATOMIC_SEQ_CST)
                                  : __atomic_load_n(&bits[i], __ATOMIC_SEQ_CST);
    any = any || left != 0;
  }
  if (!any) __atomic_store_n(&skel_->data_blockbits->sg_blocks_maybe, 0u, __ATOMIC_SEQ_CST);
  if (rebuild_hook_) rebuild_hook_(RebuildStep::kCleared);
  auto after = listBlocks();
  if (!after.ok()) {
    fillBlockBits();
    return after.error();
  }
  for (const KernelBlock& kb : *after) setBlockBit(kb.key);
  return Ok{};
}

Result<void> XdpSensor::openBlockCache() {
  const size_t n = bpf_map__max_entries(skel_->maps.sg_block_cache);
  void* p = mmap(nullptr, n * sizeof(sg_block_cache_entry), PROT_READ, MAP_SHARED,
                 bpf_map__fd(skel_->maps.sg_block_cache), 0);
  if (p == MAP_FAILED) {
    return makeError(Errc::kIo, "mapping the block cache failed: " + errnoText(errno));
  }
  block_cache_ = static_cast<const sg_block_cache_entry*>(p);
  block_cache_len_ = n;
  return Ok{};
}

void XdpSensor::closeBlockCache() {
  if (block_cache_ != nullptr) {
    munmap(const_cast<sg_block_cache_entry*>(block_cache_),
           block_cache_len_ * sizeof(sg_block_cache_entry));
  }
  block_cache_ = nullptr;
}

// The entry is read between two reads of its seq (odd while a CPU rewrites
// it); a few tries, then 0 (a count, never a verdict, depends on it).
uint64_t XdpSensor::cachedDrops(const sg_addr& key, uint64_t expires_ns) const {
  if (block_cache_ == nullptr) return 0;
  const uint32_t mask = static_cast<uint32_t>(block_cache_len_ - 1);
  const sg_block_cache_entry& e =
      block_cache_[sg_block_cache_index(sg_addr_hash(&key, &hash_key_), mask)];
  const auto* words = reinterpret_cast<const uint64_t*>(e.key.b);
  uint64_t want[2];
  std::memcpy(want, key.b, sizeof want);
  for (int attempt = 0; attempt < 8; attempt++) {
    const uint32_t seq = __atomic_load_n(&e.seq, __ATOMIC_ACQUIRE);
    if ((seq & 1) != 0) continue;
    const bool same = __atomic_load_n(&words[0], __ATOMIC_RELAXED) == want[0] &&
                      __atomic_load_n(&words[1], __ATOMIC_RELAXED) == want[1] &&
                      __atomic_load_n(&e.expires_ns, __ATOMIC_RELAXED) == expires_ns;
    const uint64_t drops = __atomic_load_n(&e.drops, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    if (__atomic_load_n(&e.seq, __ATOMIC_RELAXED) == seq) return same ? drops : 0;
  }
  return 0;
}

// 0 marks an empty entry: the epoch skips it.
void XdpSensor::bumpBlockEpoch() {
  auto* epoch = const_cast<__u32*>(&skel_->data_blockbits->sg_block_epoch);
  if (__atomic_add_fetch(epoch, 1u, __ATOMIC_SEQ_CST) == 0) {
    __atomic_add_fetch(epoch, 1u, __ATOMIC_SEQ_CST);
  }
}

// Batched: one syscall per kBatch entries instead of two per entry. Each
// block's drops include those counted through the block cache.
Result<std::vector<KernelBlock>> XdpSensor::listBlocks() {
  const int fd = bpf_map__fd(skel_->maps.sg_blocks);
  std::vector<KernelBlock> out;
  size_t batch = std::min<size_t>(options_.max_blocks, kListBatch);
  std::vector<sg_addr> keys(batch);
  std::vector<sg_block> values(batch);
  sg_addr token{};  // the kernel's cursor (a bucket index for hash maps)
  bool first = true;
  LIBBPF_OPTS(bpf_map_batch_opts, opts);
  for (;;) {
    __u32 count = static_cast<__u32>(batch);
    const int err = bpf_map_lookup_batch(fd, first ? nullptr : &token, &token, keys.data(),
                                         values.data(), &count, &opts);
    const int e = errno;
    for (__u32 i = 0; i < count; i++) out.push_back({keys[i], values[i]});
    if (err == 0) {
      first = false;
      continue;
    }
    if (e == ENOENT) break;  // the end of the map
    if (e == ENOSPC && count == 0 && batch < options_.max_blocks) {
      batch = std::min<size_t>(batch * 2, options_.max_blocks);  // a bucket larger than batch
      keys.resize(batch);
      values.resize(batch);
      continue;
    }
    return mapError("reading the block map failed", e);
  }
  for (KernelBlock& kb : out) kb.block.drops += cachedDrops(kb.key, kb.block.expires_ns);
  return out;
}

Result<void> XdpSensor::addBlock(const sg_addr& key, const sg_block& block) {
  if (bpf_map_update_elem(bpf_map__fd(skel_->maps.sg_blocks), &key, &block, BPF_ANY) != 0) {
    return mapError("adding a block failed", errno);
  }
  bumpBlockEpoch();  // it may have replaced a block the cache holds
  setBlockBit(key);  // after the insert, as the kernel does
  return Ok{};
}

Result<bool> XdpSensor::removeBlock(const sg_addr& key) {
  bool existed = true;
  if (bpf_map_delete_elem(bpf_map__fd(skel_->maps.sg_blocks), &key) != 0) {
    if (errno != ENOENT) return mapError("removing a block failed", errno);
    existed = false;
  }
  bumpBlockEpoch();  // after the delete: no packet is dropped through the cache once this returns
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
  bumpBlockEpoch();  // XDP stops dropping it: so does the cache
  return Ok{};
}

// One batched listing, then each expired block taken out with
// lookup-and-delete, which returns what it deleted: if the kernel replaced
// the expired block with a fresh one since the listing (its source crossed
// again), the fresh one is put back at once. (A plain batch delete has no
// such compare: it would delete the fresh block and unblock the source.)
Result<std::vector<KernelBlock>> XdpSensor::sweepExpired(uint64_t now_ns) {
  auto all = listBlocks();
  if (!all.ok()) return all.error();
  const int fd = bpf_map__fd(skel_->maps.sg_blocks);
  std::vector<KernelBlock> expired;
  for (const KernelBlock& kb : *all) {
    if (kb.block.expires_ns > now_ns) continue;
    sg_block taken{};
    if (bpf_map_lookup_and_delete_elem(fd, &kb.key, &taken) != 0) {
      if (errno == ENOENT) continue;  // the kernel removed it first
      return mapError("removing an expired block failed", errno);
    }
    if (taken.expires_ns > now_ns) {
      // A fresh block: restore it (unless the kernel inserted yet another).
      if (bpf_map_update_elem(fd, &kb.key, &taken, BPF_NOEXIST) != 0 && errno != EEXIST) {
        return mapError("restoring a fresh block failed", errno);
      }
      setBlockBit(kb.key);
      continue;
    }
    // No epoch bump: an expired block's cache entry ends at the same expiry.
    taken.drops += cachedDrops(kb.key, taken.expires_ns);
    expired.push_back({kb.key, taken});
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
