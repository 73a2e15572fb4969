/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * sg_syncookie_synack.h — the SYN-ACK half of the XDP SYN cookies
 * (sg_syncookie.h): the SYN's TCP header copied to the stack, its options
 * walked (bpf_loop), rewritten there into a SYN-ACK whose sequence number is
 * the kernel's cookie and whose timestamp encodes the client's options (the
 * format SYNPROXY decodes), checksummed, and stored back into the frame,
 * turned around in place for XDP_TX. BPF only; included by sg_syncookie.h
 * after its globals and SG_CK_* constants.
 */
#ifndef SG_SYNCOOKIE_SYNACK_H
#define SG_SYNCOOKIE_SYNACK_H

/* The SYN's TCP header, copied to the stack (the cookie helper reads it
 * there, sg_ck_opt walks its options) and rewritten there into the SYN-ACK's,
 * which is then stored into the frame: no packet bounds that depend on the
 * header's length. */
struct sg_ck_tcp {
	__u8 b[64];
	__u32 off;    /* option cursor (from 20) */
	__u32 len;    /* the SYN's header length */
	__be32 tsval; /* the client's timestamp (our tsecr) */
	__u8 wscale;  /* its window scale, 0xf when none */
	__u8 sack;    /* SACK permitted */
	__u8 ts;      /* timestamps present */
	__u8 pad;
};

/* One option per call (bpf_loop): 1 ends the walk. */
static long sg_ck_opt(__u32 i, void *arg)
{
	struct sg_ck_tcp *t = arg;
	__u32 off = t->off, len;
	__u8 kind;

	if (off >= t->len || off >= SG_CK_TCP_MAX)
		return 1;
	kind = t->b[off & 63];
	if (kind == 0) /* end of options */
		return 1;
	if (kind == 1) { /* NOP */
		t->off = off + 1;
		return 0;
	}
	if (off + 2 > t->len)
		return 1;
	len = t->b[(off + 1) & 63];
	if (len < 2 || off + len > t->len)
		return 1;
	if (kind == 3 && len == 3) {
		__u8 ws = t->b[(off + 2) & 63];

		t->wscale = ws < 14 ? ws : 14;
	} else if (kind == 4 && len == 2) {
		t->sack = 1;
	} else if (kind == 8 && len == 10) {
		t->ts = 1;
		t->tsval = (__be32)((__u32)t->b[(off + 2) & 63] | (__u32)t->b[(off + 3) & 63] << 8 |
				    (__u32)t->b[(off + 4) & 63] << 16 | (__u32)t->b[(off + 5) & 63] << 24);
	}
	t->off = off + len;
	return 0;
}

static __always_inline __u16 sg_ck_fold(__u64 s)
{
	s = (s & 0xffffffff) + (s >> 32);
	s = (s & 0xffffffff) + (s >> 32);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (__u16)~s;
}

/* Rewrites the SYN's header in t into the SYN-ACK's (checksum 0); returns
 * its length: 24 (MSS), 36 (+ SACK/timestamps) or 40 (+ window scale). */
static __always_inline __u32 sg_ck_synack_tcp(struct sg_ck_tcp *t, __u32 cookie, __u16 mss,
					      __u8 wscale)
{
	struct tcphdr *th = (struct tcphdr *)t->b;
	__be32 *opt = (__be32 *)(t->b + 20);
	__u32 words = 1, tsv;
	__u16 port = th->source;
	int ecn = th->ece && th->cwr;

	th->source = th->dest;
	th->dest = port;
	th->ack_seq = bpf_htonl(bpf_ntohl(th->seq) + 1);
	th->seq = bpf_htonl(cookie);
	th->window = 0; /* as the kernel's SYNPROXY: its window update follows */
	th->urg_ptr = 0;
	th->check = 0;
	opt[0] = bpf_htonl((2u << 24) | (4u << 16) | mss);
	if (t->ts) {
		/* The timestamp cookie (the kernel's SYNPROXY decodes it):
		 * milliseconds over the low 6 bits, which carry the client's
		 * window scale (0xf: none), SACK and ECN. */
		tsv = (__u32)(bpf_ktime_get_ns() / 1000000) & ~0x3fu;
		tsv |= t->wscale & 0xf;
		if (t->sack)
			tsv |= 1u << 4;
		if (ecn)
			tsv |= 1u << 5;
		opt[1] = bpf_htonl(t->sack ? 0x0402080a : 0x0101080a);
		opt[2] = bpf_htonl(tsv);
		opt[3] = t->tsval;
		words = 4;
		if (t->wscale != 0xf) {
			opt[4] = bpf_htonl(0x01030300 | wscale);
			words = 5;
		}
	} else {
		ecn = 0;
	}
	/* doff, then flags: SYN|ACK, ECE when the client asked for ECN. */
	t->b[12] = (__u8)((5 + words) << 4);
	t->b[13] = 0x12 | (ecn ? 0x40 : 0);
	return (5 + words) * 4;
}

static __always_inline void sg_ck_swap_eth(__u8 *eth)
{
	__u8 t[6];

	__builtin_memcpy(t, eth, 6);
	__builtin_memcpy(eth, eth + 6, 6);
	__builtin_memcpy(eth + 6, t, 6);
}

/* Sizes the frame to len bytes (the SYN-ACK); 0 on success. */
static __always_inline int sg_ck_resize(struct xdp_md *ctx, __u32 len)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	long cur = end - data;

	/* A 64-bit pointer difference: the verifier refuses clang's 32-bit one. */
	asm volatile("" : "+r"(cur));
	if (cur == (long)len)
		return 0;
	return bpf_xdp_adjust_tail(ctx, (int)((long)len - cur)) ? -1 : 0;
}

/* A SYN to a cookie port (untagged, IPv4 without options or IPv6 without
 * extension headers, TCP header at l4): answered in place. */
static __always_inline int sg_ck_syn(struct xdp_md *ctx, struct sg_counters *cnt, int v6)
{
	__u32 l4 = v6 ? SG_CK_L4_6 : SG_CK_L4_4;
	struct sg_ck_tcp t = {};
	void *data, *end;
	__u32 tcp_len, len;
	__u64 sum;
	__s64 v;

	data = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	if (v6) {
		if (data + SG_CK_L4_6 + 20 > end)
			return XDP_PASS;
		tcp_len = (((__u8 *)data)[SG_CK_L4_6 + 12] >> 4) * 4;
	} else {
		if (data + SG_CK_L4_4 + 20 > end)
			return XDP_PASS;
		tcp_len = (((__u8 *)data)[SG_CK_L4_4 + 12] >> 4) * 4;
	}
	if (tcp_len < 20 || bpf_xdp_load_bytes(ctx, l4, t.b, tcp_len))
		return XDP_DROP; /* the stack drops it too */
	if (v6)
		v = bpf_tcp_raw_gen_syncookie_ipv6(data + SG_CK_L3, (struct tcphdr *)t.b, tcp_len);
	else
		v = bpf_tcp_raw_gen_syncookie_ipv4(data + SG_CK_L3, (struct tcphdr *)t.b, tcp_len);
	if (v < 0)
		goto unhandled;
	t.off = 20;
	t.len = tcp_len;
	t.wscale = 0xf;
	bpf_loop(SG_CK_OPT_MAX, sg_ck_opt, &t, 0);
	len = sg_ck_synack_tcp(&t, (__u32)v, v6 ? sg_cookie.mss6 : sg_cookie.mss4,
			       sg_cookie.wscale) & 0x3c;

	/* The checksum over the pseudo header: the addresses' sum does not
	 * depend on their order. */
	v = bpf_csum_diff(0, 0, (__be32 *)t.b, len, 0);
	if (v < 0)
		goto unhandled;
	sum = (__u64)v + bpf_htonl((SG_IPPROTO_TCP << 16) | len);
	if (v6) {
		struct ipv6hdr *ip = data + SG_CK_L3;
		int i;

		if ((void *)(ip + 1) > end)
			return XDP_PASS;
		for (i = 0; i < 4; i++)
			sum += (__u64)ip->saddr.in6_u.u6_addr32[i] + ip->daddr.in6_u.u6_addr32[i];
	} else {
		struct iphdr *ip = data + SG_CK_L3;

		sum += (__u64)ip->saddr + ip->daddr;
	}
	((struct tcphdr *)t.b)->check = sg_ck_fold(sum);

	if (sg_ck_resize(ctx, l4 + len))
		goto unhandled; /* no tailroom to grow into: SYNPROXY's */
	data = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	if (data + SG_CK_L4_4 > end)
		return XDP_DROP;
	sg_ck_swap_eth(data);
	if (v6) {
		struct ipv6hdr *ip = data + SG_CK_L3;
		struct in6_addr a;

		if ((void *)(ip + 1) > end)
			return XDP_DROP;
		a = ip->saddr;
		ip->saddr = ip->daddr;
		ip->daddr = a;
		*(__be32 *)ip = bpf_htonl(0x60000000);
		ip->payload_len = bpf_htons(len);
		ip->hop_limit = sg_cookie.ttl;
	} else {
		struct iphdr *ip = data + SG_CK_L3;
		__u32 a = ip->saddr;

		ip->saddr = ip->daddr;
		ip->daddr = a;
		ip->tos = 0;
		ip->id = 0;
		ip->frag_off = bpf_htons(0x4000); /* DF */
		ip->ttl = sg_cookie.ttl;
		ip->tot_len = bpf_htons(20 + len);
		ip->check = 0;
		v = bpf_csum_diff(0, 0, (__be32 *)ip, 20, 0);
		if (v < 0)
			return XDP_DROP;
		ip->check = sg_ck_fold((__u64)v);
	}
	if (bpf_xdp_store_bytes(ctx, l4, t.b, len))
		return XDP_DROP;
	cnt->c[SG_CNT_COOKIE_SYNACKS]++;
	return XDP_TX;
unhandled:
	cnt->c[SG_CNT_COOKIE_UNHANDLED]++;
	return XDP_PASS;
}

#endif /* SG_SYNCOOKIE_SYNACK_H */
