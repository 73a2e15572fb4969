/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * sg_event_bpf.h — the XDP program's small shared pieces: the keyed hash of a
 * source and of a SYN (sg_track.h's arithmetic under the load-time secret),
 * the block prefilter's bits (sg_block_bits), the ring-buffer events with
 * their per-CPU budget, and the per-CPU epoch. BPF only; included by
 * syn_guard.bpf.c after its maps and globals.
 */
#ifndef SG_EVENT_BPF_H
#define SG_EVENT_BPF_H

static __always_inline __u64 sg_hash(const struct sg_addr *a)
{
	struct sg_hash_key k = { .k0 = sg_hash_key.k0, .k1 = sg_hash_key.k1 };

	return sg_addr_hash(a, &k);
}

/* Fingerprint of a SYN's ports and sequence number (sg_syn_repeat). */
static __always_inline __u64 sg_syn_fp(const struct sg_pkt *p)
{
	struct sg_hash_key k = { .k0 = sg_hash_key.k0, .k1 = sg_hash_key.k1 };

	return sg_syn_fingerprint(&k, p->src_port, p->dst_port, p->tcp_seq);
}

static __always_inline int sg_block_bit_test(__u64 h)
{
	__u32 bit = sg_block_bit(h);

	return (sg_block_bits[(bit >> 6) & (SG_BLOCK_WORDS - 1)] >> (bit & 63)) & 1;
}

static __always_inline void sg_block_bit_set(__u64 h)
{
	__u32 bit = sg_block_bit(h);

	__sync_fetch_and_or(&sg_block_bits[(bit >> 6) & (SG_BLOCK_WORDS - 1)], 1ull << (bit & 63));
	sg_blocks_maybe = 1;
}

static __always_inline void sg_emit_r(struct sg_counters *cnt, struct sg_cpu_epoch *ep,
				      const struct sg_config *cfg, __u32 type,
				      const struct sg_addr *src, __u64 now, __u32 count,
				      __u64 block_ns, __u16 port, __u8 level, __u32 ifindex,
				      __u8 reason, __u64 first_ns)
{
	struct sg_event *e;

	if (ep->events >= cfg->events_per_sec) {
		cnt->c[SG_CNT_EVENTS_SUPPRESSED]++;
		return;
	}
	e = bpf_ringbuf_reserve(&sg_events, sizeof(*e), 0);
	if (!e) {
		cnt->c[SG_CNT_EVENTS_LOST]++;
		return;
	}
	ep->events++;
	e->ts_ns = now;
	e->block_ns = block_ns;
	e->src = *src;
	e->type = type;
	e->count = count;
	e->ifindex = ifindex;
	e->dst_port = port;
	e->level = level;
	e->reason = reason;
	e->mono_ns = bpf_ktime_get_ns();
	e->first_ns = first_ns;
	bpf_ringbuf_submit(e, 0);
	cnt->c[SG_CNT_EVENTS_SENT]++;
}

/* An event with no threshold reason (enum sg_reason). */
#define sg_emit(cnt, ep, cfg, type, src, now, count, block_ns, port, level, ifindex) \
	sg_emit_r(cnt, ep, cfg, type, src, now, count, block_ns, port, level, ifindex, 0, 0)

static __always_inline struct sg_cpu_epoch *sg_epoch(__u64 now)
{
	__u32 zero = 0;
	struct sg_cpu_epoch *ep = bpf_map_lookup_elem(&sg_epochs, &zero);
	__u64 epoch = now >> SG_EPOCH_SHIFT;

	if (ep && ep->epoch != epoch) {
		ep->epoch = epoch;
		ep->events = 0;
		ep->admitted = 0;
		ep->sketched = 0;
		ep->pressure = 0;
	}
	return ep;
}

#endif /* SG_EVENT_BPF_H */
