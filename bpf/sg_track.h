/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * sg_track.h — what happens to one connection attempt, compiled by the XDP
 * program and by the C++ core alike. No maps, no helpers: callers find the
 * state, these functions decide.
 *
 *  - sg_syn_repeat(): whether a SYN retransmits one of the source's recent
 *    SYNs and is excused (not counted again), within the repeat allowance.
 *  - sg_source_attempt(): count an attempt of an admitted source and say
 *    whether it crossed the threshold.
 *  - sg_block_plan() / sg_block_commit(): the block a crossing earns, and
 *    the offence it records (by the one CPU whose insert won). Repeat
 *    offenders: each block that starts within cfg->repeat_memory_ns of the
 *    end of the previous one doubles the duration, up to block_ns <<
 *    max_level; a source that stays quiet for repeat_memory_ns starts again
 *    at the base duration.
 *  - sg_slot_*(): the per-source slots' set choice, hit test, replacement.
 *  - sg_addr_hash(): the keyed hash of a source (SipHash-1-3).
 *  - sg_sketch_*(): the count-min sketch that stands in for sources without
 *    exact state while new sources arrive faster than admit_per_sec.
 */
#ifndef SG_TRACK_H
#define SG_TRACK_H

#include "sg_window.h"

/* Majority vote (Boyer–Moore) for the most targeted port: O(1) state, exact
 * whenever one port has more than half of the attempts. */
SG_INLINE void sg_vote_port(struct sg_source *s, __u16 port)
{
	if (s->top_votes == 0) {
		s->top_port = port;
		s->top_votes = 1;
	} else if (s->top_port == port) {
		if (s->top_votes < 0xffff)
			s->top_votes++;
	} else {
		s->top_votes--;
	}
}

/* ---- retransmitted SYNs ------------------------------------------------------
 *
 * A client whose SYN meets a full accept queue sends it again (same ports,
 * same sequence number) after 1, 3, 7... s; counting each copy would block a
 * busy client exactly when the server is busiest. So a SYN that repeats one
 * of the source's last SG_RECENT_SYNS SYNs is excused: not counted again.
 * Resending one SYN must not buy unlimited free SYNs, so the repeats excused
 * are capped per bucket of the window (sg_repeat_allowance(): threshold / 4,
 * at most SG_REPEAT_MAX); past it a repeat counts as any attempt. In each
 * bucket at most threshold + allowance SYNs of a source therefore pass.
 *
 * State: one word per source, s->recent_syns:
 *   bits  0..47  three 16-bit fingerprints, newest in bits 0..15 (0 = none)
 *   bits 48..51  tag of the bucket the count below belongs to
 *   bits 52..63  repeats excused in that bucket
 * Every change is one compare-exchange of the whole word, so under
 * concurrency (one source's SYNs on several CPUs):
 *  - a repeat is excused only by a successful exchange that finds its
 *    fingerprint and raises the count below the allowance in the same
 *    write: never more than the allowance per bucket;
 *  - a fingerprint is only there because an earlier SYN put it there and was
 *    counted, so a race cannot excuse a new attempt; a lost race (4 failed
 *    exchanges) only skips an insert or an excuse, i.e. a later
 *    retransmission is counted: the safe side.
 * A new SYN whose 16-bit fingerprint equals a recent one's (a chance of
 * 3 in 65,535, keyed so that it cannot be aimed) is excused as a repeat;
 * the allowance bounds that as it bounds real repeats. The bucket tag is
 * cur_start_ns / window mod 16, so consecutive buckets differ; a stale equal
 * tag (a gap of 16k windows) only lowers the excuses left: the safe side.
 */
#define SG_RECENT_SYNS 3
#define SG_REPEAT_MAX 4095u
#define SG_REPEAT_FP_MASK 0xffffffffffffull

/* The repeats excused per bucket for this configuration. */
SG_INLINE __u32 sg_repeat_allowance(const struct sg_config *cfg)
{
	__u32 a = cfg->threshold >> 2;

	return a < SG_REPEAT_MAX ? a : SG_REPEAT_MAX;
}

/* 16-bit fingerprint (never 0) of a SYN's ports and sequence number. */
SG_INLINE __u64 sg_syn_fingerprint(const struct sg_hash_key *k, __u16 src_port,
				   __u16 dst_port, __u32 seq)
{
	__u64 x = (((__u64)seq << 32) | ((__u64)src_port << 16) | dst_port) ^ k->k1;

	x *= 0x9e3779b97f4a7c15ull;
	x ^= x >> 29;
	x *= 0xbf58476d1ce4e5b9ull;
	x >>= 48;
	return x ? x : 1;
}

/* Returns 1 when the SYN of fingerprint `fp` repeats one of the source's
 * recent SYNs and is excused (the caller counts it in RETRANS_EXCUSED and
 * passes it uncounted); 0 when it is to be counted (it is then remembered). */
SG_INLINE int sg_syn_repeat(struct sg_source *s, const struct sg_config *cfg, __u64 fp)
{
	int i;

	for (i = 0; i < 4; i++) {
		__u64 old = *(volatile __u64 *)&s->recent_syns, want;
		int seen = (old & 0xffff) == fp || ((old >> 16) & 0xffff) == fp ||
			   ((old >> 32) & 0xffff) == fp;

		if (seen) {
			__u64 start = *(volatile __u64 *)&s->win.cur_start_ns;
			__u64 tag = cfg->window_ns ? (start / cfg->window_ns) & 15 : 0;
			__u64 n = ((old >> 48) & 15) == tag ? old >> 52 : 0;

			/* No bucket yet (the first attempt is still being counted on
			 * another CPU, or a block just restarted the window): count
			 * it. Excusing it under a provisional tag would let the
			 * allowance start again once the bucket opens. */
			if (start == 0 || n >= sg_repeat_allowance(cfg))
				return 0;
			want = (old & SG_REPEAT_FP_MASK) | (tag << 48) | ((n + 1) << 52);
		} else {
			want = (old & ~SG_REPEAT_FP_MASK) | ((old << 16) & SG_REPEAT_FP_MASK) | fp;
		}
		if (__sync_val_compare_and_swap(&s->recent_syns, old, want) == old)
			return seen;
	}
	return 0;
}

/* Returns 1 when this attempt finds the source over the threshold (the
 * crossing attempt and any counted after it). Safe on several CPUs at once:
 * see sg_window.h; the port vote is a plain update (approximate under races). */
SG_INLINE int sg_source_attempt(struct sg_source *s, const struct sg_config *cfg,
				__u64 now, __u16 dst_port)
{
	__u32 pos = sg_window_record(&s->win, now, cfg->window_ns);

	sg_vote_port(s, dst_port);
	return sg_window_over(&s->win, pos, now, cfg->window_ns, cfg->threshold);
}

/* The offences that count at `now` (0 once the repeat memory has passed). */
SG_INLINE __u8 sg_offences_now(const struct sg_offence *h, const struct sg_config *cfg,
			       __u64 now)
{
	if (h->last_block_end_ns == 0 || now > h->last_block_end_ns + cfg->repeat_memory_ns)
		return 0;
	return h->offences;
}

/* Fill `b` for a block starting at `now`, from the source's window and its
 * offence history `h` (zeroes when it has none); nothing is changed
 * (sg_block_commit does that, once the block is in). */
SG_INLINE void sg_block_plan(const struct sg_source *s, const struct sg_offence *h,
			     const struct sg_config *cfg, __u64 now, struct sg_block *b)
{
	__u8 max_level = cfg->max_level > 16 ? 16 : cfg->max_level;
	__u8 offences = sg_offences_now(h, cfg, now);
	__u8 level = offences < max_level ? offences : max_level;

	b->added_ns = now;
	b->expires_ns = now + (cfg->block_ns << level);
	b->drops = 0;
	b->count = sg_window_estimate(&s->win, now, cfg->window_ns);
	b->dst_port = s->top_port;
	b->level = level;
	b->flags = 0;
}

/* Done by the one CPU whose insert of block `b` won: record the offence in
 * the history `h` (the caller stores it) and restart the source's window, so
 * that an expired block needs a whole new threshold of attempts to return.
 * last_block_end_ns is written before the count is reset (an atomic
 * exchange: a full barrier), so an attempt that slipped past the block check
 * and is counted in the fresh window sees that the source is blocked
 * (sg_blocked_meanwhile). */
SG_INLINE void sg_block_commit(struct sg_source *s, struct sg_offence *h,
			       const struct sg_config *cfg, __u64 now, const struct sg_block *b)
{
	__u8 offences = sg_offences_now(h, cfg, now);

	h->offences = offences < 0xff ? offences + 1 : offences;
	h->last_block_end_ns = b->expires_ns;
	s->last_block_end_ns = b->expires_ns;
	s->top_votes = 0;
	s->win.prev_count = 0;
	s->win.cur_start_ns = 0; /* the next counted attempt starts a window */
	__sync_lock_test_and_set(&s->win.cur_count, 0);
}

/* True when an attempt that was not over its threshold may still belong to a
 * source blocked since it passed the block check: the caller then looks the
 * block up again (rare: a race at the crossing, or a source unblocked by hand
 * before its block would have ended). */
SG_INLINE int sg_blocked_meanwhile(const struct sg_source *s, __u64 now)
{
	return now < *(volatile __u64 *)&s->last_block_end_ns;
}

/* ---- count-min sketch ------------------------------------------------------ */

/* SipHash-c-d (Aumasson & Bernstein) of the 16-byte address under the
 * 128-bit secret `k`: the one hash behind the slot set, the slot tag, the
 * block prefilter bit and the sketch line and cells. Keyed, so that an
 * attacker cannot compute addresses that share a set with its own (and evict
 * it) or a sketch line. The loader draws the key at load (getrandom). */
#define SG_ROTL64(x, b) (((x) << (b)) | ((x) >> (64 - (b))))
#define SG_SIPROUND(v0, v1, v2, v3)                                     \
	do {                                                            \
		v0 += v1; v1 = SG_ROTL64(v1, 13); v1 ^= v0; v0 = SG_ROTL64(v0, 32); \
		v2 += v3; v3 = SG_ROTL64(v3, 16); v3 ^= v2;             \
		v0 += v3; v3 = SG_ROTL64(v3, 21); v3 ^= v0;             \
		v2 += v1; v1 = SG_ROTL64(v1, 17); v1 ^= v2; v2 = SG_ROTL64(v2, 32); \
	} while (0)

SG_INLINE __u64 sg_siphash16(const struct sg_addr *a, const struct sg_hash_key *k,
			     const int c_rounds, const int d_rounds)
{
	__u64 m0, m1, v0, v1, v2, v3, b = 16ull << 56;
	int i;

	__builtin_memcpy(&m0, &a->b[0], 8);
	__builtin_memcpy(&m1, &a->b[8], 8);
	v0 = k->k0 ^ 0x736f6d6570736575ull;
	v1 = k->k1 ^ 0x646f72616e646f6dull;
	v2 = k->k0 ^ 0x6c7967656e657261ull;
	v3 = k->k1 ^ 0x7465646279746573ull;
	v3 ^= m0;
	for (i = 0; i < c_rounds; i++)
		SG_SIPROUND(v0, v1, v2, v3);
	v0 ^= m0;
	v3 ^= m1;
	for (i = 0; i < c_rounds; i++)
		SG_SIPROUND(v0, v1, v2, v3);
	v0 ^= m1;
	v3 ^= b;
	for (i = 0; i < c_rounds; i++)
		SG_SIPROUND(v0, v1, v2, v3);
	v0 ^= b;
	v2 ^= 0xff;
	for (i = 0; i < d_rounds; i++)
		SG_SIPROUND(v0, v1, v2, v3);
	return v0 ^ v1 ^ v2 ^ v3;
}

/* SipHash-1-3 (docs/architecture.md, "Keyed hash", says why not 2-4). */
SG_INLINE __u64 sg_addr_hash(const struct sg_addr *a, const struct sg_hash_key *k)
{
	return sg_siphash16(a, k, 1, 3);
}

/* Bit of the block prefilter for a key of hash h (bits 24..43 of the hash:
 * apart from the bits that choose a source set; sharing four with the sketch
 * line only correlates false positives, never changes an answer). */
SG_INLINE __u32 sg_block_bit(__u64 h)
{
	return (__u32)(h >> 24) & (SG_BLOCK_BITS - 1);
}

/* Entry of the block cache (struct sg_block_cache_entry) for a key of hash h:
 * hash bits 44..63 (mask: entries - 1, at most 2^20). */
SG_INLINE __u32 sg_block_cache_index(__u64 h, __u32 mask)
{
	return (__u32)(h >> 44) & mask;
}

/* ---- per-source slots (struct sg_slot) --------------------------------------- */

/* Index of the first way of the key's set (hash bits 0..22 at most). */
SG_INLINE __u32 sg_slot_first(__u64 h, __u32 set_mask)
{
	return ((__u32)h & set_mask) * SG_SLOT_WAYS;
}

/* The key's tag (never 0, which marks an empty way); hash bits 24..39. */
SG_INLINE __u64 sg_slot_tag(__u64 h)
{
	return ((h >> 24) & 0xffff) | 1;
}

/* Way w's tag in a set's tag word. */
SG_INLINE __u64 sg_tag_get(__u64 word, __u32 w)
{
	return (word >> (w * SG_TAG_BITS)) & 0xffff;
}

SG_INLINE __u64 sg_tag_put(__u64 word, __u32 w, __u64 tag)
{
	return (word & ~(0xffffull << (w * SG_TAG_BITS))) | (tag << (w * SG_TAG_BITS));
}

/* True when the slot is filled and holds `key`. */
SG_INLINE int sg_slot_holds(const struct sg_slot *s, const struct sg_addr *key)
{
	__u64 a0, a1, b0, b1;

	__builtin_memcpy(&a0, &s->key.b[0], 8);
	__builtin_memcpy(&a1, &s->key.b[8], 8);
	__builtin_memcpy(&b0, &key->b[0], 8);
	__builtin_memcpy(&b1, &key->b[8], 8);
	return s->last_ns != 0 && a0 == b0 && a1 == b1;
}

/* The way a new source takes in a set of two: an empty one (way 0 first),
 * else the one whose last attempt is older (way 0 on a tie). */
SG_INLINE __u32 sg_slot_victim(const struct sg_slot *w0, const struct sg_slot *w1)
{
	if (w0->last_ns == 0)
		return 0;
	if (w1->last_ns == 0)
		return 1;
	return w1->last_ns < w0->last_ns ? 1 : 0;
}

/* A point between two steps of the slot code that another CPU may see apart
 * (sg_claim.h): nothing, except in the test that interleaves two "CPUs" there
 * (src/core/slot_claim_test.cpp defines it before including this header). */
#ifndef SG_SYNC_POINT
#define SG_SYNC_POINT() do { } while (0)
#endif

/* Give the slot to `key` with fresh state; returns 1 when it was empty.
 * last_ns is written last, with an exchange (a full barrier): another CPU
 * that sees it set (not SG_SLOT_CLAIMED) sees the key and the zeroed state. */
SG_INLINE int sg_slot_fill(struct sg_slot *s, const struct sg_addr *key, __u64 now)
{
	int was_empty = s->last_ns == 0;

	s->key = *key;
	SG_SYNC_POINT();
	__builtin_memset(&s->st, 0, sizeof(s->st));
	SG_SYNC_POINT();
	__sync_lock_test_and_set(&s->last_ns, now ? now : 1);
	return was_empty;
}

/* Cell r (0..DEPTH-1) of a key's line: base + r * stride (mod 16) with an odd
 * stride, so the DEPTH cells are distinct. Hash bits 53..59 choose them,
 * bits 40..52 the line (apart from the slot set's and the prefilter's bits). */
SG_INLINE __u32 sg_sketch_cell_of(__u64 h, __u32 r)
{
	__u32 base = (__u32)(h >> 53) & 15, stride = (((__u32)(h >> 57) & 7) << 1) | 1;

	return (base + r * stride) & (SG_SKETCH_CELLS - 1);
}

SG_INLINE __u32 sg_sketch_line_of(__u64 h)
{
	return (__u32)(h >> 40) & (SG_SKETCH_LINES - 1);
}

/* Conservative update of one attempt of the key of hash h; returns the new estimate (minimum over
 * the key's cells) of this source's attempts in this epoch. Cells of another
 * epoch count as empty. Concurrent updates from several CPUs may lose an
 * increment. */
SG_INLINE __u32 sg_sketch_add(struct sg_sketch_line *lines, __u64 h, __u64 epoch)
{
	struct sg_sketch_line *l = &lines[sg_sketch_line_of(h)];
	__u32 tag = ((__u32)epoch & 0xffff) << 16, est = 0xffff, r;

	for (r = 0; r < SG_SKETCH_DEPTH; r++) {
		__u32 c = l->cell[sg_sketch_cell_of(h, r)];
		__u32 v = (c & 0xffff0000u) == tag ? c & 0xffff : 0;

		if (v < est)
			est = v;
	}
	if (est < 0xffff)
		est++;
	for (r = 0; r < SG_SKETCH_DEPTH; r++) {
		__u32 *cp = &l->cell[sg_sketch_cell_of(h, r)];
		__u32 v = (*cp & 0xffff0000u) == tag ? *cp & 0xffff : 0;

		if (v < est)
			*cp = tag | est;
	}
	return est;
}

/* The sketch's update count this epoch, all CPUs together, in one shared
 * word: the epoch's low 16 bits above a 48-bit count. Each CPU adds its
 * updates in batches of SG_SKETCH_BATCH (one compare-exchange per batch, not
 * one contended line per spoofed SYN), so the count lags the truth by less
 * than one batch per CPU that ran. */
#define SG_SKETCH_BATCH 16
#define SG_SKETCH_EPOCH_SHIFT 48

/* Updates of `epoch` in the shared word (0 if it holds another epoch). */
SG_INLINE __u64 sg_sketch_total(__u64 word, __u64 epoch)
{
	if ((word >> SG_SKETCH_EPOCH_SHIFT) != (epoch & 0xffff))
		return 0;
	return word & ((1ull << SG_SKETCH_EPOCH_SHIFT) - 1);
}

/* Add n updates made in `epoch` to the shared word: restarts the count when
 * the word holds an older epoch, drops the batch when it already holds a
 * newer one. Lock-free; after 4 lost races the batch is dropped (the floor
 * then reads at most SG_SKETCH_BATCH low). */
SG_INLINE void sg_sketch_flush(__u64 *word, __u64 epoch, __u32 n)
{
	__u64 tag = epoch & 0xffff;
	int i;

	for (i = 0; i < 4; i++) {
		__u64 old = *(volatile __u64 *)word, want;
		__u64 old_tag = old >> SG_SKETCH_EPOCH_SHIFT;

		if (old_tag == tag)
			want = old + n;
		else if ((__s16)(__u16)(old_tag - tag) > 0)
			return; /* a newer epoch began: this batch is stale */
		else
			want = (tag << SG_SKETCH_EPOCH_SHIFT) | n;
		if (__sync_val_compare_and_swap(word, old, want) == old)
			return;
	}
}

/* Admit a gated source to exact state when its estimate stands `admit_min`
 * above the sketch's noise floor: the mean load of a cell after `updates`
 * updates of this epoch (all CPUs: the shared count plus this CPU's batch
 * not yet added). Never admits on noise alone. */
SG_INLINE int sg_sketch_admits(__u32 est, __u64 updates, __u32 admit_min)
{
	return (__u64)est >= (updates >> SG_SKETCH_FLOOR_SHIFT) + admit_min;
}

#endif /* SG_TRACK_H */
