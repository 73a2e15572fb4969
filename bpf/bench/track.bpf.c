// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * Benchmark-only wrappers around the production program (never loaded by the
 * agent). BPF_PROG_TEST_RUN replays one packet; replayed as is, a SYN repeats
 * its own ports and sequence number, so after the first the program takes it
 * for a retransmission (sg_syn_repeat in sg_track.h: excused up to the
 * allowance of each bucket, counted past it) — not what a tracked source's
 * new connection attempts cost. track_syn first gives the SYN a new sequence
 * number from a counter, then runs the production entry point's path
 * (sg_xdp_full); track_pass does the
 * same rewrite and passes (its cost, a [part] row of bench/xdp_cost_bench).
 * Untagged frames with no IP options or IPv6 extension headers only (the
 * bench's own).
 */
#include "syn_guard.bpf.c"

__u32 sg_bench_track_seq;

static __always_inline int sg_bench_new_seq(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u8 *p = data;
	__u32 off, seq = sg_bench_track_seq++;

	if ((void *)(p + 14 + 20 + 20) > data_end)
		return -1;
	off = p[12] == 0x86 && p[13] == 0xdd ? 14 + 40 : 14 + 20;
	p += off;
	if ((void *)(p + 20) > data_end)
		return -1;
	p[4] = (__u8)(seq >> 24);
	p[5] = (__u8)(seq >> 16);
	p[6] = (__u8)(seq >> 8);
	p[7] = (__u8)seq;
	return 0;
}

SEC("xdp")
int track_syn(struct xdp_md *ctx)
{
	if (sg_bench_new_seq(ctx))
		return XDP_ABORTED;
	return sg_xdp_full(ctx);
}

SEC("xdp")
int track_pass(struct xdp_md *ctx)
{
	if (sg_bench_new_seq(ctx))
		return XDP_ABORTED;
	return XDP_PASS;
}
