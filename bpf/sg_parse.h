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
 * fragment, AH, destination options); TCP (data offset 5..15), bounded by the
 * IP header's length, not the frame's. Non-first fragments carry no TCP
 * header: SG_PKT_FRAGMENT, with the source filled in so that a blocked
 * source's fragments are dropped too. A first fragment is parsed as TCP when
 * it carries the whole fixed TCP header; the shapes that could hide a SYN
 * from this parser while the stack still delivers one (tiny or overlapping
 * fragments, over-long IPv6 chains) get kinds of their own that the program
 * drops (sg_pkt_is_evasive()).
 */
#ifndef SG_PARSE_H
#define SG_PARSE_H

#include "sg_shared.h"

#ifndef SG_INLINE
#define SG_INLINE static inline __attribute__((always_inline))
#endif

/* Unrolled in BPF, so that each header of a walk is verified at its own
 * instructions: a loop's counter keeps the verifier from pruning, and the
 * 16-header walk then runs it past its million-instruction limit. */
#ifdef __clang__
#define SG_UNROLL _Pragma("clang loop unroll(full)")
#else
#define SG_UNROLL
#endif

#define SG_ETH_P_IP 0x0800
#define SG_ETH_P_IPV6 0x86DD
#define SG_ETH_P_8021Q 0x8100
#define SG_ETH_P_8021AD 0x88A8
#define SG_ETH_P_QINQ 0x9100
#define SG_IPPROTO_TCP 6

/* IPv6 extension headers walked before the upper layer. Linux delivers TCP
 * behind any number of the headers it knows (hop-by-hop, routing, fragment,
 * AH, destination options); a chain longer than this is dropped whatever it
 * ends in (SG_PKT_LONG_CHAIN): the parser cannot tell whether a SYN follows,
 * and real traffic carries a handful at most (RFC 8200 §4.1: each header once,
 * destination options twice). */
#define SG_V6_MAX_EXT 16
#define SG_V6_MAX_CHAIN 4096 /* bytes of extension headers, likewise */

/* Bytes of TCP header a first fragment must carry to be judged: the whole
 * fixed header (ports, sequence number, flags, window). RFC 1858 §3.2 needs
 * at least the flags (16 bytes); 20 also covers the sequence number and data
 * offset, and any real sender's first fragment carries far more (IPv4's
 * minimum MTU of 68 leaves 48 bytes after a plain IP header). */
#define SG_TCP_MIN_FIRST_FRAG 20

#define SG_TCP_FIN 0x01
#define SG_TCP_SYN 0x02
#define SG_TCP_RST 0x04
#define SG_TCP_ACK 0x10

enum sg_pkt_kind {
	SG_PKT_NON_IP = 0,    /* not IPv4/IPv6: src unset */
	SG_PKT_MALFORMED = 1, /* truncated or inconsistent: src set if IP header was read */
	SG_PKT_OTHER = 2,     /* IP but not TCP: src set */
	SG_PKT_FRAGMENT = 3,  /* non-first fragment: src set */
	SG_PKT_TCP = 4,       /* TCP (a first fragment too): src, ports, seq, flags set */
	/* Shapes that could carry a SYN past the counter; dropped (detect-only:
	 * passed) with their own counter, src set (sg_pkt_is_evasive()): */
	SG_PKT_TINY_FRAGMENT = 5, /* RFC 1858/3128: a first fragment with fewer
				   * than SG_TCP_MIN_FIRST_FRAG bytes of TCP or an
				   * IPv6 header chain cut by its end (RFC 7112),
				   * or a TCP fragment at offset 1 (8 bytes), which
				   * would rewrite the flags of the first */
	SG_PKT_LONG_CHAIN = 6,    /* IPv6 chain of more than SG_V6_MAX_EXT
				   * extension headers */
};

/* The parser's output. 48 bytes, 8-aligned, the addresses first: each is
 * stored as two whole 8-byte words (sg_put_addr), so that the 8-byte loads
 * the hashes and key compares make of them are forwarded from one store each
 * (loads over several narrower stores stall until those reach the cache:
 * ~2 ns a SYN; src/linux/bpf_layout.h checks the layout). */
struct sg_pkt {
	struct sg_addr src; /* unmasked source (IPv4 mapped) */
	struct sg_addr dst; /* destination (IPv4 mapped): the local address the
			     * destination-side counters key on (sg_dst.h) */
	__u16 dst_port;     /* host order */
	__u16 src_port;     /* host order */
	__u32 tcp_seq;      /* host order */
	__u8 tcp_flags;
	__u8 family;        /* 4 or 6, 0 if not IP */
	__u8 kind;          /* enum sg_pkt_kind */
	__u8 has_src;       /* src (and dst) are valid */
	__u8 pad[4];
} __attribute__((aligned(8)));

/* 8 and 4 bytes of the packet as they lie in memory (no byte-order change).
 * The XDP program loads them whole: the kernel allows unaligned packet loads
 * where the CPU does them cheaply (x86, arm64), and the per-byte loads the
 * compiler makes of a memcpy from an unaligned pointer cost 8 loads and 7
 * shifts a word. */
SG_INLINE __u64 sg_ld64(const __u8 *p)
{
#ifdef __bpf__
	return *(const __u64 *)p;
#else
	__u64 v;

	__builtin_memcpy(&v, p, 8);
	return v;
#endif
}

SG_INLINE __u32 sg_ld32(const __u8 *p)
{
#ifdef __bpf__
	return *(const __u32 *)p;
#else
	__u32 v;

	__builtin_memcpy(&v, p, 4);
	return v;
#endif
}

/* An address as two whole 8-byte stores (a is 8-aligned: a field of
 * struct sg_pkt). */
SG_INLINE void sg_put_addr(struct sg_addr *a, __u64 hi, __u64 lo)
{
	__builtin_memcpy(&a->b[0], &hi, 8);
	__builtin_memcpy(&a->b[8], &lo, 8);
}

/* The lower word of ::ffff:a.b.c.d for the 4 address bytes `v4` (as loaded
 * by sg_ld32). */
SG_INLINE __u64 sg_v4_mapped_lo(__u32 v4)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return ((__u64)v4 << 32) | 0xffff0000ull;
#else
	return 0x0000ffff00000000ull | v4;
#endif
}

SG_INLINE __u16 sg_be16(const __u8 *p)
{
	return (__u16)(((__u16)p[0] << 8) | p[1]);
}

SG_INLINE __u32 sg_be32(const __u8 *p)
{
	return ((__u32)sg_be16(p) << 16) | sg_be16(p + 2);
}

/* True when the packet is an inbound connection attempt. */
SG_INLINE int sg_pkt_is_attempt(const struct sg_pkt *p)
{
	return p->kind == SG_PKT_TCP &&
	       (p->tcp_flags & (SG_TCP_SYN | SG_TCP_ACK | SG_TCP_RST)) == SG_TCP_SYN;
}

/* True when the packet has a shape that could smuggle a SYN past the counter
 * (the stack would reassemble or deliver one the parser cannot see): the
 * program drops it, whoever sends it. */
SG_INLINE int sg_pkt_is_evasive(const struct sg_pkt *p)
{
	return p->kind == SG_PKT_TINY_FRAGMENT || p->kind == SG_PKT_LONG_CHAIN;
}

/* The kind of a packet cut short: a first fragment's (first_frag 1) is a tiny
 * fragment, anything else's is malformed (the stack drops it too). Arithmetic,
 * not a branch: see sg_parse_ipv6(). */
SG_INLINE __u8 sg_short_kind(__u32 first_frag)
{
	return (__u8)(SG_PKT_MALFORMED + (SG_PKT_TINY_FRAGMENT - SG_PKT_MALFORMED) * first_frag);
}

/* TCP at l4, of which the IP header declares l4_len bytes. A first fragment
 * (first_frag) too short to show the whole fixed header is
 * SG_PKT_TINY_FRAGMENT; anything else short is MALFORMED (the stack drops it
 * too). The frame may be longer than the IP packet (Ethernet pads to 60
 * bytes): the padding is never read as TCP. */
SG_INLINE int sg_parse_tcp(const __u8 *l4, const __u8 *end, __u32 l4_len, __u32 first_frag,
			   struct sg_pkt *out)
{
	__u8 doff;

	if (l4_len < SG_TCP_MIN_FIRST_FRAG || l4 + 20 > end)
		return out->kind = sg_short_kind(first_frag);
	doff = l4[12] >> 4;
	if (doff < 5)
		return out->kind = SG_PKT_MALFORMED;
	out->src_port = sg_be16(l4);
	out->dst_port = sg_be16(l4 + 2);
	out->tcp_seq = sg_be32(l4 + 4);
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
	sg_put_addr(&out->src, 0, sg_v4_mapped_lo(sg_ld32(ip + 12)));
	sg_put_addr(&out->dst, 0, sg_v4_mapped_lo(sg_ld32(ip + 16)));
	out->has_src = 1;

	ihl = (__u32)(ip[0] & 0x0f) * 4;
	tot = sg_be16(ip + 2);
	if (ihl < 20 || tot < ihl)
		return out->kind = SG_PKT_MALFORMED;
	frag = sg_be16(ip + 6);
	if (frag & 0x1fff) {
		/* RFC 1858 §4: a TCP fragment at offset 1 can only be there to
		 * overwrite the first fragment's flags. */
		if ((frag & 0x1fff) == 1 && ip[9] == SG_IPPROTO_TCP)
			return out->kind = SG_PKT_TINY_FRAGMENT;
		return out->kind = SG_PKT_FRAGMENT;
	}
	if (ip[9] != SG_IPPROTO_TCP)
		return out->kind = SG_PKT_OTHER;
	l4 = ip + ihl;
	if (l4 > end)
		return out->kind = SG_PKT_MALFORMED;
	return sg_parse_tcp(l4, end, tot - ihl, (frag >> 13) & 1, out); /* MF */
}

SG_INLINE int sg_v6_is_ext(__u8 next)
{
	return next == 0 || next == 43 || next == 44 || next == 51 || next == 60;
}

/* Walks up to SG_V6_MAX_EXT extension headers, SG_V6_MAX_CHAIN bytes in all
 * (hop-by-hop 0, routing 43, fragment 44, AH 51 — length in 4-byte units —,
 * destination options 60: the headers Linux walks before TCP). The chain is
 * measured against the payload length as well as the frame, so a first
 * fragment whose chain or TCP header is cut by its own end is caught (RFC
 * 7112 requires the whole chain in the first fragment).
 *
 * Written for the verifier: the cursor is recomputed from a byte offset
 * clamped to SG_V6_MAX_CHAIN, and first_frag is kept as a 0/1 number rather
 * than a branch, so that the paths through one header converge on a few
 * states instead of multiplying over the walk. */
SG_INLINE int sg_parse_ipv6(const __u8 *ip, const __u8 *end, struct sg_pkt *out)
{
	const __u8 *p;
	__u64 off = 0, hlen; /* 64-bit: no zero-extension between clamp and use */
	__u32 plen, first_frag = 0;
	__u16 fo;
	__u8 next;
	int i;

	if (ip + 40 > end)
		return out->kind = SG_PKT_MALFORMED;
	if ((ip[0] >> 4) != 6)
		return out->kind = SG_PKT_MALFORMED;
	out->family = 6;
	sg_put_addr(&out->src, sg_ld64(ip + 8), sg_ld64(ip + 16));
	sg_put_addr(&out->dst, sg_ld64(ip + 24), sg_ld64(ip + 32));
	out->has_src = 1;
	/* 0: a jumbogram's (its length is in an option) or nonsense; only the
	 * frame's end bounds it then. */
	plen = sg_be16(ip + 4);
	next = ip[6];
	SG_UNROLL
	for (i = 0; i < SG_V6_MAX_EXT; i++) {
		if (!sg_v6_is_ext(next))
			break;
		p = ip + 40 + off;
		if (p + 8 > end)
			return out->kind = sg_short_kind(first_frag);
		if (next == 44) { /* fragment header */
			fo = sg_be16(p + 2);
			if (fo & 0xfff8) {
				if ((fo >> 3) == 1 && p[0] == SG_IPPROTO_TCP)
					return out->kind = SG_PKT_TINY_FRAGMENT;
				return out->kind = SG_PKT_FRAGMENT;
			}
			first_frag |= fo & 1;
			hlen = 8;
		} else if (next == 51) { /* AH: 4-byte units, minus 2 */
			hlen = ((__u32)p[1] + 2) * 4;
		} else {
			hlen = ((__u32)p[1] + 1) * 8;
		}
		next = p[0];
		off += hlen;
		if (off > SG_V6_MAX_CHAIN)
			return out->kind = SG_PKT_LONG_CHAIN;
	}
	if (plen && off > plen)
		return out->kind = sg_short_kind(first_frag);
	if (next != SG_IPPROTO_TCP)
		return out->kind = sg_v6_is_ext(next) ? SG_PKT_LONG_CHAIN : SG_PKT_OTHER;
	return sg_parse_tcp(ip + 40 + off, end, plen ? plen - off : 0xffff, first_frag, out);
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
