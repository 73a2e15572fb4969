/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * sg_sig.h — SYN fingerprints and signatures for the port-flood signature
 * drop (issue 8), compiled by the XDP program (sg_sig_bpf.h) and by the C++
 * core (core/signature.h: the chooser; replay), so both fingerprint a SYN
 * alike.
 *
 * A fingerprint (p0f-style) is what a SYN's sender chose and a flood tool
 * usually fixes: the TCP options' layout (their kinds in order), MSS and
 * window scale, the window, the TCP flags (ECE/CWR, URG, PSH...), the IP
 * length, the initial-TTL band and a few quirks (DF, IP ID 0, urgent pointer
 * or ACK number without their flag, data in the SYN, reserved bits, IP
 * options). Source address and port, sequence number, IP ID and the TTL
 * itself are left out: a spoofing tool randomises them and a real client's
 * vary anyway.
 *
 * A signature is a mask over the fingerprint's fields and the value they must
 * hold: a SYN matches when (fp & mask) == value, three 64-bit compares. Up to
 * SG_SIG_MAX signatures per target (local address and port) while its flood
 * lasts, chosen in user space (core/signature.h) from fingerprints sampled
 * here: each bank of the destination table keeps a uniform sample (reservoir)
 * of its attempts' fingerprints (sg_dst.h), so a sample costs a fingerprint
 * only for the few attempts the reservoir keeps.
 */
#ifndef SG_SIG_H
#define SG_SIG_H

#include "sg_parse.h"

/* Fingerprints kept per bank of a destination (reservoir sample). */
#define SG_SIG_SAMPLES 16
/* Signatures per target. */
#define SG_SIG_MAX 4
/* Options recorded in the layout (4 bits each); more: SG_SIG_Q_OPTS. */
#define SG_SIG_MAX_OPTS 16
/* Bytes of the TCP header buffer the options are read from (60 rounded up). */
#define SG_SIG_TCP_BUF 64

/* Option codes in the layout (0: no further option). */
#define SG_SIG_OPT_NOP 1
#define SG_SIG_OPT_MSS 2
#define SG_SIG_OPT_WS 3
#define SG_SIG_OPT_SACKOK 4
#define SG_SIG_OPT_SACK 5
#define SG_SIG_OPT_TS 6
#define SG_SIG_OPT_EOL 7
#define SG_SIG_OPT_TFO 8
#define SG_SIG_OPT_MD5 9
#define SG_SIG_OPT_MPTCP 10
#define SG_SIG_OPT_AO 11
#define SG_SIG_OPT_EXP 12
#define SG_SIG_OPT_OTHER 15

/* Quirks. */
#define SG_SIG_Q_DF 0x01    /* IPv4 don't-fragment */
#define SG_SIG_Q_ID0 0x02   /* IPv4 identification 0 */
#define SG_SIG_Q_UPTR 0x04  /* urgent pointer set without URG */
#define SG_SIG_Q_ACK 0x08   /* acknowledgment number set without ACK */
#define SG_SIG_Q_DATA 0x10  /* payload in the SYN */
#define SG_SIG_Q_OPTS 0x20  /* options malformed, or more than SG_SIG_MAX_OPTS */
#define SG_SIG_Q_IPOPT 0x40 /* IPv4 options, or IPv6 extension headers (then
			     * no TCP field is read: 0) */
#define SG_SIG_Q_RSV 0x80   /* reserved TCP header bits (incl. NS) set */

/* A SYN's fingerprint: 24 bytes, three 64-bit words. */
struct sg_sig_fp {
	__u64 olayout; /* option codes, the first in the low nibble */
	__u16 win;     /* window */
	__u16 mss;     /* MSS option's value, 0: none */
	__u16 ip_len;  /* IPv4 total length; IPv6 payload length + 40 */
	__u8 flags;    /* TCP flags byte (CWR ECE URG ACK PSH RST SYN FIN) */
	__u8 wscale;   /* window scale, 0xff: none */
	__u8 ttl;      /* initial-TTL band: 32, 64, 128 or 255 */
	__u8 quirks;   /* SG_SIG_Q_* */
	__u8 family;   /* 4 or 6 */
	__u8 pad[5];
};

/* One signature: the fields that count (mask: all ones in them) and their
 * value (value & mask == value). */
struct sg_sig {
	struct sg_sig_fp mask;
	struct sg_sig_fp value;
};

/* Key of sg_sig_sets: a local address (IPv4 mapped) and port. */
struct sg_sig_key {
	struct sg_addr dst;
	__u16 port; /* host order */
	__u8 pad[2];
};

/* A target's signatures (value of sg_sig_sets), written by user space. */
struct sg_sig_set {
	__u32 n; /* signatures in use, 0..SG_SIG_MAX */
	__u32 pad;
	__u64 matched[SG_SIG_MAX]; /* SYNs each matched (racy adds: approximate) */
	struct sg_sig sig[SG_SIG_MAX];
};

/* The initial TTL a sender most likely used. */
SG_INLINE __u8 sg_sig_ttl_band(__u8 ttl)
{
	if (ttl <= 32)
		return 32;
	if (ttl <= 64)
		return 64;
	if (ttl <= 128)
		return 128;
	return 255;
}

SG_INLINE __u8 sg_sig_opt_code(__u8 kind)
{
	switch (kind) {
	case 0: return SG_SIG_OPT_EOL;
	case 1: return SG_SIG_OPT_NOP;
	case 2: return SG_SIG_OPT_MSS;
	case 3: return SG_SIG_OPT_WS;
	case 4: return SG_SIG_OPT_SACKOK;
	case 5: return SG_SIG_OPT_SACK;
	case 8: return SG_SIG_OPT_TS;
	case 19: return SG_SIG_OPT_MD5;
	case 29: return SG_SIG_OPT_AO;
	case 30: return SG_SIG_OPT_MPTCP;
	case 34: return SG_SIG_OPT_TFO;
	case 253:
	case 254: return SG_SIG_OPT_EXP;
	default: return SG_SIG_OPT_OTHER;
	}
}

/* The IP part of the fingerprint, from the frame [data, end): Ethernet with
 * up to two VLAN tags, then IPv4 or IPv6 (the attempt was already parsed by
 * sg_parse_eth, so the headers are there; every read is still checked).
 * Sets *l4_off (from data) and *l4_len (TCP header and payload) and returns
 * 1 when the TCP header follows the IP header; 0 otherwise (fp holds the IP
 * fields only). */
SG_INLINE int sg_sig_fp_ip(const __u8 *data, const __u8 *end, struct sg_sig_fp *fp,
			   __u32 *l4_off, __u32 *l4_len)
{
	const __u8 *ip = data + 14;
	__u32 ihl, tot, l3 = 14;
	__u16 proto;
	int i;

	__builtin_memset(fp, 0, sizeof(*fp));
	fp->wscale = 0xff;
	if (data + 14 > end)
		return 0;
	proto = sg_be16(data + 12);
	for (i = 0; i < 2; i++) {
		if (proto != SG_ETH_P_8021Q && proto != SG_ETH_P_8021AD && proto != SG_ETH_P_QINQ)
			break;
		if (data + l3 + 4 > end)
			return 0;
		proto = sg_be16(data + l3 + 2);
		l3 += 4;
	}
	ip = data + l3;
	if (proto == SG_ETH_P_IP) {
		if (ip + 20 > end)
			return 0;
		fp->family = 4;
		ihl = (__u32)(ip[0] & 0x0f) * 4;
		tot = sg_be16(ip + 2);
		fp->ip_len = (__u16)tot;
		fp->ttl = sg_sig_ttl_band(ip[8]);
		if (ip[6] & 0x40)
			fp->quirks |= SG_SIG_Q_DF;
		if (ip[4] == 0 && ip[5] == 0)
			fp->quirks |= SG_SIG_Q_ID0;
		if (ihl > 20)
			fp->quirks |= SG_SIG_Q_IPOPT;
		if (ihl < 20 || tot < ihl + 20)
			return 0;
		*l4_off = l3 + ihl;
		*l4_len = tot - ihl;
		return 1;
	}
	if (proto == SG_ETH_P_IPV6) {
		if (ip + 40 > end)
			return 0;
		fp->family = 6;
		tot = sg_be16(ip + 4);
		fp->ip_len = (__u16)(tot + 40);
		fp->ttl = sg_sig_ttl_band(ip[7]);
		if (ip[6] != SG_IPPROTO_TCP) {
			fp->quirks |= SG_SIG_Q_IPOPT;
			return 0;
		}
		if (tot < 20)
			return 0;
		*l4_off = l3 + 40;
		*l4_len = tot;
		return 1;
	}
	return 0;
}

/* One option of the walk at *off of the header in t (tlen bytes). Returns 0
 * when the walk goes on. */
SG_INLINE int sg_sig_opt(const __u8 *t, __u32 tlen, __u32 *off, __u32 i, struct sg_sig_fp *fp)
{
	__u32 o = *off, len;
	__u8 kind;

	if (o >= tlen)
		return 1;
	kind = t[o & (SG_SIG_TCP_BUF - 1)];
	fp->olayout |= (__u64)sg_sig_opt_code(kind) << (4 * i);
	if (kind == 0)
		return 1;
	if (kind == 1) {
		*off = o + 1;
		return 0;
	}
	if (o + 2 > tlen) {
		fp->quirks |= SG_SIG_Q_OPTS;
		return 1;
	}
	len = t[(o + 1) & (SG_SIG_TCP_BUF - 1)];
	if (len < 2 || o + len > tlen) {
		fp->quirks |= SG_SIG_Q_OPTS;
		return 1;
	}
	if (kind == 2 && len == 4)
		fp->mss = (__u16)((__u16)t[(o + 2) & (SG_SIG_TCP_BUF - 1)] << 8 |
				  t[(o + 3) & (SG_SIG_TCP_BUF - 1)]);
	else if (kind == 3 && len == 3)
		fp->wscale = t[(o + 2) & (SG_SIG_TCP_BUF - 1)];
	*off = o + len;
	return 0;
}

/* The TCP part's fixed header: t holds the TCP header's first tlen bytes
 * (20..60, the whole header as its data offset says; the buffer is
 * SG_SIG_TCP_BUF bytes); l4_len is what the IP header gives TCP (header and
 * payload). The options follow, one sg_sig_opt() each (sg_sig_fp_tcp). */
SG_INLINE void sg_sig_fp_tcp_head(const __u8 *t, __u32 tlen, __u32 l4_len, struct sg_sig_fp *fp)
{
	fp->win = sg_be16(t + 14);
	fp->flags = t[13];
	if (t[12] & 0x0f)
		fp->quirks |= SG_SIG_Q_RSV;
	if (!(t[13] & 0x20) && (t[18] || t[19]))
		fp->quirks |= SG_SIG_Q_UPTR;
	if (!(t[13] & 0x10) && (t[8] || t[9] || t[10] || t[11]))
		fp->quirks |= SG_SIG_Q_ACK;
	if (l4_len > tlen)
		fp->quirks |= SG_SIG_Q_DATA;
}

/* After the walk: options left over past SG_SIG_MAX_OPTS. */
SG_INLINE void sg_sig_fp_tcp_tail(__u32 off, __u32 tlen, int ended, struct sg_sig_fp *fp)
{
	if (!ended && off < tlen)
		fp->quirks |= SG_SIG_Q_OPTS;
}

#ifndef __bpf__
/* The whole TCP part (user space; the program walks the options with
 * bpf_loop, one verified step: sg_sig_bpf.h). */
static inline void sg_sig_fp_tcp(const __u8 *t, __u32 tlen, __u32 l4_len, struct sg_sig_fp *fp)
{
	__u32 off = 20, i;
	int ended = 0;

	sg_sig_fp_tcp_head(t, tlen, l4_len, fp);
	for (i = 0; i < SG_SIG_MAX_OPTS && !ended; i++)
		ended = sg_sig_opt(t, tlen, &off, i, fp);
	sg_sig_fp_tcp_tail(off, tlen, ended, fp);
}
#endif

/* The fingerprint as three words (the signature compare). */
SG_INLINE void sg_sig_words(const struct sg_sig_fp *fp, __u64 w[3])
{
	__builtin_memcpy(w, fp, 24);
}

SG_INLINE int sg_sig_match(const struct sg_sig_fp *fp, const struct sg_sig *s)
{
	__u64 f[3], m[3], v[3];

	sg_sig_words(fp, f);
	sg_sig_words(&s->mask, m);
	sg_sig_words(&s->value, v);
	return (f[0] & m[0]) == v[0] && (f[1] & m[1]) == v[1] && (f[2] & m[2]) == v[2];
}

/* Reservoir sampling: the sample slot the n-th attempt of a bank takes (n
 * counted from 1), given a uniform 32-bit random number; -1: not kept. The
 * first SG_SIG_SAMPLES are all kept, then each with probability
 * SG_SIG_SAMPLES / n, so every attempt of the bank is equally likely to be
 * in the sample, whatever the order a sender chooses. */
SG_INLINE int sg_sig_slot(__u32 n, __u32 rnd)
{
	__u32 j;

	if (n == 0)
		return -1;
	if (n <= SG_SIG_SAMPLES)
		return (int)(n - 1);
	j = (__u32)(((__u64)rnd * n) >> 32);
	return j < SG_SIG_SAMPLES ? (int)j : -1;
}

/* A sample's place: destination entry, bank, slot, in one non-negative int
 * (entries < 2^26). */
SG_INLINE int sg_sig_pos(__u32 idx, __u32 bank, __u32 slot)
{
	return (int)((((idx << 1) | (bank & 1)) << 4) | (slot & (SG_SIG_SAMPLES - 1)));
}

#ifndef __bpf__
/* User space: the whole fingerprint of an attempt's frame (replay, tests). */
static inline void sg_sig_fp_frame(const __u8 *data, const __u8 *end, struct sg_sig_fp *fp)
{
	__u8 t[SG_SIG_TCP_BUF] = {0};
	__u32 l4_off = 0, l4_len = 0, tlen;

	if (!sg_sig_fp_ip(data, end, fp, &l4_off, &l4_len))
		return;
	if (data + l4_off + 20 > end)
		return;
	tlen = (__u32)(data[l4_off + 12] >> 4) * 4;
	if (tlen < 20 || tlen > l4_len || data + l4_off + tlen > end)
		return;
	__builtin_memcpy(t, data + l4_off, tlen);
	sg_sig_fp_tcp(t, tlen, l4_len, fp);
}
#endif

#endif /* SG_SIG_H */
