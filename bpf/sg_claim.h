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

/* Waits, bounded (256 reads), while another CPU fills the slot. In the XDP
 * program through bpf_loop: the verifier walks its step once, where a loop
 * of its own is walked read by read for each state that reaches it. */
#ifdef __bpf__
struct sg_slot_wait_ctx {
	struct sg_slot *s;
};

static long sg_slot_wait_step(__u64 i, void *ctx)
{
	struct sg_slot_wait_ctx *w = ctx;

	return SG_SLOT_LAST(w->s) != SG_SLOT_CLAIMED;
}

SG_INLINE void sg_slot_wait(struct sg_slot *s)
{
	struct sg_slot_wait_ctx w = { .s = s };

	bpf_loop(256, sg_slot_wait_step, &w, 0);
}
#else
SG_INLINE void sg_slot_wait(struct sg_slot *s)
{
	for (int i = 0; i < 256; i++) {
		if (SG_SLOT_LAST(s) != SG_SLOT_CLAIMED)
			break;
	}
}
#endif

/* How sg_slot_claim found the source's way. */
#define SG_CLAIM_FOUND 0        /* already the source's (another CPU filled it) */
#define SG_CLAIM_FILLED 1       /* filled for it, evicting the way's source */
#define SG_CLAIM_FILLED_EMPTY 2 /* filled for it, the way was empty */

/* True when the slot holds `key` (its key alone, whatever last_ns says). */
SG_INLINE int sg_slot_key_is(const struct sg_slot *s, const struct sg_addr *key)
{
	__u64 b0, b1;

	__builtin_memcpy(&b0, &key->b[0], 8);
	__builtin_memcpy(&b1, &key->b[8], 8);
	return *(const volatile __u64 *)&s->key.b[0] == b0 &&
	       *(const volatile __u64 *)&s->key.b[8] == b1;
}

/* True when the slot holds `key` and no CPU is filling it. The key is read
 * first, then last_ns: a filler writes the key after its claim and publishes
 * last_ns last (sg_slot_fill), so a key read from a fill under way is
 * followed by SG_SLOT_CLAIMED or by the finished fill's time. (Read the
 * other way round, a claim and the key's write could fall between the two
 * reads: the attempt would count in state about to be cleared.) */
SG_INLINE int sg_slot_settled(const struct sg_slot *s, const struct sg_addr *key)
{
	__u64 t;

	if (!sg_slot_key_is(s, key))
		return 0;
	SG_SYNC_POINT();
	t = SG_SLOT_LAST(s);
	return t != 0 && t != SG_SLOT_CLAIMED;
}

/* Ends a claim without filling: the way keeps what it held. (A CPU counting
 * the way's source may have written last_ns meanwhile: that time stays.) */
SG_INLINE void sg_slot_unclaim(struct sg_slot *s, __u64 old)
{
	__sync_val_compare_and_swap(&s->last_ns, SG_SLOT_CLAIMED, old);
}

/* The way (0 or 1) of the set (w0, w1) in which `key` counts, filled for it
 * if it held neither, with *how saying which; -1 when another CPU's fill did
 * not finish within the wait (the attempt goes uncounted).
 *
 * A source never holds both ways (each would count its own threshold), and
 * a way is never refilled for the source it already holds (its count would
 * restart), whatever the interleaving with another CPU admitting the same
 * source (its first SYNs on two queues):
 *  - the checks before the claim see a way that is settled with the key;
 *  - a claimed way is waited on, not passed over for the other;
 *  - after its claim (a compare-exchange: a full barrier) a CPU checks again
 *    what the checks before it may have missed: the claimed way itself
 *    filled for the key meanwhile (give it back and use it), and the other
 *    way. Way 0 has priority: a CPU holding way 1 gives it back when it sees
 *    way 0 settled with the key or claimed at all; a CPU holding way 0 waits
 *    (bounded) for a claimed way 1 and gives way 0 back when way 1 ends up
 *    with the key (or is still claimed after the wait). Of two CPUs that
 *    claimed both ways for one source, each reads the other's way after its
 *    own claim, so at least one sees the other's claim or fill: never both
 *    keep theirs; the holder of way 1 never waits while holding it, so the
 *    two never wait on each other.
 * src/core/slot_claim_test.cpp runs two CPUs through every interleaving of
 * these steps with up to two switches. */
SG_INLINE int sg_slot_claim(struct sg_slot *w0, struct sg_slot *w1, const struct sg_addr *key,
			    __u64 now, __u32 *how)
{
	struct sg_slot *slot, *other, *wait_on;
	__u64 old;
	__u32 way;
	int mine = 0;

	*how = SG_CLAIM_FOUND;
	/* The source's own way may be in another CPU's hands (its first SYN on
	 * another queue): filled with its tag not yet written, or claimed and
	 * being filled. Take the first; wait on the second (below) rather than
	 * claim the other way. */
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
	other = way ? w0 : w1;
	SG_SYNC_POINT();
	/* Claim the way: one CPU fills it. A CPU that loses the claim (the same
	 * new source arriving on two queues at once, or a rival for the way)
	 * or finds it claimed waits, bounded, for the filler and uses the slot
	 * if it is its own. */
	old = SG_SLOT_LAST(slot);
	SG_SYNC_POINT();
	if (old != SG_SLOT_CLAIMED &&
	    __sync_val_compare_and_swap(&slot->last_ns, old, SG_SLOT_CLAIMED) == old) {
		mine = 1;
		SG_SYNC_POINT();
		if (old != 0 && sg_slot_key_is(slot, key)) {
			/* Filled for the key since the checks above. */
			sg_slot_unclaim(slot, old);
			return way;
		}
		SG_SYNC_POINT();
		if (way == 1 && SG_SLOT_LAST(w0) == SG_SLOT_CLAIMED) {
			sg_slot_unclaim(slot, old); /* way 0 first: wait on it */
			mine = 0;
			slot = w0;
		}
	}
	SG_SYNC_POINT();
	wait_on = mine ? other : slot;
	if (SG_SLOT_LAST(wait_on) == SG_SLOT_CLAIMED)
		sg_slot_wait(wait_on);
	SG_SYNC_POINT();
	if (mine) {
		if (!sg_slot_settled(other, key) && SG_SLOT_LAST(other) != SG_SLOT_CLAIMED) {
			SG_SYNC_POINT();
			*how = old ? SG_CLAIM_FILLED : SG_CLAIM_FILLED_EMPTY;
			sg_slot_fill(slot, key, now); /* last_ns written last: the claim ends */
			return way;
		}
		sg_slot_unclaim(slot, old);
		SG_SYNC_POINT();
	}
	if (sg_slot_settled(w0, key))
		return 0;
	SG_SYNC_POINT();
	if (sg_slot_settled(w1, key))
		return 1;
	/* The filler was slow (a preempted vCPU) or filled a rival (two new
	 * sources of one set at once). */
	return -1;
}

#endif /* SG_CLAIM_H */
