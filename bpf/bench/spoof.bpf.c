// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * Benchmark-only wrappers around the production program (never loaded by the
 * agent). BPF_PROG_TEST_RUN replays one packet; to measure a SYN from a new
 * (spoofed) source each time, spoof_syn first rewrites the IPv4 source of the
 * untagged frame from a counter, then runs the production path. spoof_pass
 * does the same rewrite and passes: the baseline that cancels the rewrite's
 * own cost. spoof_alt / spoof_alt_pass: the same with two sources by turn.
 */
#include "syn_guard.bpf.c"

__u32 sg_bench_seq;

/* The block cache's thrash rows (bench/xdp_cost_bench): with `alternate`
 * the frame's IPv4 source alternates between these two (network byte order,
 * set by the bench), so that two blocked sources sharing a cache entry take
 * it from each other at every packet. */
__u32 sg_bench_alt[2];

/* Rewrites the untagged frame's IPv4 source: one of sg_bench_alt by turn,
 * or 10.x.y.z from the counter (2^24 distinct sources before wrapping).
 * Callers pass a constant `alternate`, so each program keeps one branch. */
static __always_inline int sg_bench_rewrite(struct xdp_md *ctx, int alternate)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u8 *ip = (__u8 *)data + 14;
	__u32 seq = sg_bench_seq++;

	if ((void *)(ip + 20) > data_end)
		return -1;
	if (alternate) {
		__builtin_memcpy(ip + 12, &sg_bench_alt[seq & 1], 4);
		return 0;
	}
	ip[12] = 10;
	ip[13] = (__u8)(seq >> 16);
	ip[14] = (__u8)(seq >> 8);
	ip[15] = (__u8)seq;
	return 0;
}

/* The rewrite, then the production path, or XDP_PASS (`pass`: the baseline
 * that cancels the rewrite's own cost). */
static __always_inline int sg_bench_spoof(struct xdp_md *ctx, int alternate, int pass)
{
	if (sg_bench_rewrite(ctx, alternate))
		return XDP_ABORTED;
	return pass ? XDP_PASS : sg_xdp(ctx);
}

SEC("xdp")
int spoof_syn(struct xdp_md *ctx)
{
	return sg_bench_spoof(ctx, 0, 0);
}

SEC("xdp")
int spoof_pass(struct xdp_md *ctx)
{
	return sg_bench_spoof(ctx, 0, 1);
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

	if (!cnt || !cfg || sg_bench_rewrite(ctx, 0))
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

/* Two blocked sources by turn (sg_bench_alt); spoof_alt_pass is its baseline. */
SEC("xdp")
int spoof_alt(struct xdp_md *ctx)
{
	return sg_bench_spoof(ctx, 1, 0);
}

SEC("xdp")
int spoof_alt_pass(struct xdp_md *ctx)
{
	return sg_bench_spoof(ctx, 1, 1);
}
