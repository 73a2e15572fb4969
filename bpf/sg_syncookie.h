/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * sg_syncookie.h — SYN cookies in XDP for the ports where they are on (a
 * port under a flood), as the kernel's xdp_synproxy selftest does: a SYN to
 * such a port is answered at once with an XDP_TX SYN-ACK whose sequence
 * number is a cookie (bpf_tcp_raw_gen_syncookie_ipv4/ipv6, the kernel's own
 * secret), carrying MSS, and, when the SYN had timestamps, SACK-permitted,
 * window scale and a timestamp that encodes the client's options; no state is
 * kept. A packet with ACK (and no SYN/RST) to such a port passes when
 * conntrack knows its flow (bpf_xdp_ct_lookup: an established connection), or
 * when its cookie checks out (bpf_tcp_raw_check_syncookie_ipv4/ipv6): then
 * the kernel's SYNPROXY (the nftables `synproxy` statement the agent installs
 * for the port, src/linux/synproxy_rules.h) checks the same cookie and
 * completes the handshake with the real listener. Any other ACK is dropped: a
 * forged one costs one lookup here. The listener's queue never sees a SYN.
 *
 * Shapes this path leaves to the kernel (passed): VLAN-tagged frames, IPv4
 * with options or fragments, IPv6 with extension headers, and (counted as
 * syncookie_unhandled) SYNs the frame's tailroom or the helpers refuse.
 * nftables' SYNPROXY answers those with the same cookies, at the kernel's
 * cost.
 *
 * Layouts (both sides) first; the program's part is compiled for BPF only and
 * included by syn_guard.bpf.c after its maps. Cost while no port has cookies:
 * one load of sg_cookie.ports per passed packet.
 */
#ifndef SG_SYNCOOKIE_H
#define SG_SYNCOOKIE_H

#include "sg_shared.h"

/* sg_cookie_ports: an array indexed by destination port (65536 bytes). */
#define SG_COOKIE_ANY_ADDR 0x1 /* cookies for every local address */
#define SG_COOKIE_BY_ADDR 0x2  /* cookies for the addresses in sg_cookie_addrs */

/* Key of sg_cookie_addrs: a local address (IPv4 mapped) and port. */
struct sg_cookie_key {
	struct sg_addr dst;
	__u16 port; /* host order */
	__u8 pad[2];
};

/* The path's run-time knobs (a global in .data.cookie, written by user space
 * through the skeleton's mmap). */
struct sg_cookie_params {
	__u32 ports; /* ports with cookies on; 0: the path is skipped */
	__u16 mss4;  /* MSS our SYN-ACK advertises over IPv4 */
	__u16 mss6;  /* over IPv6 */
	__u8 wscale; /* window scale it advertises (the listener's own) */
	__u8 ttl;    /* TTL / hop limit of the SYN-ACK */
	__u8 pad[2];
};

#ifdef __bpf__

#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <bpf/bpf_endian.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, __u8); /* SG_COOKIE_* */
} sg_cookie_ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct sg_cookie_key);
	__type(value, __u8);
} sg_cookie_addrs SEC(".maps");

volatile struct sg_cookie_params sg_cookie SEC(".data.cookie") = {
	.mss4 = 1460, .mss6 = 1440, .wscale = 7, .ttl = 64,
};

/* Conntrack kfuncs (net/netfilter/nf_conntrack_bpf.c). */
struct bpf_ct_opts___sg {
	__s32 netns_id;
	__s32 error;
	__u8 l4proto;
	__u8 dir;
	__u16 ct_zone_id;
	__u8 ct_zone_dir;
	__u8 reserved[3];
};

struct nf_conn {
	unsigned long status;
} __attribute__((preserve_access_index));

extern struct nf_conn *bpf_xdp_ct_lookup(struct xdp_md *ctx, struct bpf_sock_tuple *tuple,
					 __u32 tuple_len, struct bpf_ct_opts___sg *opts,
					 __u32 opts_len) __ksym;
extern void bpf_ct_release(struct nf_conn *ct) __ksym;

#define SG_CK_IPS_CONFIRMED (1ul << 3)
#define SG_CK_ENOENT 2
#define SG_CK_TCP_MAX 60   /* the TCP header at most */
#define SG_CK_OPT_MAX 40   /* its options at most */
#define SG_CK_L3 14        /* untagged Ethernet only */
#define SG_CK_L4_4 (SG_CK_L3 + 20)
#define SG_CK_L4_6 (SG_CK_L3 + 40)

/* The SYN's options, copied to the stack and walked by sg_ck_opt. */
struct sg_ck_opts {
	__u8 b[64];
	__u32 off;    /* cursor */
	__u32 len;    /* option bytes of the SYN */
	__be32 tsval; /* the client's timestamp (our tsecr) */
	__u8 wscale;  /* its window scale, 0xf when none */
	__u8 sack;    /* SACK permitted */
	__u8 ts;      /* timestamps present */
	__u8 pad;
};

/* One option per call (bpf_loop): 1 ends the walk. */
static long sg_ck_opt(__u32 i, void *arg)
{
	struct sg_ck_opts *o = arg;
	__u32 off = o->off, len;
	__u8 kind;

	if (off >= o->len || off >= SG_CK_OPT_MAX)
		return 1;
	kind = o->b[off & 63];
	if (kind == 0) /* end of options */
		return 1;
	if (kind == 1) { /* NOP */
		o->off = off + 1;
		return 0;
	}
	if (off + 2 > o->len)
		return 1;
	len = o->b[(off + 1) & 63];
	if (len < 2 || off + len > o->len)
		return 1;
	if (kind == 3 && len == 3) {
		__u8 ws = o->b[(off + 2) & 63];

		o->wscale = ws < 14 ? ws : 14;
	} else if (kind == 4 && len == 2) {
		o->sack = 1;
	} else if (kind == 8 && len == 10) {
		o->ts = 1;
		o->tsval = (__be32)((__u32)o->b[(off + 2) & 63] | (__u32)o->b[(off + 3) & 63] << 8 |
				    (__u32)o->b[(off + 4) & 63] << 16 | (__u32)o->b[(off + 5) & 63] << 24);
	}
	o->off = off + len;
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

/* Writes the SYN-ACK's TCP header over the SYN's at th (60 bytes there);
 * returns its length. */
static __always_inline __u32 sg_ck_synack_tcp(struct tcphdr *th, __u32 cookie,
					      const struct sg_ck_opts *o, __u16 mss,
					      __u8 wscale)
{
	__be32 *opt = (__be32 *)(th + 1);
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
	if (o->ts) {
		/* The timestamp cookie (the kernel's SYNPROXY decodes it):
		 * milliseconds over the low 6 bits, which carry the client's
		 * window scale (0xf: none), SACK and ECN. */
		tsv = (__u32)(bpf_ktime_get_ns() / 1000000) & ~0x3fu;
		tsv |= o->wscale & 0xf;
		if (o->sack)
			tsv |= 1u << 4;
		if (ecn)
			tsv |= 1u << 5;
		opt[1] = bpf_htonl(o->sack ? 0x0402080a : 0x0101080a);
		opt[2] = bpf_htonl(tsv);
		opt[3] = o->tsval;
		words = 4;
		if (o->wscale != 0xf) {
			opt[4] = bpf_htonl(0x01030300 | wscale);
			words = 5;
		}
	} else {
		ecn = 0;
	}
	/* doff, then flags: SYN|ACK, ECE when the client asked for ECN. */
	((__u8 *)th)[12] = (__u8)((5 + words) << 4);
	((__u8 *)th)[13] = 0x12 | (ecn ? 0x40 : 0);
	return (5 + words) * 4;
}

static __always_inline void sg_ck_swap_eth(__u8 *eth)
{
	__u8 t[6];

	__builtin_memcpy(t, eth, 6);
	__builtin_memcpy(eth, eth + 6, 6);
	__builtin_memcpy(eth + 6, t, 6);
}

/* The SYN's options, walked. th has SG_CK_TCP_MAX bytes in the frame. */
static __always_inline void sg_ck_read_opts(const struct tcphdr *th, __u32 tcp_len,
					    struct sg_ck_opts *o)
{
	__builtin_memset(o, 0, sizeof(*o));
	__builtin_memcpy(o->b, (const __u8 *)(th + 1), SG_CK_OPT_MAX);
	o->len = tcp_len - 20;
	o->wscale = 0xf;
	bpf_loop(SG_CK_OPT_MAX, sg_ck_opt, o, 0);
}

/* Grows the frame so that SG_CK_TCP_MAX bytes follow l4 (the cookie helpers
 * and the rewrite need a fixed window of packet); 0 on success. */
static __always_inline int sg_ck_grow(struct xdp_md *ctx, __u32 l4)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	long len = end - data;

	/* A 64-bit pointer difference: the verifier refuses clang's 32-bit one. */
	asm volatile("" : "+r"(len));
	long need = (long)l4 + SG_CK_TCP_MAX;

	if (len >= need)
		return 0;
	return bpf_xdp_adjust_tail(ctx, (int)(need - len)) ? -1 : 0;
}

/* Trims the frame to the SYN-ACK. */
static __always_inline int sg_ck_trim(struct xdp_md *ctx, __u32 len)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	long cur = end - data;

	asm volatile("" : "+r"(cur));

	return bpf_xdp_adjust_tail(ctx, (int)((long)len - cur)) ? -1 : 0;
}

static __always_inline int sg_ck_syn4(struct xdp_md *ctx, struct sg_counters *cnt)
{
	void *data, *end;
	struct iphdr *ip;
	struct tcphdr *th;
	struct sg_ck_opts o;
	__u32 tcp_len, saddr;
	__s64 v;

	if (sg_ck_grow(ctx, SG_CK_L4_4))
		goto unhandled;
	data = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	ip = data + SG_CK_L3;
	th = data + SG_CK_L4_4;
	if ((void *)th + SG_CK_TCP_MAX > end)
		goto unhandled;
	tcp_len = th->doff * 4;
	if (tcp_len < 20)
		return XDP_DROP;
	v = bpf_tcp_raw_gen_syncookie_ipv4(ip, th, tcp_len);
	if (v < 0)
		goto unhandled;
	sg_ck_read_opts(th, tcp_len, &o);

	sg_ck_swap_eth(data);
	saddr = ip->saddr;
	ip->saddr = ip->daddr;
	ip->daddr = saddr;
	ip->tos = 0;
	ip->id = 0;
	ip->frag_off = bpf_htons(0x4000); /* DF */
	ip->ttl = sg_cookie.ttl;
	tcp_len = sg_ck_synack_tcp(th, (__u32)v, &o, sg_cookie.mss4, sg_cookie.wscale);
	ip->tot_len = bpf_htons(20 + tcp_len);
	ip->check = 0;
	v = bpf_csum_diff(0, 0, (__be32 *)ip, 20, 0);
	if (v < 0)
		return XDP_DROP;
	ip->check = sg_ck_fold((__u64)v);
	v = bpf_csum_diff(0, 0, (__be32 *)th, tcp_len & 0x3c, 0);
	if (v < 0)
		return XDP_DROP;
	th->check = sg_ck_fold((__u64)v + ip->saddr + ip->daddr +
			       bpf_htonl((SG_IPPROTO_TCP << 16) | tcp_len));
	if (sg_ck_trim(ctx, SG_CK_L4_4 + tcp_len))
		return XDP_DROP;
	cnt->c[SG_CNT_COOKIE_SYNACKS]++;
	return XDP_TX;
unhandled:
	cnt->c[SG_CNT_COOKIE_UNHANDLED]++;
	return XDP_PASS;
}

static __always_inline int sg_ck_syn6(struct xdp_md *ctx, struct sg_counters *cnt)
{
	void *data, *end;
	struct ipv6hdr *ip;
	struct tcphdr *th;
	struct sg_ck_opts o;
	struct in6_addr a;
	__u32 tcp_len, i;
	__u64 sum;
	__s64 v;

	if (sg_ck_grow(ctx, SG_CK_L4_6))
		goto unhandled;
	data = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	ip = data + SG_CK_L3;
	th = data + SG_CK_L4_6;
	if ((void *)th + SG_CK_TCP_MAX > end)
		goto unhandled;
	tcp_len = th->doff * 4;
	if (tcp_len < 20)
		return XDP_DROP;
	v = bpf_tcp_raw_gen_syncookie_ipv6(ip, th, tcp_len);
	if (v < 0)
		goto unhandled;
	sg_ck_read_opts(th, tcp_len, &o);

	sg_ck_swap_eth(data);
	a = ip->saddr;
	ip->saddr = ip->daddr;
	ip->daddr = a;
	*(__be32 *)ip = bpf_htonl(0x60000000);
	ip->hop_limit = sg_cookie.ttl;
	tcp_len = sg_ck_synack_tcp(th, (__u32)v, &o, sg_cookie.mss6, sg_cookie.wscale);
	ip->payload_len = bpf_htons(tcp_len);
	v = bpf_csum_diff(0, 0, (__be32 *)th, tcp_len & 0x3c, 0);
	if (v < 0)
		return XDP_DROP;
	sum = (__u64)v + bpf_htonl(tcp_len) + bpf_htonl(SG_IPPROTO_TCP);
	for (i = 0; i < 4; i++)
		sum += (__u64)ip->saddr.in6_u.u6_addr32[i] + ip->daddr.in6_u.u6_addr32[i];
	th->check = sg_ck_fold(sum);
	if (sg_ck_trim(ctx, SG_CK_L4_6 + tcp_len))
		return XDP_DROP;
	cnt->c[SG_CNT_COOKIE_SYNACKS]++;
	return XDP_TX;
unhandled:
	cnt->c[SG_CNT_COOKIE_UNHANDLED]++;
	return XDP_PASS;
}

/* An ACK to a cookie port: its flow's conntrack entry, else its cookie. */
static __always_inline int sg_ck_ack(struct xdp_md *ctx, struct sg_counters *cnt, void *ipp,
				     struct tcphdr *th, int v6)
{
	struct bpf_ct_opts___sg opts = { .netns_id = -1, .l4proto = SG_IPPROTO_TCP };
	struct bpf_sock_tuple tup = {};
	struct nf_conn *ct;
	__u32 tlen;
	int err;

	if (v6) {
		struct ipv6hdr *ip = ipp;

		__builtin_memcpy(tup.ipv6.saddr, &ip->saddr, 16);
		__builtin_memcpy(tup.ipv6.daddr, &ip->daddr, 16);
		tup.ipv6.sport = th->source;
		tup.ipv6.dport = th->dest;
		tlen = sizeof(tup.ipv6);
	} else {
		struct iphdr *ip = ipp;

		tup.ipv4.saddr = ip->saddr;
		tup.ipv4.daddr = ip->daddr;
		tup.ipv4.sport = th->source;
		tup.ipv4.dport = th->dest;
		tlen = sizeof(tup.ipv4);
	}
	ct = bpf_xdp_ct_lookup(ctx, &tup, tlen, &opts, sizeof(opts));
	if (ct) {
		unsigned long status = ct->status;

		bpf_ct_release(ct);
		if (status & SG_CK_IPS_CONFIRMED) {
			cnt->c[SG_CNT_COOKIE_TRACKED]++;
			return XDP_PASS;
		}
	} else if (opts.error != -SG_CK_ENOENT) {
		cnt->c[SG_CNT_COOKIE_UNHANDLED]++;
		return XDP_PASS; /* conntrack could not say: SYNPROXY judges */
	}
	if (v6)
		err = bpf_tcp_raw_check_syncookie_ipv6(ipp, th);
	else
		err = bpf_tcp_raw_check_syncookie_ipv4(ipp, th);
	if (err) {
		cnt->c[SG_CNT_COOKIE_ACKS_DROPPED]++;
		cnt->c[SG_CNT_DROPPED]++;
		return XDP_DROP;
	}
	cnt->c[SG_CNT_COOKIE_ACKS_VALID]++;
	return XDP_PASS;
}

/* Whether cookies are on for (dst, port). */
static __always_inline int sg_ck_wanted(const __u8 *dst, int v6, __u16 port)
{
	struct sg_cookie_key k = { .port = port };
	__u32 idx = port;
	__u8 *mode = bpf_map_lookup_elem(&sg_cookie_ports, &idx);

	if (!mode || !*mode)
		return 0;
	if (*mode & SG_COOKIE_ANY_ADDR)
		return 1;
	if (v6) {
		__builtin_memcpy(k.dst.b, dst, 16);
	} else {
		k.dst.b[10] = 0xff;
		k.dst.b[11] = 0xff;
		__builtin_memcpy(&k.dst.b[12], dst, 4);
	}
	return bpf_map_lookup_elem(&sg_cookie_addrs, &k) != 0;
}

/* The cookie path for a packet the rest of the program passed. */
static __always_inline int sg_cookie_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct sg_counters *cnt;
	struct tcphdr *th;
	void *ipp;
	__u32 zero = 0;
	__u16 proto;
	__u8 flags;
	int v6;

	if (!sg_cookie.ports)
		return XDP_PASS;
	if (data + SG_CK_L4_4 + 20 > end)
		return XDP_PASS;
	proto = ((struct ethhdr *)data)->h_proto;
	ipp = data + SG_CK_L3;
	if (proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = ipp;

		/* Options or fragments: SYNPROXY's (see above). */
		if (ip->protocol != SG_IPPROTO_TCP || ip->ihl != 5 ||
		    (ip->frag_off & bpf_htons(0x3fff)))
			return XDP_PASS;
		th = data + SG_CK_L4_4;
		v6 = 0;
		if (!sg_ck_wanted((__u8 *)&ip->daddr, 0, bpf_ntohs(th->dest)))
			return XDP_PASS;
	} else if (proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip = ipp;

		if (data + SG_CK_L4_6 + 20 > end)
			return XDP_PASS;
		if (ip->nexthdr != SG_IPPROTO_TCP)
			return XDP_PASS; /* extension headers: SYNPROXY's */
		th = data + SG_CK_L4_6;
		v6 = 1;
		if (!sg_ck_wanted((__u8 *)&ip->daddr, 1, bpf_ntohs(th->dest)))
			return XDP_PASS;
	} else {
		return XDP_PASS;
	}
	cnt = bpf_map_lookup_elem(&sg_counters_map, &zero);
	if (!cnt)
		return XDP_PASS;
	flags = ((__u8 *)th)[13] & (SG_TCP_FIN | SG_TCP_SYN | SG_TCP_RST | SG_TCP_ACK);
	if (flags == SG_TCP_SYN)
		return v6 ? sg_ck_syn6(ctx, cnt) : sg_ck_syn4(ctx, cnt);
	if ((flags & (SG_TCP_SYN | SG_TCP_RST | SG_TCP_ACK)) == SG_TCP_ACK)
		return sg_ck_ack(ctx, cnt, ipp, th, v6);
	return XDP_PASS; /* RST, SYN-ACK, odd flags: the stack's */
}

#endif /* __bpf__ */

#endif /* SG_SYNCOOKIE_H */
