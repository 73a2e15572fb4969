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
 * SYN-ACK, and every segment of it with ACK and no SYN is judged as the
 * kernel's SYNPROXY judges it (nft_synproxy takes any such segment, PSH, URG,
 * FIN, RST or payload alike, as the handshake's third packet when conntrack
 * does not hold its flow): it passes when conntrack holds the flow open or
 * the cookie checks out, and is dropped otherwise (sg_ck_judge: a flow
 * conntrack holds closed, CLOSE or TIME_WAIT, is no proof, since the same
 * ports' next handshake completes through that entry; there a valid cookie
 * is a new completion and any other segment passes, conntrack's). Each valid cookie is a
 * completion (only who receives the address's traffic can make one), counted
 * once per flow: a flow counted in the last SG_CHAL_COUNTED_NS
 * (sg_chal_counted: addresses, ports and the cookie) is not counted again, so
 * a client's first data segment, which carries the same cookie, or a
 * duplicated third packet, arriving before conntrack has confirmed the flow,
 * is no second completion; and a later segment of such a flow (its sequence
 * past the cookie's) passes rather than fail the cookie. Completions are
 * counted in the challenge's own window; past the limit (the connection
 * threshold, or the flood threshold with handshake-aware counting off) the
 * entry turns into a drop (SG_BLK_XDP_DROP | SG_BLK_CONNECTIONS) and
 * SG_EV_BLOCK_ADDED is sent.
 *
 * Cost: one load of sg_chal.live per packet the rest of the program passed;
 * while a challenge is armed, a hash lookup of the masked source for TCP
 * SYNs and segments with ACK, and for a challenged source's segment with ACK
 * a conntrack lookup (and, when that misses or finds the flow not open, the
 * cookie check and a lookup in sg_chal_counted). Limits: a segment of a flow conntrack does not hold
 * (established before conntrack tracked this namespace and idle since, with
 * nf_conntrack_tcp_loose = 0, or under a notrack rule) fails the cookie and
 * is dropped, as SYNPROXY would drop it; the same flow's third packet on two
 * CPUs at once may count twice (the lookup and the insert are not one
 * operation; RSS keeps a flow on one CPU). An armed source's TCP in a shape
 * the judge does not read (IPv4 options or fragments, IPv6 extension headers
 * whatever follows them) is dropped (challenge_shape_dropped_total): SYNPROXY
 * would complete its third packet uncounted (review s18 M2); VLAN-tagged
 * frames are still left to SYNPROXY, uncounted. The path is a
 * global function (verified once, on its own).
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

/* Key of sg_chal_counted: a flow whose valid cookie was counted, as its
 * third packet names it (the acknowledgement carries the cookie: a new
 * connection on the same ports has another one). */
struct sg_chal_flow {
	struct sg_addr src; /* not masked */
	struct sg_addr dst;
	__u16 sport; /* network order, as the header */
	__u16 dport;
	__u32 ack; /* network order: the cookie + 1 */
};

/* How long a counted flow's later segments (its first data, a duplicated
 * third packet) count no second time: long enough for the stack to confirm
 * the flow in conntrack (after which the judge finds it tracked), shorter
 * than conntrack keeps a closed flow (nf_conntrack_tcp_timeout_close, 10 s),
 * the soonest the same ports and cookie can make a new connection. */
#define SG_CHAL_COUNTED_NS 2000000000ull

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

/* Flows counted in the last SG_CHAL_COUNTED_NS: a valid cookie counts once
 * per flow. LRU: an entry matters only for the moments between a third packet
 * and the stack's conntrack entry; one evicted early costs at most one extra
 * count, for that flow. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, struct sg_chal_flow);
	__type(value, __u64); /* when counted */
} sg_chal_counted SEC(".maps");

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

/* Whether `fl` was counted in the last SG_CHAL_COUNTED_NS. */
static __always_inline int sg_chal_counted_lately(const struct sg_chal_flow *fl, __u64 now)
{
	__u64 *at = bpf_map_lookup_elem(&sg_chal_counted, fl);

	return at && now - *at < SG_CHAL_COUNTED_NS;
}

/* The challenge path for a packet the rest of the program passed: a TCP SYN,
 * or a segment with ACK and no SYN, from an armed challenged source to one of
 * this host's addresses. Returns the verdict, SG_CHAL_SYN4/6 for a SYN to
 * answer, or SG_CHAL_NONE. Global: verified once, apart. The SYN-ACK is built
 * by sg_chal_synack, a call of the entry point, not of this function: the
 * verifier adds up the frames of a call chain (512 bytes in all), and the
 * builder's 80-byte header would otherwise stack on this frame and on the
 * entry point's. */
__attribute__((noinline)) int sg_chal_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct sg_chal_flow fl = {};
	struct sg_counters *cnt;
	struct sg_challenge *c;
	struct sg_config *cfg;
	struct sg_addr src;
	struct tcphdr *th = 0;
	void *ipp;
	__u32 zero = 0, limit;
	__u64 now;
	__u8 flags = 0;
	int v6, odd;

	ipp = data + SG_CK_L3;
	if (ipp + 20 > end) /* no IPv4 header, less an IPv6 one */
		return SG_CHAL_NONE;
	/* A TCP packet in a shape the judge below does not read (IPv4 options or
	 * fragments, IPv6 extension headers: "odd") is dropped if its source is
	 * challenged: SYNPROXY would take its third packet, or its reassembly,
	 * as a completion this path never counted (review s18 M2). The sender
	 * picks the shape, so passing it would undo the connection threshold. */
	if (((struct ethhdr *)data)->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = ipp;

		if (ip->protocol != SG_IPPROTO_TCP)
			return SG_CHAL_NONE;
		odd = ip->ihl != 5 || (ip->frag_off & bpf_htons(0x3fff));
		if (!odd) {
			if (data + SG_CK_L4_4 + 20 > end)
				return SG_CHAL_NONE;
			th = data + SG_CK_L4_4;
		}
		v6 = 0;
		fl.src.b[10] = 0xff;
		fl.src.b[11] = 0xff;
		__builtin_memcpy(&fl.src.b[12], &ip->saddr, 4);
		fl.dst = fl.src;
		__builtin_memcpy(&fl.dst.b[12], &ip->daddr, 4);
	} else if (((struct ethhdr *)data)->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip = ipp;

		if (ipp + 40 > end)
			return SG_CHAL_NONE;
		if (ip->nexthdr != SG_IPPROTO_TCP && !sg_v6_is_ext(ip->nexthdr))
			return SG_CHAL_NONE;
		odd = ip->nexthdr != SG_IPPROTO_TCP;
		if (!odd) {
			if (data + SG_CK_L4_6 + 20 > end)
				return SG_CHAL_NONE;
			th = data + SG_CK_L4_6;
		}
		v6 = 1;
		__builtin_memcpy(fl.src.b, &ip->saddr, 16);
		__builtin_memcpy(fl.dst.b, &ip->daddr, 16);
	} else {
		return SG_CHAL_NONE;
	}
	if (th) {
		flags = ((__u8 *)th)[13];
		if ((flags & (SG_TCP_SYN | SG_TCP_RST | SG_TCP_ACK)) == SG_TCP_SYN)
			flags = SG_TCP_SYN;
		else if ((flags & (SG_TCP_SYN | SG_TCP_ACK)) != SG_TCP_ACK)
			return SG_CHAL_NONE; /* no ACK (a bare RST), or a SYN-ACK: the stack's */
	}
	cfg = bpf_map_lookup_elem(&sg_config_map, &zero);
	cnt = bpf_map_lookup_elem(&sg_counters_map, &zero);
	if (!cfg || !cnt)
		return SG_CHAL_NONE;
	src = fl.src;
	sg_mask_source(&src, v6 ? 6 : 4, cfg->v6_prefix_len);
	c = bpf_map_lookup_elem(&sg_challenged, &src);
	if (!c)
		return SG_CHAL_NONE;
	now = SG_NOW();
	if (now >= c->expires_ns || !sg_is_local(&fl.dst))
		return SG_CHAL_NONE; /* over (user space disarms it), or forwarded */
	if (!th) {
		cnt->c[SG_CNT_CHAL_SHAPE_DROPPED]++;
		cnt->c[SG_CNT_DROPPED]++;
		return XDP_DROP;
	}
	if (flags == SG_TCP_SYN)
		return v6 ? SG_CHAL_SYN6 : SG_CHAL_SYN4;
	/* Every segment with ACK and no SYN: SYNPROXY takes any of them (PSH,
	 * URG, FIN, RST or payload alike) as the handshake's third packet when
	 * conntrack does not hold its flow, so each is judged here as there. */
	fl.sport = th->source;
	fl.dport = th->dest;
	fl.ack = th->ack_seq;
	switch (sg_ck_judge(ctx, ipp, th, v6)) {
	case SG_CK_ACK_TRACKED:
		return XDP_PASS;
	case SG_CK_ACK_FORGED:
		/* A later segment of a flow counted a moment ago (its seq moved
		 * past the cookie's) while the stack has yet to track it. */
		if (sg_chal_counted_lately(&fl, now))
			return XDP_PASS;
		cnt->c[SG_CNT_CHAL_ACKS_DROPPED]++;
		cnt->c[SG_CNT_DROPPED]++;
		return XDP_DROP;
	case SG_CK_ACK_VALID:
		break;
	default:
		return XDP_PASS; /* conntrack could not say: SYNPROXY judges */
	}
	/* One completion per flow: its first data segment (the same numbers, the
	 * same cookie) or a duplicated third packet, ahead of conntrack, is none. */
	if (sg_chal_counted_lately(&fl, now))
		return XDP_PASS;
	bpf_map_update_elem(&sg_chal_counted, &fl, &now, BPF_ANY);
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
