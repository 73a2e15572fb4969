/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * sg_sig_bpf.h — the kernel side of the signature drop (layouts and the
 * fingerprint in sg_sig.h): the reservoir sample of attempts' fingerprints
 * in the destination table's bank (sg_dst_attempt draws the slot,
 * sg_sig_keep fingerprints into it), and the verdict on an attempt to a
 * target with active signatures (sg_sig_verdict). Included by
 * syn_guard.bpf.c after sg_dst_bpf.h (its table).
 *
 * Cost: a sample costs one keyed draw per attempt (sg_dst_sample_rnd, two
 * multiplies), and a fingerprint (the TCP header copied to
 * the stack, its options walked) only for the attempts the reservoir keeps
 * (about SG_SIG_SAMPLES * ln(n / SG_SIG_SAMPLES) of a bank's n). The verdict
 * costs one load of sg_sig_targets while no signature is active; then one
 * hash lookup per attempt, and a fingerprint per attempt to a target with
 * signatures.
 */
#ifndef SG_SIG_BPF_H
#define SG_SIG_BPF_H

#include "sg_sig.h"

/* Targets with signatures (entries of sg_sig_sets); 0: no attempt pays a
 * lookup. Written by user space (XdpSensor::setSignatures). */
volatile __u32 sg_sig_targets;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, struct sg_sig_key);
	__type(value, struct sg_sig_set);
} sg_sig_sets SEC(".maps");

/* The option walk's state (bpf_loop's context, on the stack). */
struct sg_sig_walk {
	__u8 t[SG_SIG_TCP_BUF];
	struct sg_sig_fp fp;
	__u32 tlen;
	__u32 off;
	int ended;
};

/* One option per call: 1 ends the walk. */
static long sg_sig_walk_step(__u32 i, void *arg)
{
	struct sg_sig_walk *w = arg;

	w->ended = sg_sig_opt(w->t, w->tlen, &w->off, i & (SG_SIG_MAX_OPTS - 1), &w->fp);
	return w->ended;
}

/* The attempt's fingerprint (fp holds the IP fields only when its TCP
 * header could not be read; a signature may still match those). */
static __always_inline void sg_sig_fp_xdp(struct xdp_md *ctx, struct sg_sig_fp *fp)
{
	const __u8 *data = (const __u8 *)(long)ctx->data;
	const __u8 *end = (const __u8 *)(long)ctx->data_end;
	struct sg_sig_walk w = {};
	__u32 l4_off = 0, l4_len = 0, tlen;
	const __u8 *tcp;

	if (!sg_sig_fp_ip(data, end, &w.fp, &l4_off, &l4_len))
		goto out;
	if (l4_off > 128)
		goto out;
	tcp = data + l4_off;
	/* One pointer for the check and the read: the verifier does not relate
	 * data + (l4_off + 12) to a check of data + l4_off + 20. */
	asm volatile("" : "+r"(tcp));
	if (tcp + 20 > end)
		goto out;
	tlen = (__u32)(tcp[12] >> 4) * 4;
	if (tlen < 20 || tlen > l4_len || tlen > 60)
		goto out;
	if (bpf_xdp_load_bytes(ctx, l4_off, w.t, tlen))
		goto out;
	w.tlen = tlen;
	w.off = 20;
	sg_sig_fp_tcp_head(w.t, tlen, l4_len, &w.fp);
	bpf_loop(SG_SIG_MAX_OPTS, sg_sig_walk_step, &w, 0);
	sg_sig_fp_tcp_tail(w.off, tlen, w.ended, &w.fp);
out:
	*fp = w.fp;
}

/* Fingerprints an attempt into the sample sg_dst_attempt drew for it (pos:
 * sg_sig_pos). A subprogram of its own: its stack (the walk's) is not on
 * sg_dst_attempt's, and only the attempts the reservoir keeps pay for it. */
static __attribute__((noinline)) void sg_sig_keep(struct xdp_md *ctx, __u32 pos)
{
	__u32 idx = pos >> 5;
	struct sg_dst *d = bpf_map_lookup_elem(&sg_dsts, &idx);

	if (d)
		sg_sig_fp_xdp(ctx, &d->bank[(pos >> 4) & 1].sig[pos & (SG_SIG_SAMPLES - 1)]);
}

/* An attempt to a target with signatures: dropped when it matches one
 * (passed, and counted, in detect-only mode). A subprogram of its own: its
 * stack and registers stay off the common path. */
static __attribute__((noinline)) int sg_sig_verdict(struct xdp_md *ctx, struct sg_counters *cnt,
						   const struct sg_config *cfg,
						   const struct sg_pkt *pkt)
{
	struct sg_sig_key k = { .port = pkt->dst_port };
	struct sg_sig_set *set;
	struct sg_sig_fp fp;
	__u32 i, n;

	k.dst = pkt->dst;
	set = bpf_map_lookup_elem(&sg_sig_sets, &k);
	if (!set)
		return XDP_PASS;
	n = set->n;
	sg_sig_fp_xdp(ctx, &fp);
	for (i = 0; i < SG_SIG_MAX && i < n; i++) {
		if (!sg_sig_match(&fp, &set->sig[i]))
			continue;
		__sync_fetch_and_add(&set->matched[i], 1);
		cnt->c[SG_CNT_SIG_MATCHED]++;
		/* A source that completed a handshake lately (sg_verified.h)
		 * is a client whatever its SYN looks like. */
		if (cfg->enforce == SG_ENFORCE_NONE || sg_verified_pkt(cnt, pkt))
			return XDP_PASS;
		cnt->c[SG_CNT_DROPPED]++;
		return XDP_DROP;
	}
	return XDP_PASS;
}

#endif /* SG_SIG_BPF_H */
