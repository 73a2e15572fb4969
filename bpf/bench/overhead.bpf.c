// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * Benchmark-only pieces of the production path, to price what every packet
 * pays before any decision (bench/xdp_cost_bench.cpp, never loaded by the
 * agent): the two array lookups (counters, config), the PACKETS increment,
 * and the parse.
 */
#include "syn_guard.bpf.c"

SEC("xdp")
int ov_lookups(struct xdp_md *ctx)
{
	__u32 zero = 0;
	struct sg_counters *cnt = bpf_map_lookup_elem(&sg_counters_map, &zero);
	struct sg_config *cfg = bpf_map_lookup_elem(&sg_config_map, &zero);

	if (!cnt || !cfg || !cfg->enabled)
		return XDP_ABORTED;
	return XDP_PASS;
}

SEC("xdp")
int ov_lookups_count(struct xdp_md *ctx)
{
	__u32 zero = 0;
	struct sg_counters *cnt = bpf_map_lookup_elem(&sg_counters_map, &zero);
	struct sg_config *cfg = bpf_map_lookup_elem(&sg_config_map, &zero);

	if (!cnt || !cfg || !cfg->enabled)
		return XDP_ABORTED;
	cnt->c[SG_CNT_PACKETS]++;
	return XDP_PASS;
}

SEC("xdp")
int ov_parse(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct sg_pkt pkt;

	sg_parse_eth(data, data_end, &pkt);
	sg_mask_source(&pkt.src, pkt.family, 64);
	return pkt.has_src && pkt.src.b[15] == 0xee ? XDP_DROP : XDP_PASS;
}

/* One hash lookup of the packet's source key in the block hash (a miss:
 * this object's maps stay empty). */
static __always_inline int ov_lookup_in(struct xdp_md *ctx, void *map)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct sg_pkt pkt;

	sg_parse_eth(data, data_end, &pkt);
	if (!pkt.has_src)
		return XDP_ABORTED;
	return bpf_map_lookup_elem(map, &pkt.src) ? XDP_DROP : XDP_PASS;
}

SEC("xdp")
int ov_parse_block_lookup(struct xdp_md *ctx)
{
	return ov_lookup_in(ctx, &sg_blocks);
}

/* The set probe of the per-source slots: hash the key, two inlined array
 * lookups, compare (a miss: the slots stay empty). */
SEC("xdp")
int ov_parse_slot_probe(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct sg_slot *w0, *w1;
	struct sg_pkt pkt;
	__u32 i0, i1;

	sg_parse_eth(data, data_end, &pkt);
	if (!pkt.has_src)
		return XDP_ABORTED;
	i0 = sg_slot_first(sg_hash(&pkt.src), sg_slot_set_mask);
	i1 = i0 + 1;
	w0 = bpf_map_lookup_elem(&sg_slots, &i0);
	w1 = bpf_map_lookup_elem(&sg_slots, &i1);
	if (!w0 || !w1)
		return XDP_ABORTED;
	return sg_slot_holds(w0, &pkt.src) || sg_slot_holds(w1, &pkt.src) ? XDP_DROP : XDP_PASS;
}

SEC("xdp")
int ov_coarse_clock(struct xdp_md *ctx)
{
	return bpf_ktime_get_coarse_ns() == 1 ? XDP_DROP : XDP_PASS;
}

/* A helper call that does next to nothing: what a call and its return cost
 * (the reservoir's draw used it once; sg_dst_sample_rnd replaced it). */
SEC("xdp")
int ov_prandom(struct xdp_md *ctx)
{
	return bpf_get_prandom_u32() == 1 ? XDP_DROP : XDP_PASS;
}

SEC("xdp")
int ov_fine_clock(struct xdp_md *ctx)
{
	return bpf_ktime_get_ns() == 1 ? XDP_DROP : XDP_PASS;
}

SEC("xdp")
int ov_jiffies(struct xdp_md *ctx)
{
	return bpf_jiffies64() == 1 ? XDP_DROP : XDP_PASS;
}

/* The source hash alone, on top of the parse (compare with ov_parse): the
 * keyed SipHash-1-3 the program uses, SipHash-2-4, and the unkeyed 64-bit mix
 * the program used before it took a key. */
static __always_inline __u64 ov_unkeyed_mix(const struct sg_addr *a)
{
	__u64 lo, hi, h;

	__builtin_memcpy(&lo, &a->b[0], 8);
	__builtin_memcpy(&hi, &a->b[8], 8);
	h = lo * 0x9e3779b97f4a7c15ull ^ (hi + 0x632be59bd9b4e019ull);
	h ^= h >> 31;
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= h >> 29;
	return h;
}

static __always_inline int ov_hash_with(struct xdp_md *ctx, int which)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct sg_hash_key k = { .k0 = sg_hash_key.k0, .k1 = sg_hash_key.k1 };
	struct sg_pkt pkt;
	__u64 h;

	sg_parse_eth(data, data_end, &pkt);
	if (!pkt.has_src)
		return XDP_ABORTED;
	if (which == 0)
		h = ov_unkeyed_mix(&pkt.src);
	else if (which == 1)
		h = sg_siphash16(&pkt.src, &k, 1, 3);
	else
		h = sg_siphash16(&pkt.src, &k, 2, 4);
	return h == 1 ? XDP_DROP : XDP_PASS;
}

SEC("xdp")
int ov_hash_unkeyed(struct xdp_md *ctx)
{
	return ov_hash_with(ctx, 0);
}

SEC("xdp")
int ov_hash_sip13(struct xdp_md *ctx)
{
	return ov_hash_with(ctx, 1);
}

SEC("xdp")
int ov_hash_sip24(struct xdp_md *ctx)
{
	return ov_hash_with(ctx, 2);
}

/* The parse and the destination-side counters of one attempt (sg_dst_bpf.h),
 * with its fingerprint sample when the reservoir keeps it (sg_sig_bpf.h):
 * what every SYN pays for port-flood detection, against ov_parse. */
SEC("xdp")
int ov_parse_dst(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 zero = 0;
	struct sg_counters *cnt = bpf_map_lookup_elem(&sg_counters_map, &zero);
	struct sg_config *cfg = bpf_map_lookup_elem(&sg_config_map, &zero);
	struct sg_pkt pkt;

	if (!cnt || !cfg)
		return XDP_ABORTED;
	sg_parse_eth(data, data_end, &pkt);
	if (sg_pkt_is_attempt(&pkt)) {
		struct sg_addr key = pkt.src;
		int pos;

		sg_mask_source(&key, pkt.family, cfg->v6_prefix_len);
		pos = sg_dst_attempt(cnt, cfg, &pkt, sg_hash(&key));

		if (pos >= 0)
			sg_sig_keep(ctx, (__u32)pos); /* the signature drop's sample */
	}
	return XDP_PASS;
}

/* Pieces of sg_dst_attempt, to see where a SYN's destination-side cost goes:
 * the parse of a SYN; the table lookup (hash, two array entries, the key
 * compare); the lookup, count and sample draw written out here (ov_parse_dst
 * runs sg_dst_attempt itself, inlined as in the program since this round;
 * it was a BPF-to-BPF call, ~12 ns more: docs/architecture.md, "Calls cost
 * more than they look"). */
SEC("xdp")
int ov_parse_syn(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct sg_pkt pkt;

	sg_parse_eth(data, data_end, &pkt);
	return sg_pkt_is_attempt(&pkt) && pkt.src.b[15] == 0xee ? XDP_DROP : XDP_PASS;
}

SEC("xdp")
int ov_dst_find(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct sg_pkt pkt;
	__u32 idx = 0;

	sg_parse_eth(data, data_end, &pkt);
	if (sg_pkt_is_attempt(&pkt))
		return sg_dst_find(&pkt.dst, pkt.dst_port, 1, &idx) ? XDP_PASS : XDP_DROP;
	return XDP_PASS;
}

SEC("xdp")
int ov_dst_inline(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct sg_pkt pkt;
	struct sg_dst *d;
	__u32 idx = 0, n;

	sg_parse_eth(data, data_end, &pkt);
	if (!sg_pkt_is_attempt(&pkt))
		return XDP_PASS;
	d = sg_dst_find(&pkt.dst, pkt.dst_port, 1, &idx);
	if (!d)
		return XDP_DROP;
	{
		__u64 sh = sg_hash(&pkt.src);
		sg_dst_count(d, 0, sh, sg_src_prefix(&pkt.src, pkt.family));
		n = d->bank[0].attempts;
		return sg_sig_slot(n, sg_dst_sample_rnd(sh, n)) == 3 ? XDP_DROP : XDP_PASS;
	}
}
