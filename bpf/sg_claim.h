/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * sg_claim.h — the way of its set that a new source counts in, taken while
 * other CPUs may be admitting the same source or a rival of its set (RSS
 * spreads one source's first SYNs over several queues). Compiled by the XDP
 * program (sg_admit in sg_cross_bpf.h) and by the C++ unit test that runs two
 * "CPUs" through every interleaving of its steps (src/core/slot_claim_test.cpp,
 * through SG_SYNC_POINT). "Several CPUs, one source" in docs/architecture.md.
 */
#ifndef SG_CLAIM_H
#define SG_CLAIM_H

#include "sg_track.h"

#define SG_SLOT_LAST(s) (*(volatile __u64 *)&(s)->last_ns)

/* How sg_slot_claim found the source's way. */
#define SG_CLAIM_FOUND 0        /* already the source's (another CPU filled it) */
#define SG_CLAIM_FILLED 1       /* filled for it, evicting the way's source */
#define SG_CLAIM_FILLED_EMPTY 2 /* filled for it, the way was empty */

/* True when the slot holds `key` and no CPU is filling it (a claimed slot
 * may show the key before its state is cleared: sg_slot_fill publishes
 * last_ns last). */
SG_INLINE int sg_slot_settled(const struct sg_slot *s, const struct sg_addr *key)
{
	if (SG_SLOT_LAST(s) == SG_SLOT_CLAIMED)
		return 0;
	SG_SYNC_POINT();
	return sg_slot_holds(s, key);
}

/* The way (0 or 1) of the set (w0, w1) in which `key` counts, filled for it
 * if it held neither, with *how saying which; -1 when another CPU's fill did
 * not finish within the wait (the attempt goes uncounted). */
SG_INLINE int sg_slot_claim(struct sg_slot *w0, struct sg_slot *w1, const struct sg_addr *key,
			    __u64 now, __u32 *how)
{
	struct sg_slot *slot;
	__u64 old;
	__u32 way;
	int i;

	*how = SG_CLAIM_FOUND;
	/* The source's own way may be in another CPU's hands (its first SYN on
	 * another queue): filled with its tag not yet written, or claimed and
	 * being filled. Take the first; wait on the second (below) rather than
	 * claim the other way: a source never holds two ways, each of which
	 * would let the threshold through. */
	if (sg_slot_settled(w0, key))
		return 0;
	SG_SYNC_POINT();
	if (sg_slot_settled(w1, key))
		return 1;
	SG_SYNC_POINT();
	way = sg_slot_victim(w0, w1);
	SG_SYNC_POINT();
	if (SG_SLOT_LAST(w0) == SG_SLOT_CLAIMED)
		way = 0;
	else if (SG_SLOT_LAST(w1) == SG_SLOT_CLAIMED)
		way = 1;
	slot = way ? w1 : w0;
	SG_SYNC_POINT();
	/* Claim the way: one CPU fills it. A CPU that loses the claim (the same
	 * new source arriving on two queues at once, or a rival for the way)
	 * or finds it claimed waits, bounded, for the filler and uses the slot
	 * if it is its own. */
	old = SG_SLOT_LAST(slot);
	SG_SYNC_POINT();
	if (old == SG_SLOT_CLAIMED ||
	    __sync_val_compare_and_swap(&slot->last_ns, old, SG_SLOT_CLAIMED) != old) {
		for (i = 0; i < 256; i++) {
			if (SG_SLOT_LAST(slot) != SG_SLOT_CLAIMED)
				break;
		}
		SG_SYNC_POINT();
		if (sg_slot_settled(slot, key))
			return way;
		/* The filler was slow (a preempted vCPU) or filled a rival
		 * (two new sources of one set at once). */
		return -1;
	}
	SG_SYNC_POINT();
	*how = old ? SG_CLAIM_FILLED : SG_CLAIM_FILLED_EMPTY;
	sg_slot_fill(slot, key, now); /* last_ns written last: the claim ends */
	return way;
}

#endif /* SG_CLAIM_H */
