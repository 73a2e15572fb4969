/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * sg_challenge.h — challenge instead of block (source_response =
 * "challenge"): a source over the half-open threshold is answered with XDP
 * SYN cookies instead of being dropped, so that an address an attacker
 * forges is not cut off. Its real owner's handshakes complete through the
 * cookie and the kernel's SYNPROXY; the forged SYNs cost one XDP_TX each; a
 * forged ACK is dropped; and a real flooder, who completes the cookies, is
 * blocked for real once its completions in the window pass the connection
 * threshold.
 *
 * The crossing (sg_cross, sg_cross_bpf.h) stores the challenge as an
 * sg_blocks entry flagged SG_BLK_CHALLENGE and not SG_BLK_XDP_DROP: same
 * expiry, escalation and offence history as a block, listed by `blocks`, and
 * the rest of the program passes the source's packets as it passes a block
 * enforced elsewhere. The event is SG_EV_CHALLENGED. User space then puts the
 * source in the SYNPROXY table's source sets (src/linux/synproxy_rules.h)
 * and only then arms it here, in sg_challenged: until armed, the source's
 * SYNs go to the stack as before (an ACK to a cookie that SYNPROXY does not
 * expect would be refused by the listener). Armed, its SYNs (untagged IPv4
 * without options, IPv6 without extension headers: the shapes
 * sg_syncookie_synack.h builds SYN-ACKs for) are answered with a cookie
 * SYN-ACK, its pure ACKs (no payload, no flag but ACK: the handshake's third
 * packet) pass when conntrack knows the flow or the cookie checks out, and
 * are dropped otherwise; its other segments (data, FIN, RST) are the
 * stack's. Each valid cookie ACK is a completion (only who receives the
 * address's traffic can make one; a client's first data segment, which
 * carries the same cookie, is none) counted in the
 * challenge's own window; past the limit (the connection threshold, or the
 * flood threshold with handshake-aware counting off) the entry turns into a
 * drop (SG_BLK_XDP_DROP | SG_BLK_CONNECTIONS) and SG_EV_BLOCK_ADDED is sent.
 *
 * Cost: one load of sg_chal.live per packet the rest of the program passed;
 * while a challenge is armed, a hash lookup of the masked source for TCP
 * SYNs and pure ACKs, and for a challenged source's pure ACK a conntrack
 * lookup. Limits: a pure ACK of a flow conntrack does not hold (established
 * before conntrack tracked this namespace and idle since, with
 * nf_conntrack_tcp_loose = 0, or under a notrack rule) fails the cookie and
 * is dropped, as SYNPROXY would; a third ACK the network duplicated before
 * conntrack confirmed its flow counts twice. The path is a global function (verified once, on its own).
 *
 * Layouts (both sides) first; the program's part is BPF only and included by
 * syn_guard.bpf.c after sg_event_bpf.h and before sg_cross_bpf.h.
 */
#ifndef SG_CHALLENGE_H
#define SG_CHALLENGE_H

#include "sg_shared.h"

/* sg_config.source_response. */
enum sg_source_response {
	SG_RESPONSE_BLOCK = 0,
	SG_RESPONSE_CHALLENGE = 1,
};

/* Value of sg_challenged: an armed challenge (key: the masked source). */
struct sg_challenge {
	__u64 expires_ns;      /* as its sg_blocks entry's */
	struct sg_window done; /* valid cookie ACKs: its completions */
};

/* The path's run-time gate (a global in .data.chal, written by user space
 * through the skeleton's mmap). */
struct sg_challenge_params {
	__u32 live; /* 1 while sg_challenged may hold an entry; 0: path skipped */
	__u32 pad;
};

#ifdef __bpf__

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384); /* resized by the loader: max_blocks */
	__type(key, struct sg_addr);
	__type(value, struct sg_challenge);
} sg_challenged SEC(".maps");

volatile struct sg_challenge_params sg_chal SEC(".data.chal");

/* The crossing's plan: a challenge instead of a block when so configured
 * (XDP enforcement only) and the source crossed the half-open threshold (or,
 * with handshake-aware counting off, the flood threshold); a connection flood
 * (SG_REASON_CONNECTIONS) is blocked as before, and so is every crossing
 * where the conntrack kfuncs are missing (the ACK check needs them). */
static __always_inline void sg_chal_plan(struct sg_counters *cnt, const struct sg_config *cfg,
					 __u32 reason, struct sg_block *b)
{
	if (cfg->source_response != SG_RESPONSE_CHALLENGE || cfg->enforce != SG_ENFORCE_XDP ||
	    reason == SG_REASON_CONNECTIONS)
		return;
	if (!sg_ck_kfuncs()) {
		cnt->c[SG_CNT_CHAL_FALLBACK]++;
		return;
	}
	b->flags = SG_BLK_CHALLENGE | (b->flags & SG_BLK_HALF_OPEN);
	b->drops = 0;
}

/* Completions past the limit: the challenge becomes a block (from now, for
 * the duration the challenge had), the arming goes, the event tells. */
static __always_inline int sg_chal_block(struct sg_counters *cnt, const struct sg_config *cfg,
					 const struct sg_addr *key, struct sg_challenge *c,
					 __u64 now, __u32 ifindex)
{
	struct sg_block *b = bpf_map_lookup_elem(&sg_blocks, key);
	struct sg_cpu_epoch *ep;
	__u64 dur;

	if (!b || !(b->flags & SG_BLK_CHALLENGE))
		return XDP_PASS; /* unblocked, or already turned by another CPU */
	dur = b->expires_ns - b->added_ns;
	b->flags = SG_BLK_XDP_DROP | SG_BLK_CONNECTIONS;
	b->count = sg_window_estimate(&c->done, now, cfg->window_ns);
	b->added_ns = now;
	b->expires_ns = now + dur;
	b->drops = 1;
	bpf_map_delete_elem(&sg_challenged, key);
	cnt->c[SG_CNT_CHAL_BLOCKED]++;
	cnt->c[SG_CNT_BLOCKS_ADDED]++;
	cnt->c[SG_CNT_FLAGGED_CONNECTIONS]++;
	cnt->c[SG_CNT_DROPPED]++;
	ep = sg_epoch(now);
	if (ep)
		sg_emit_r(cnt, ep, cfg, SG_EV_BLOCK_ADDED, key, now, b->count, dur, b->dst_port,
			  b->level, ifindex, SG_REASON_CONNECTIONS,
			  sg_window_span_start(&c->done, now, cfg->window_ns));
	return XDP_DROP;
}

/* What the challenge path returns for a packet that is not its business, and
 * for a challenged source's SYN to answer with a cookie SYN-ACK
 * (sg_chal_synack, called by the entry point itself). */
#define SG_CHAL_NONE (-1)
#define SG_CHAL_SYN4 (-2)
#define SG_CHAL_SYN6 (-3)

/* Flags a pure ACK (the handshake's third packet) has only ACK of:
 * FIN, SYN, RST, PSH, ACK, URG. */
#define SG_CHAL_ACK_MASK 0x3f

/* The challenge path for a packet the rest of the program passed: a TCP SYN
 * or ACK from an armed challenged source to one of this host's addresses.
 * Returns the verdict, SG_CHAL_SYN4/6 for a SYN to answer, or SG_CHAL_NONE.
 * Global: verified once, apart. The SYN-ACK is built by sg_chal_synack, a
 * call of the entry point, not of this function: the verifier adds up the
 * frames of a call chain (512 bytes in all), and the builder's 80-byte header
 * would otherwise stack on this frame and on the entry point's. */
__attribute__((noinline)) int sg_chal_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct sg_counters *cnt;
	struct sg_challenge *c;
	struct sg_config *cfg;
	struct sg_addr src = {}, dst = {};
	struct tcphdr *th;
	void *ipp;
	__u32 zero = 0, limit, l4len;
	__u64 now;
	__u8 flags;
	int v6;

	if (data + SG_CK_L4_4 + 20 > end)
		return SG_CHAL_NONE;
	ipp = data + SG_CK_L3;
	if (((struct ethhdr *)data)->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = ipp;

		/* Options or fragments: SYNPROXY's, as for cookie ports. */
		if (ip->protocol != SG_IPPROTO_TCP || ip->ihl != 5 ||
		    (ip->frag_off & bpf_htons(0x3fff)))
			return SG_CHAL_NONE;
		th = data + SG_CK_L4_4;
		l4len = (__u32)bpf_ntohs(ip->tot_len) - 20;
		v6 = 0;
		src.b[10] = 0xff;
		src.b[11] = 0xff;
		__builtin_memcpy(&src.b[12], &ip->saddr, 4);
		dst = src;
		__builtin_memcpy(&dst.b[12], &ip->daddr, 4);
	} else if (((struct ethhdr *)data)->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip = ipp;

		if (data + SG_CK_L4_6 + 20 > end)
			return SG_CHAL_NONE;
		if (ip->nexthdr != SG_IPPROTO_TCP)
			return SG_CHAL_NONE; /* extension headers: SYNPROXY's */
		th = data + SG_CK_L4_6;
		l4len = bpf_ntohs(ip->payload_len);
		v6 = 1;
		__builtin_memcpy(src.b, &ip->saddr, 16);
		__builtin_memcpy(dst.b, &ip->daddr, 16);
	} else {
		return SG_CHAL_NONE;
	}
	flags = ((__u8 *)th)[13];
	if ((flags & (SG_TCP_SYN | SG_TCP_RST | SG_TCP_ACK)) == SG_TCP_SYN) {
		flags = SG_TCP_SYN;
	} else if ((flags & SG_CHAL_ACK_MASK) != SG_TCP_ACK || l4len != (__u32)th->doff * 4) {
		/* RST, SYN-ACK: the stack's. So is every segment that is no
		 * pure ACK (data, PSH, FIN, URG): the handshake's third packet
		 * carries none, and a client's first data segment (the same
		 * seq and ack, a valid cookie too) is no second completion; an
		 * established flow conntrack does not hold is not cut. */
		return SG_CHAL_NONE;
	}
	cfg = bpf_map_lookup_elem(&sg_config_map, &zero);
	cnt = bpf_map_lookup_elem(&sg_counters_map, &zero);
	if (!cfg || !cnt)
		return SG_CHAL_NONE;
	sg_mask_source(&src, v6 ? 6 : 4, cfg->v6_prefix_len);
	c = bpf_map_lookup_elem(&sg_challenged, &src);
	if (!c)
		return SG_CHAL_NONE;
	now = SG_NOW();
	if (now >= c->expires_ns || !sg_is_local(&dst))
		return SG_CHAL_NONE; /* over (user space disarms it), or forwarded */
	if (flags == SG_TCP_SYN)
		return v6 ? SG_CHAL_SYN6 : SG_CHAL_SYN4;
	switch (sg_ck_judge(ctx, ipp, th, v6)) {
	case SG_CK_ACK_TRACKED:
		return XDP_PASS;
	case SG_CK_ACK_FORGED:
		cnt->c[SG_CNT_CHAL_ACKS_DROPPED]++;
		cnt->c[SG_CNT_DROPPED]++;
		return XDP_DROP;
	case SG_CK_ACK_VALID:
		break;
	default:
		return XDP_PASS; /* conntrack could not say: SYNPROXY judges */
	}
	cnt->c[SG_CNT_CHAL_ACKS_VALID]++;
	limit = cfg->conn_threshold ? cfg->conn_threshold : cfg->threshold;
	if (sg_window_over(&c->done, sg_window_record(&c->done, now, cfg->window_ns), now,
			   cfg->window_ns, limit))
		return sg_chal_block(cnt, cfg, &src, c, now, ctx->ingress_ifindex);
	return XDP_PASS;
}

/* A challenged source's SYN (sg_chal_xdp said SG_CHAL_SYN4/6): the cookie
 * SYN-ACK (sg_syncookie_synack.h). Global, verified once. */
__attribute__((noinline)) int sg_chal_synack(struct xdp_md *ctx, int v6)
{
	struct sg_counters *cnt;
	__u32 zero = 0;
	int verdict;

	cnt = bpf_map_lookup_elem(&sg_counters_map, &zero);
	if (!cnt)
		return XDP_PASS;
	verdict = sg_ck_syn(ctx, cnt, v6);
	if (verdict == XDP_TX)
		cnt->c[SG_CNT_CHAL_SYNACKS]++;
	return verdict;
}

#endif /* __bpf__ */

#endif /* SG_CHALLENGE_H */
