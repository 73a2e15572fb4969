/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * sg_block_cache_bpf.h — the block cache: a packet of a blocked source
 * dropped without the sg_blocks hash lookup. Layout and rules in sg_shared.h
 * (struct sg_block_cache_entry); BPF only, included by syn_guard.bpf.c after
 * its maps and sg_event_bpf.h.
 *
 * Why: a hash-map lookup is a call into the kernel, ~25 ns on CPUs whose
 * returns go through a mitigation thunk (docs/architecture.md, "Calls cost
 * more than they look"); an ARRAY lookup is inlined by the verifier. The
 * prefilter bit still gates everything here, so an unblocked source whose
 * bit is clear never reads the cache.
 *
 * Filled where the program already holds the block: when a lookup finds a
 * block that drops (not at the crossing that makes it: the crossing's packet
 * is dropped by sg_cross, and the source's next packet fills the entry).
 * Each fill stores the sg_block_epoch read BEFORE the lookup, and user space
 * bumps the epoch AFTER it deletes or softens a block, so an entry filled
 * from a block that is gone carries a stale epoch: after an unblock returns,
 * no packet is dropped through the cache. "Before" needs the epoch's load
 * ordered before the lookup's: x86 keeps loads in order; on CPUs that may
 * not (arm64), the loader sets sg_block_cache_weak and the fill reads the
 * epoch again before its CAS (a full barrier in BPF) and looks the block up
 * again after it, filling only from that lookup. Expired blocks need no
 * bump: the entry holds the block's expiry and stops at it as the block does.
 * The cache only ever drops what a lookup would drop; a miss (empty, other
 * key, stale epoch, being rewritten) falls through to the lookup.
 *
 * Thrash: blocked sources that share an entry (about 39% of a full table's,
 * 2 x max_blocks entries) and interleave refill it at each packet: a lookup,
 * the fill and the fold of the other's drops (a second lookup), dearer than
 * the lookup alone; bench/xdp_cost_bench prices it ("blocked, entry shared").
 */
#ifndef SG_BLOCK_CACHE_BPF_H
#define SG_BLOCK_CACHE_BPF_H

/* Entries - 1 (a power of two, at most 2^20); the loader sizes it. */
const volatile __u32 sg_block_cache_mask = 32767;

/* 1 on CPUs that may reorder loads (not x86): the loader sets it; see
 * sg_block_cache_fill. */
const volatile __u32 sg_block_cache_weak = 0;

/* The block epoch (never 0): bumped by user space after it ends or softens a
 * block (XdpSensor). It starts at 1 at each load; the cache is not pinned, so
 * a new run starts with an empty cache and no entry of an earlier run can
 * match (pinning the cache would need a fresh epoch at each load). */
volatile __u32 sg_block_epoch SEC(".data.blockbits") = 1;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 32768); /* resized by the loader: 2 x max_blocks, a power of two */
	__uint(map_flags, BPF_F_MMAPABLE); /* user space reads the drop counts through its mmap */
	__type(key, __u32);
	__type(value, struct sg_block_cache_entry);
} sg_block_cache SEC(".maps");

static __always_inline struct sg_block_cache_entry *sg_block_cache_at(__u64 hash)
{
	__u32 i = sg_block_cache_index(hash, sg_block_cache_mask);

	return bpf_map_lookup_elem(&sg_block_cache, &i);
}

/* True when entry e says `key` is blocked, dropping, at `now` and epoch
 * `epoch` (read once by the caller). Reads are bracketed by the entry's seq,
 * so a half-written entry is never believed. */
static __always_inline int sg_block_cache_hit(struct sg_block_cache_entry *e,
					      const struct sg_addr *key, __u64 now, __u32 epoch)
{
	__u32 seq = *(volatile __u32 *)&e->seq;
	__u64 k0, k1, a0, a1, exp;

	if ((seq & 1) || *(volatile __u32 *)&e->epoch != epoch)
		return 0;
	k0 = *(volatile __u64 *)&e->key.b[0];
	k1 = *(volatile __u64 *)&e->key.b[8];
	exp = *(volatile __u64 *)&e->expires_ns;
	__builtin_memcpy(&a0, &key->b[0], 8);
	__builtin_memcpy(&a1, &key->b[8], 8);
	return k0 == a0 && k1 == a1 && now < exp && *(volatile __u32 *)&e->seq == seq;
}

/* Entry e now says: `key` blocked, dropping, until expires_ns, as of `epoch`
 * (read before the caller found the block). One CPU writes an entry at a
 * time (seq odd); a CPU that finds it taken leaves it. The drops an entry
 * counted for another block go to that block first, while it is there (its
 * expiry names it). A function of its own: it runs once per block and epoch,
 * and inlined its branches weigh on the verifier.
 * With sg_block_cache_weak the caller's epoch may have been loaded after its
 * lookup: the epoch is read again before the CAS, which BPF makes a full
 * barrier (arm64: casal, or ldxr/stlxr and dmb), and the block looked up
 * again after it; no dropping block of that expiry, no fill. */
static __attribute__((noinline)) void sg_block_cache_fill(struct sg_block_cache_entry *e,
							   const struct sg_addr *key,
							   __u64 expires_ns, __u32 epoch)
{
	__u32 seq = *(volatile __u32 *)&e->seq;
	__u64 k0, k1, a0, a1;

	if (sg_block_cache_weak)
		epoch = *(volatile __u32 *)&sg_block_epoch;
	if ((seq & 1) || __sync_val_compare_and_swap(&e->seq, seq, seq + 1) != seq)
		return;
	if (sg_block_cache_weak) {
		struct sg_block *b = bpf_map_lookup_elem(&sg_blocks, key);

		if (!b || b->expires_ns != expires_ns ||
		    (b->flags & (SG_BLK_XDP_DROP | SG_BLK_HANDED_OFF)) != SG_BLK_XDP_DROP) {
			__sync_lock_test_and_set(&e->seq, seq + 2); /* left as it was */
			return;
		}
	}
	__builtin_memcpy(&k0, &e->key.b[0], 8);
	__builtin_memcpy(&k1, &e->key.b[8], 8);
	__builtin_memcpy(&a0, &key->b[0], 8);
	__builtin_memcpy(&a1, &key->b[8], 8);
	if (k0 != a0 || k1 != a1 || e->expires_ns != expires_ns) {
		if (e->drops && e->epoch) {
			struct sg_block *ob = bpf_map_lookup_elem(&sg_blocks, &e->key);

			if (ob && ob->expires_ns == e->expires_ns)
				__sync_fetch_and_add(&ob->drops, e->drops);
		}
		e->drops = 0;
		e->key = *key;
		e->expires_ns = expires_ns;
	}
	e->epoch = epoch;
	__sync_lock_test_and_set(&e->seq, seq + 2); /* a full barrier: the entry is whole */
}

#endif /* SG_BLOCK_CACHE_BPF_H */
