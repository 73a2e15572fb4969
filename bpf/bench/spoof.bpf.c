// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * Benchmark-only wrappers around the production program (never loaded by the
 * agent). BPF_PROG_TEST_RUN replays one packet; to measure a SYN from a new
 * (spoofed) source each time, spoof_syn first rewrites the IPv4 source of the
 * untagged frame from a counter, then runs the production path. spoof_pass
 * does the same rewrite and passes: the baseline that cancels the rewrite's
 * own cost.
 */
#include "syn_guard.bpf.c"

__u32 sg_bench_seq;

static __always_inline int sg_bench_rewrite(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u8 *ip = (__u8 *)data + 14;
	__u32 seq = sg_bench_seq++;

	if ((void *)(ip + 20) > data_end)
		return -1;
	/* 10.x.y.z from the counter: 2^24 distinct sources before wrapping. */
	ip[12] = 10;
	ip[13] = (__u8)(seq >> 16);
	ip[14] = (__u8)(seq >> 8);
	ip[15] = (__u8)seq;
	return 0;
}

SEC("xdp")
int spoof_syn(struct xdp_md *ctx)
{
	if (sg_bench_rewrite(ctx))
		return XDP_ABORTED;
	return sg_xdp(ctx);
}

SEC("xdp")
int spoof_pass(struct xdp_md *ctx)
{
	if (sg_bench_rewrite(ctx))
		return XDP_ABORTED;
	return XDP_PASS;
}

/* The destination-side counters alone for a new source each time (what a
 * spoofed flood's SYN pays there), against spoof_pass. */
SEC("xdp")
int spoof_dst(struct xdp_md *ctx)
{
	void *data, *data_end;
	__u32 zero = 0;
	struct sg_counters *cnt = bpf_map_lookup_elem(&sg_counters_map, &zero);
	struct sg_config *cfg = bpf_map_lookup_elem(&sg_config_map, &zero);
	struct sg_addr key;
	struct sg_pkt pkt;
	int pos;

	if (!cnt || !cfg || sg_bench_rewrite(ctx))
		return XDP_ABORTED;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	sg_parse_eth(data, data_end, &pkt);
	if (!sg_pkt_is_attempt(&pkt))
		return XDP_PASS;
	key = pkt.src;
	sg_mask_source(&key, pkt.family, cfg->v6_prefix_len);
	pos = sg_dst_attempt(cnt, cfg, &pkt, sg_hash(&key));
	if (pos >= 0)
		sg_sig_keep(ctx, (__u32)pos);
	return XDP_PASS;
}

/* The block cache's thrash rows (bench/xdp_cost_bench): the frame's IPv4
 * source alternates between these two (network byte order, set by the
 * bench), so that two blocked sources sharing a cache entry take it from
 * each other at every packet. spoof_alt_pass is its baseline. */
__u32 sg_bench_alt[2];

static __always_inline int sg_bench_alternate(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u8 *ip = (__u8 *)data + 14;
	__u32 seq = sg_bench_seq++;

	if ((void *)(ip + 20) > data_end)
		return -1;
	__builtin_memcpy(ip + 12, &sg_bench_alt[seq & 1], 4);
	return 0;
}

SEC("xdp")
int spoof_alt(struct xdp_md *ctx)
{
	if (sg_bench_alternate(ctx))
		return XDP_ABORTED;
	return sg_xdp(ctx);
}

SEC("xdp")
int spoof_alt_pass(struct xdp_md *ctx)
{
	if (sg_bench_alternate(ctx))
		return XDP_ABORTED;
	return XDP_PASS;
}
