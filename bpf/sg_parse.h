/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * sg_parse.h — the one packet parser, compiled into the XDP program and into
 * user space (replay, the fuzz target, the unit tests). Cursor-based: every
 * read is preceded by a bounds check against `end`, and any inconsistency
 * fails closed to SG_PKT_MALFORMED, never to a guess.
 *
 * Parses: Ethernet II with up to two VLAN tags (802.1Q 0x8100, 802.1ad 0x88a8,
 * legacy QinQ 0x9100); IPv4 with options (IHL 5..15, total length checked);
 * IPv6 with up to SG_V6_MAX_EXT extension headers (hop-by-hop, routing,
 * destination options, fragment); TCP (data offset 5..15). Non-first
 * fragments carry no TCP header: SG_PKT_FRAGMENT, with the source filled in so
 * that a blocked source's fragments are dropped too.
 */
#ifndef SG_PARSE_H
#define SG_PARSE_H

#include "sg_shared.h"

#ifndef SG_INLINE
#define SG_INLINE static inline __attribute__((always_inline))
#endif

#define SG_ETH_P_IP 0x0800
#define SG_ETH_P_IPV6 0x86DD
#define SG_ETH_P_8021Q 0x8100
#define SG_ETH_P_8021AD 0x88A8
#define SG_ETH_P_QINQ 0x9100
#define SG_IPPROTO_TCP 6
#define SG_V6_MAX_EXT 4

#define SG_TCP_FIN 0x01
#define SG_TCP_SYN 0x02
#define SG_TCP_RST 0x04
#define SG_TCP_ACK 0x10

enum sg_pkt_kind {
	SG_PKT_NON_IP = 0,    /* not IPv4/IPv6: src unset */
	SG_PKT_MALFORMED = 1, /* truncated or inconsistent: src set if IP header was read */
	SG_PKT_OTHER = 2,     /* IP but not TCP: src set */
	SG_PKT_FRAGMENT = 3,  /* non-first fragment: src set */
	SG_PKT_TCP = 4,       /* TCP: src, dst_port, tcp_flags set */
};

struct sg_pkt {
	struct sg_addr src; /* unmasked source (IPv4 mapped) */
	__u16 dst_port;     /* host order */
	__u8 tcp_flags;
	__u8 family;        /* 4 or 6, 0 if not IP */
	__u8 kind;          /* enum sg_pkt_kind */
	__u8 has_src;       /* src is valid */
	__u8 pad[2];
};

SG_INLINE __u16 sg_be16(const __u8 *p)
{
	return (__u16)(((__u16)p[0] << 8) | p[1]);
}

/* True when the packet is an inbound connection attempt. */
SG_INLINE int sg_pkt_is_attempt(const struct sg_pkt *p)
{
	return p->kind == SG_PKT_TCP &&
	       (p->tcp_flags & (SG_TCP_SYN | SG_TCP_ACK | SG_TCP_RST)) == SG_TCP_SYN;
}

SG_INLINE int sg_parse_tcp(const __u8 *l4, const __u8 *end, struct sg_pkt *out)
{
	__u8 doff;

	if (l4 + 20 > end)
		return out->kind = SG_PKT_MALFORMED;
	doff = l4[12] >> 4;
	if (doff < 5)
		return out->kind = SG_PKT_MALFORMED;
	out->dst_port = sg_be16(l4 + 2);
	out->tcp_flags = l4[13];
	return out->kind = SG_PKT_TCP;
}

SG_INLINE int sg_parse_ipv4(const __u8 *ip, const __u8 *end, struct sg_pkt *out)
{
	__u32 ihl, tot;
	__u16 frag;
	const __u8 *l4;

	if (ip + 20 > end)
		return out->kind = SG_PKT_MALFORMED;
	if ((ip[0] >> 4) != 4)
		return out->kind = SG_PKT_MALFORMED;
	out->family = 4;
	out->src.b[10] = 0xff;
	out->src.b[11] = 0xff;
	out->src.b[12] = ip[12];
	out->src.b[13] = ip[13];
	out->src.b[14] = ip[14];
	out->src.b[15] = ip[15];
	out->has_src = 1;

	ihl = (__u32)(ip[0] & 0x0f) * 4;
	tot = sg_be16(ip + 2);
	if (ihl < 20 || tot < ihl)
		return out->kind = SG_PKT_MALFORMED;
	frag = sg_be16(ip + 6);
	if (frag & 0x1fff)
		return out->kind = SG_PKT_FRAGMENT;
	if (ip[9] != SG_IPPROTO_TCP)
		return out->kind = SG_PKT_OTHER;
	l4 = ip + ihl;
	if (l4 > end)
		return out->kind = SG_PKT_MALFORMED;
	return sg_parse_tcp(l4, end, out);
}

SG_INLINE int sg_parse_ipv6(const __u8 *ip, const __u8 *end, struct sg_pkt *out)
{
	const __u8 *p;
	__u8 next;
	int i;

	if (ip + 40 > end)
		return out->kind = SG_PKT_MALFORMED;
	if ((ip[0] >> 4) != 6)
		return out->kind = SG_PKT_MALFORMED;
	out->family = 6;
	__builtin_memcpy(out->src.b, ip + 8, 16);
	out->has_src = 1;
	next = ip[6];
	p = ip + 40;
	for (i = 0; i < SG_V6_MAX_EXT; i++) {
		if (next == SG_IPPROTO_TCP)
			break;
		if (next == 0 || next == 43 || next == 60) { /* hop, routing, dstopts */
			if (p + 8 > end)
				return out->kind = SG_PKT_MALFORMED;
			next = p[0];
			p += ((__u32)p[1] + 1) * 8;
			continue;
		}
		if (next == 44) { /* fragment header */
			if (p + 8 > end)
				return out->kind = SG_PKT_MALFORMED;
			if (sg_be16(p + 2) & 0xfff8)
				return out->kind = SG_PKT_FRAGMENT;
			next = p[0];
			p += 8;
			continue;
		}
		return out->kind = SG_PKT_OTHER;
	}
	if (next != SG_IPPROTO_TCP)
		return out->kind = SG_PKT_OTHER; /* too many extension headers: not ours to judge */
	if (p > end)
		return out->kind = SG_PKT_MALFORMED;
	return sg_parse_tcp(p, end, out);
}

/* Parse an Ethernet frame [data, end). Returns and stores out->kind. */
SG_INLINE int sg_parse_eth(const void *data, const void *end_, struct sg_pkt *out)
{
	const __u8 *p = (const __u8 *)data;
	const __u8 *end = (const __u8 *)end_;
	__u16 proto;
	int i;

	__builtin_memset(out, 0, sizeof(*out));
	if (p + 14 > end)
		return out->kind = SG_PKT_MALFORMED;
	proto = sg_be16(p + 12);
	p += 14;
	for (i = 0; i < 2; i++) {
		if (proto != SG_ETH_P_8021Q && proto != SG_ETH_P_8021AD && proto != SG_ETH_P_QINQ)
			break;
		if (p + 4 > end)
			return out->kind = SG_PKT_MALFORMED;
		proto = sg_be16(p + 2);
		p += 4;
	}
	if (proto == SG_ETH_P_IP)
		return sg_parse_ipv4(p, end, out);
	if (proto == SG_ETH_P_IPV6)
		return sg_parse_ipv6(p, end, out);
	return out->kind = SG_PKT_NON_IP;
}

/* The first `bits` (0..64) bits of a big-endian 64-bit word set, as it lies
 * in memory. */
SG_INLINE __u64 sg_be_prefix_mask64(int bits)
{
	__u64 m;

	if (bits <= 0)
		return 0;
	if (bits >= 64)
		return ~0ull;
	m = ~0ull << (64 - bits);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	m = __builtin_bswap64(m);
#endif
	return m;
}

/* Mask an IPv6 source to `prefix_len` bits (IPv4-mapped sources untouched):
 * two 64-bit ANDs, no per-byte loop. */
SG_INLINE void sg_mask_source(struct sg_addr *a, __u8 family, __u8 prefix_len)
{
	__u64 hi, lo;

	if (family != 6 || prefix_len >= 128)
		return;
	__builtin_memcpy(&hi, &a->b[0], 8);
	__builtin_memcpy(&lo, &a->b[8], 8);
	hi &= sg_be_prefix_mask64(prefix_len);
	lo &= sg_be_prefix_mask64((int)prefix_len - 64);
	__builtin_memcpy(&a->b[0], &hi, 8);
	__builtin_memcpy(&a->b[8], &lo, 8);
}

#endif /* SG_PARSE_H */
