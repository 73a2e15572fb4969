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
 * Only for this host's own addresses (bpf/sg_local.h): on a host that
 * forwards, a SYN to another host passes untouched.
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

/* What the judge reads of a conntrack entry (CO-RE: matched by name against
 * the running kernel's BTF; reading an nf_conn the lookup returned is
 * allowed, only writes are restricted). */
struct ip_ct_tcp___sg {
	__u8 state; /* enum tcp_conntrack */
} __attribute__((preserve_access_index));

union nf_conntrack_proto___sg {
	struct ip_ct_tcp___sg tcp;
} __attribute__((preserve_access_index));

struct nf_conn {
	unsigned long status;
	union nf_conntrack_proto___sg proto;
} __attribute__((preserve_access_index));

/* Weak: where nf_conntrack is a module not loaded, libbpf leaves them
 * unresolved and the program still loads (the calls sit behind
 * sg_ck_kfuncs(), which the verifier then knows false and prunes). User space
 * refuses cookies there (XdpSensor::setCookies). SG_CK_ABSENT_KFUNCS (tests/
 * bpf only) names kfuncs no kernel has, to load the program as on such a
 * host. */
#ifdef SG_CK_ABSENT_KFUNCS
#define bpf_xdp_ct_lookup sg_absent_xdp_ct_lookup
#define bpf_ct_release sg_absent_ct_release
#endif
extern struct nf_conn *bpf_xdp_ct_lookup(struct xdp_md *ctx, struct bpf_sock_tuple *tuple,
					 __u32 tuple_len, struct bpf_ct_opts___sg *opts,
					 __u32 opts_len) __ksym __weak;
extern void bpf_ct_release(struct nf_conn *ct) __ksym __weak;

/* libbpf 1.2's bpf_ksym_exists (the assert: the symbol must be weak). */
#define sg_ck_ksym_exists(sym)                                                  \
	({                                                                      \
		_Static_assert(!__builtin_constant_p(!!(sym)), #sym " not weak"); \
		!!(sym);                                                        \
	})
#define sg_ck_kfuncs() \
	(sg_ck_ksym_exists(bpf_xdp_ct_lookup) && sg_ck_ksym_exists(bpf_ct_release))

#define SG_CK_IPS_CONFIRMED (1ul << 3)
/* enum tcp_conntrack: the states in which conntrack holds a flow open,
 * ESTABLISHED, FIN_WAIT, CLOSE_WAIT and LAST_ACK (3..6). In the others a
 * SYN opens a new connection through the entry (TIME_WAIT, CLOSE: "reopened"
 * in nf_conntrack_proto_tcp.c) or none is open yet (SYN_SENT, SYN_RECV). */
#define SG_CK_TCP_OPEN_FIRST 3
#define SG_CK_TCP_OPEN_LAST 6
#define SG_CK_ENOENT 2
#define SG_CK_TCP_MAX 60   /* the TCP header at most */
#define SG_CK_OPT_MAX 40   /* option bytes at most: the walk's bound */
#define SG_CK_L3 14        /* untagged Ethernet only */
#define SG_CK_L4_4 (SG_CK_L3 + 20)
#define SG_CK_L4_6 (SG_CK_L3 + 40)

#include "sg_syncookie_synack.h" /* the SYN-ACK: options, cookie, checksums */

/* What sg_ck_judge found of an ACK (sg_challenge.h counts the valid ones as
 * its source's completions). */
enum sg_ck_ack_kind {
	SG_CK_ACK_UNKNOWN = 0, /* no kfuncs, or conntrack could not say: SYNPROXY judges */
	SG_CK_ACK_TRACKED = 1, /* conntrack's: its flow is open there, or held
				* closed and this is no cookie's third packet */
	SG_CK_ACK_VALID = 2,   /* its cookie checks out: a new connection */
	SG_CK_ACK_FORGED = 3,  /* neither: to be dropped */
};

/* An ACK to a cookie port (or from a challenged source): its flow's conntrack
 * entry when conntrack holds the flow open, else its cookie. A flow conntrack
 * holds but not open (TIME_WAIT, CLOSE: kept 120 s and 10 s after the
 * connection ended; SYN_SENT, SYN_RECV) is no proof of anything: the same
 * ports' next handshake completes through that entry (SYNPROXY's SYN to the
 * listener reopens it), so a valid cookie there is a new connection (VALID,
 * counted by the challenge), and any other segment stays conntrack's
 * (TRACKED: passed, as before, to be judged by conntrack and the stack).
 * Review s18: judging every held flow tracked let a challenged source cycle
 * one port pair, aborting each connection with a RST, uncounted past the
 * connection threshold. Counts nothing. */
static __always_inline int sg_ck_judge(struct xdp_md *ctx, void *ipp, struct tcphdr *th, int v6)
{
	struct bpf_ct_opts___sg opts = { .netns_id = -1, .l4proto = SG_IPPROTO_TCP };
	struct bpf_sock_tuple tup = {};
	struct nf_conn *ct;
	int err, held = 0;
	__u32 tlen;

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
	/* No conntrack kfuncs (user space refuses cookies then): the stack's
	 * SYNPROXY, if any, judges. */
	if (!sg_ck_kfuncs())
		return SG_CK_ACK_UNKNOWN;
	ct = bpf_xdp_ct_lookup(ctx, &tup, tlen, &opts, sizeof(opts));
	if (ct) {
		unsigned long status = ct->status;
		__u8 state = ct->proto.tcp.state;

		bpf_ct_release(ct);
		if (status & SG_CK_IPS_CONFIRMED) {
			if ((__u8)(state - SG_CK_TCP_OPEN_FIRST) <=
			    SG_CK_TCP_OPEN_LAST - SG_CK_TCP_OPEN_FIRST)
				return SG_CK_ACK_TRACKED;
			held = 1;
		}
	} else if (opts.error != -SG_CK_ENOENT) {
		return SG_CK_ACK_UNKNOWN; /* conntrack could not say: SYNPROXY judges */
	}
	if (v6)
		err = bpf_tcp_raw_check_syncookie_ipv6(ipp, th);
	else
		err = bpf_tcp_raw_check_syncookie_ipv4(ipp, th);
	if (!err)
		return SG_CK_ACK_VALID;
	return held ? SG_CK_ACK_TRACKED : SG_CK_ACK_FORGED;
}

/* An ACK to a cookie port: sg_ck_judge's verdict, counted. */
static __always_inline int sg_ck_ack(struct xdp_md *ctx, struct sg_counters *cnt, void *ipp,
				     struct tcphdr *th, int v6)
{
	switch (sg_ck_judge(ctx, ipp, th, v6)) {
	case SG_CK_ACK_TRACKED:
		cnt->c[SG_CNT_COOKIE_TRACKED]++;
		return XDP_PASS;
	case SG_CK_ACK_VALID:
		cnt->c[SG_CNT_COOKIE_ACKS_VALID]++;
		return XDP_PASS;
	case SG_CK_ACK_FORGED:
		cnt->c[SG_CNT_COOKIE_ACKS_DROPPED]++;
		cnt->c[SG_CNT_DROPPED]++;
		return XDP_DROP;
	default:
		cnt->c[SG_CNT_COOKIE_UNHANDLED]++;
		return XDP_PASS;
	}
}

/* Whether the packet's source is verified (bpf/sg_verified.h). */
static __always_inline int sg_ck_verified(struct sg_counters *cnt, void *ipp, int v6)
{
	struct sg_addr src = {};

	if (v6) {
		__builtin_memcpy(src.b, &((struct ipv6hdr *)ipp)->saddr, 16);
	} else {
		src.b[10] = 0xff;
		src.b[11] = 0xff;
		__builtin_memcpy(&src.b[12], &((struct iphdr *)ipp)->saddr, 4);
	}
	return sg_verified_src(cnt, &src, v6 ? 6 : 4);
}

/* Whether cookies are on for (dst, port): never for an address that is
 * not this host's (sg_local.h): a forwarding host must not answer for others.
 * Such a packet is counted in not_local_total here unless it is a SYN (`syn`:
 * sg_dst_attempt counted it). */
static __always_inline int sg_ck_wanted(const __u8 *dst, int v6, __u16 port, int syn)
{
	struct sg_cookie_key k = { .port = port };
	__u32 idx = port, zero = 0;
	__u8 *mode = bpf_map_lookup_elem(&sg_cookie_ports, &idx);
	struct sg_counters *cnt;

	if (!mode || !*mode)
		return 0;
	if (v6) {
		__builtin_memcpy(k.dst.b, dst, 16);
	} else {
		k.dst.b[10] = 0xff;
		k.dst.b[11] = 0xff;
		__builtin_memcpy(&k.dst.b[12], dst, 4);
	}
	if (!sg_is_local(&k.dst)) {
		cnt = syn ? 0 : bpf_map_lookup_elem(&sg_counters_map, &zero);
		if (cnt)
			cnt->c[SG_CNT_NOT_LOCAL]++;
		return 0;
	}
	if (*mode & SG_COOKIE_ANY_ADDR)
		return 1;
	return bpf_map_lookup_elem(&sg_cookie_addrs, &k) != 0;
}

/* SYN without ACK or RST: a connection attempt, as sg_dst_attempt sees one. */
static __always_inline int sg_ck_is_syn(const struct tcphdr *th)
{
	return (((const __u8 *)th)[13] & (SG_TCP_SYN | SG_TCP_ACK | SG_TCP_RST)) == SG_TCP_SYN;
}

/* A TCP packet to an address and port with cookies on (sg_ck_wanted), v6
 * as sg_cookie_xdp found it: verified sources pass, a SYN is answered, an
 * ACK judged. Global, out of line: only packets to a cookie port pay the
 * call (next to the helper calls they make anyway), its frame (the SYN-ACK's
 * 80-byte header, the conntrack tuple) stays off the stack of the path every
 * packet takes, and it is verified once, apart. */
__attribute__((noinline)) int sg_cookie_port(struct xdp_md *ctx, int v6)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	void *ipp = data + SG_CK_L3;
	struct sg_counters *cnt;
	struct tcphdr *th;
	__u32 zero = 0;
	__u8 flags;

	if (data + (v6 ? SG_CK_L4_6 : SG_CK_L4_4) + 20 > end)
		return XDP_PASS;
	th = data + (v6 ? SG_CK_L4_6 : SG_CK_L4_4);
	cnt = bpf_map_lookup_elem(&sg_counters_map, &zero);
	if (!cnt)
		return XDP_PASS;
	if (sg_ck_verified(cnt, ipp, v6))
		return XDP_PASS; /* verified sources skip the cookies (sg_verified.h) */
	flags = ((__u8 *)th)[13] & (SG_TCP_FIN | SG_TCP_SYN | SG_TCP_RST | SG_TCP_ACK);
	if (flags == SG_TCP_SYN)
		return sg_ck_syn(ctx, cnt, v6);
	if ((flags & (SG_TCP_SYN | SG_TCP_RST | SG_TCP_ACK)) == SG_TCP_ACK)
		return sg_ck_ack(ctx, cnt, ipp, th, v6);
	return XDP_PASS; /* RST, SYN-ACK, odd flags: the stack's */
}

/* The cookie path for a packet the rest of the program passed. */
static __always_inline int sg_cookie_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct tcphdr *th;
	void *ipp;
	__u16 proto;
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
		if (!sg_ck_wanted((__u8 *)&ip->daddr, 0, bpf_ntohs(th->dest), sg_ck_is_syn(th)))
			return XDP_PASS;
	} else if (proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip = ipp;

		if (data + SG_CK_L4_6 + 20 > end)
			return XDP_PASS;
		if (ip->nexthdr != SG_IPPROTO_TCP)
			return XDP_PASS; /* extension headers: SYNPROXY's */
		th = data + SG_CK_L4_6;
		v6 = 1;
		if (!sg_ck_wanted((__u8 *)&ip->daddr, 1, bpf_ntohs(th->dest), sg_ck_is_syn(th)))
			return XDP_PASS;
	} else {
		return XDP_PASS;
	}
	return sg_cookie_port(ctx, v6);
}

#endif /* __bpf__ */

#endif /* SG_SYNCOOKIE_H */
