/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * sg_cross_bpf.h — what the XDP program does when a source crosses its
 * threshold (sg_cross: allowlist, block plan, insert, offence history,
 * prefilter bit, event), the verdict of a packet of a blocked source, and the
 * admission of a new source into the slot array (sg_admit: the sketch gate and
 * the claim of a way, sg_claim.h). BPF only; included by syn_guard.bpf.c after
 * sg_event_bpf.h. "Several CPUs, one source" in docs/architecture.md says why
 * each step is exact under concurrency.
 */
#ifndef SG_CROSS_BPF_H
#define SG_CROSS_BPF_H

#include "sg_claim.h"

#define SG_EEXIST 17

/* A dropping block's verdict for one more packet of its source. */
static __always_inline int sg_block_verdict(struct sg_counters *cnt, struct sg_block *b)
{
	if ((b->flags & (SG_BLK_XDP_DROP | SG_BLK_HANDED_OFF)) == SG_BLK_XDP_DROP) {
		b->drops++;
		cnt->c[SG_CNT_DROPPED]++;
		return XDP_DROP;
	}
	return XDP_PASS;
}

/* An attempt counted while (or just after) another CPU blocked its source:
 * the block's verdict, or pass when there is no block (unblocked by hand). */
static __always_inline int sg_recheck_block(struct sg_counters *cnt, const struct sg_addr *key,
					    __u64 now)
{
	struct sg_block *b = bpf_map_lookup_elem(&sg_blocks, key);

	if (!b || now >= b->expires_ns)
		return XDP_PASS;
	return sg_block_verdict(cnt, b);
}

/* Crossings by the threshold they crossed (handshake-aware counting on). */
static __always_inline void sg_count_reason(struct sg_counters *cnt, __u32 reason)
{
	if (reason == SG_REASON_HALF_OPEN)
		cnt->c[SG_CNT_FLAGGED_HALF_OPEN]++;
	else if (reason == SG_REASON_CONNECTIONS)
		cnt->c[SG_CNT_FLAGGED_CONNECTIONS]++;
}

/* A crossing: block (or, detect-only, mark) the source. Returns the verdict.
 * Several CPUs may find the same source over its threshold at once: the
 * insert (BPF_NOEXIST) chooses one, which alone records the offence, restarts
 * the window and sends the event; the others' attempts get the block's
 * verdict like any packet of a blocked source. */
static __always_inline int sg_cross(struct sg_counters *cnt, const struct sg_config *cfg,
				    struct sg_source *src, const struct sg_addr *key,
				    __u64 hash, __u64 now, __u32 ifindex, __u32 reason)
{
	struct sg_lpm_key lk = { .prefixlen = 128, .addr = *key };
	struct sg_offence h = {}, *hist;
	struct sg_cpu_epoch *ep;
	__u64 first;
	struct sg_block b;
	long err;

	if (bpf_map_lookup_elem(&sg_allow, &lk)) {
		/* Never block the allowlist; restart its window so that the
		 * trie is consulted once per threshold, not per attempt. */
		cnt->c[SG_CNT_FLAGGED]++;
		cnt->c[SG_CNT_ALLOWLISTED]++;
		sg_count_reason(cnt, reason);
		src->win.cur_start_ns = 0;
		return XDP_PASS;
	}

	hist = bpf_map_lookup_elem(&sg_offenders, key);
	if (hist)
		h = *hist;
	sg_block_plan(src, &h, cfg, now, &b);
	if (cfg->enforce != SG_ENFORCE_NONE) {
		b.flags = SG_BLK_XDP_DROP;
		b.drops = 1; /* this very attempt */
	}
	if (reason == SG_REASON_HALF_OPEN || reason == SG_REASON_CONNECTIONS)
		sg_block_reason(&b, reason, &src->win, bpf_map_lookup_elem(&sg_src_done, key), now,
				cfg->window_ns);
	sg_chal_plan(cnt, cfg, reason, &b); /* or a challenge (sg_challenge.h) */
	err = bpf_map_update_elem(&sg_blocks, key, &b, BPF_NOEXIST);
	if (err == -SG_EEXIST) /* another CPU's attempt crossed first */
		return sg_recheck_block(cnt, key, now);
	cnt->c[SG_CNT_FLAGGED]++;
	sg_count_reason(cnt, reason);
	if (err) {
		/* Block map full: the source stays over its threshold (nothing
		 * was changed), so every further attempt is still dropped
		 * (rate limiting, not fail-open). */
		cnt->c[SG_CNT_BLOCK_MAP_FULL]++;
		if (cfg->enforce == SG_ENFORCE_NONE)
			return XDP_PASS;
		cnt->c[SG_CNT_DROPPED]++;
		return XDP_DROP;
	}
	first = sg_window_span_start(&src->win, now, cfg->window_ns); /* before the reset */
	sg_block_commit(src, &h, cfg, now, &b);
	bpf_map_update_elem(&sg_offenders, key, &h, BPF_ANY); /* LRU: makes room */
	sg_block_bit_set(hash); /* after the insert: see sg_block_bits */
	cnt->c[(b.flags & SG_BLK_CHALLENGE) ? SG_CNT_CHAL_ADDED : SG_CNT_BLOCKS_ADDED]++;
	if (b.flags & SG_BLK_XDP_DROP)
		cnt->c[SG_CNT_DROPPED]++;

	ep = sg_epoch(now);
	if (ep) {
		__u32 type = cfg->enforce != SG_ENFORCE_NONE ? SG_EV_BLOCK_ADDED : SG_EV_FLAGGED;

		if (b.flags & SG_BLK_CHALLENGE)
			type = SG_EV_CHALLENGED;
		sg_emit_r(cnt, ep, cfg, type, key, now, b.count, b.expires_ns - b.added_ns,
			  b.dst_port, b.level, ifindex, reason, first);
	}
	return (b.flags & SG_BLK_XDP_DROP) ? XDP_DROP : XDP_PASS;
}

/* A slot of the set (w0, w1) for a source seen for the first time (or
 * evicted), or NULL while the sketch still gates it. */
static __always_inline struct sg_slot *sg_admit(struct sg_counters *cnt,
						const struct sg_config *cfg,
						const struct sg_addr *key, __u64 hash,
						__u64 now, __u32 ifindex, struct sg_slot *w0,
						struct sg_slot *w1, __u64 *tags, __u64 tag)
{
	struct sg_cpu_epoch *ep = sg_epoch(now);
	struct sg_slot *slot;
	__u32 how;
	int way, i;

	if (!ep)
		return 0;
	if (ep->admitted >= cfg->admit_per_sec) {
		__u32 est;

		if (!ep->pressure) {
			ep->pressure = 1;
			sg_emit(cnt, ep, cfg, SG_EV_PRESSURE, key, now, ep->admitted, 0, 0, 0,
				ifindex);
		}
		est = sg_sketch_add(sg_sketch, hash, ep->epoch);
		if (++ep->sketched >= SG_SKETCH_BATCH) {
			sg_sketch_flush(&sg_sketch_updates, ep->epoch, ep->sketched);
			ep->sketched = 0;
		}
		if (!sg_sketch_admits(est,
				      sg_sketch_total(*(volatile __u64 *)&sg_sketch_updates, ep->epoch) +
					      ep->sketched,
				      cfg->admit_min)) {
			cnt->c[SG_CNT_SKETCH_GATED]++;
			return 0;
		}
	}
	way = sg_slot_claim(w0, w1, key, now, &how);
	if (way < 0) {
		cnt->c[SG_CNT_ADMIT_RACE]++; /* uncounted, and says so */
		return 0;
	}
	slot = way ? w1 : w0;
	if (how == SG_CLAIM_FOUND)
		return slot;
	ep->admitted++;
	if (how == SG_CLAIM_FILLED_EMPTY)
		cnt->c[SG_CNT_SLOTS_FILLED]++;
	for (i = 0; i < 4; i++) {
		__u64 tw = *(volatile __u64 *)tags;

		if (__sync_val_compare_and_swap(tags, tw, sg_tag_put(tw, way, tag)) == tw)
			break;
	}
	cnt->c[SG_CNT_SOURCES_NEW]++;
	return slot;
}

#endif /* SG_CROSS_BPF_H */
