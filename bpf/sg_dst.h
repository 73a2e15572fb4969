/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * sg_dst.h — destination-side counters: per local address and port, the
 * connection attempts, the completed handshakes, an estimate of the distinct
 * sources (HyperLogLog) and where the sources concentrate (a Space-Saving
 * table of their /24 or /48 prefixes). The layout and the per-attempt
 * arithmetic, compiled by the XDP program (sg_dst_bpf.h: the map, the hook,
 * the handshake tracepoint) and by the C++ core (DstTable: replay, tests),
 * so that replay counts as the kernel does.
 *
 * Why these answer a spoofed flood: per-source counting never sees 37,623
 * sources sending one SYN each; the destination sees 37,841 attempts, almost
 * no completed handshake, tens of thousands of distinct sources, and whether
 * they cluster in a few prefixes (then blocking those prefixes answers it).
 *
 * Table: sg_dsts, a mmapable ARRAY of 2-way sets (size fixed at load, a
 * power of two). A destination takes an empty way of its set, else a way
 * idle since user space's last harvest (both banks without attempts); when
 * both ways are busy its attempts are counted in DST_UNTRACKED only. So a
 * port with traffic keeps its entry: a flooded port is never evicted, and
 * a scan of many ports cannot push it out (it can only keep new ports
 * untracked, which the counter shows).
 *
 * Banks: the distinct-source and prefix sketches (not the cumulative counts)
 * are kept twice; the program writes bank sg_dst_bank, user space flips it
 * every sample interval, reads the bank the program left and zeroes it
 * (sg_dst_harvest in src/core/dst_table.cpp). No clock in the program, no
 * rollover race in the kernel: a CPU that read the bank index just before
 * the flip may still add to the old bank while it is read (approximate by
 * that instant's attempts).
 *
 * Concurrency: `attempts` and `completions` are atomic adds (exact); the
 * registers, the prefix table and the bank's attempt count are plain writes
 * (approximate under concurrency, as sketches are).
 */
#ifndef SG_DST_H
#define SG_DST_H

#include "sg_parse.h"
#include "sg_sig.h"

#define SG_DST_WAYS 2
#define SG_DST_BANKS 2
/* HyperLogLog registers per bank: relative standard error 1.04 / sqrt(128)
 * = 9.2 %. */
#define SG_HLL_LOG2 7
#define SG_HLL_REGS (1u << SG_HLL_LOG2)
/* Space-Saving entries per bank: any prefix with more than 1/8 of the bank's
 * attempts is in the table, and count - err never exceeds its true count. */
#define SG_HH_SLOTS 8

/* One prefix of the Space-Saving table (sg_src_prefix()). */
struct sg_hh_entry {
	__u64 prefix; /* 0 = empty */
	__u32 count;  /* attempts counted for it since it entered the table */
	__u32 err;    /* the count of the entry it replaced: its over-estimate */
};

struct sg_dst_bank {
	__u8 hll[SG_HLL_REGS];              /* HyperLogLog registers (rho, 1..58) */
	struct sg_hh_entry hh[SG_HH_SLOTS]; /* top source prefixes */
	__u32 attempts;                     /* attempts counted in this bank */
	__u32 pad;
	/* A uniform sample of the bank's attempts' SYN fingerprints (the first
	 * min(attempts, SG_SIG_SAMPLES) are set; sg_sig.h, sg_sig_slot). */
	struct sg_sig_fp sig[SG_SIG_SAMPLES];
};

#define SG_DST_EMPTY 0
#define SG_DST_CLAIMED 1 /* one CPU is writing the key */
#define SG_DST_FILLED 2

/* One destination (local address and port): 1360 bytes. */
struct sg_dst {
	struct sg_addr addr; /* local address, IPv4 as ::ffff:a.b.c.d */
	__u16 port;          /* host order */
	__u16 pad0;
	__u32 state;         /* SG_DST_* (32 bits: BPF compare-exchanges 32 or 64) */
	__u64 attempts;    /* connection attempts since the entry was filled */
	__u64 completions; /* handshakes completed (SYN_RECV -> ESTABLISHED) */
	__u64 pad1[3];
	struct sg_dst_bank bank[SG_DST_BANKS];
};

/* A 64-bit finaliser (MurmurHash3's fmix64). */
SG_INLINE __u64 sg_fmix64(__u64 x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	x ^= x >> 33;
	return x;
}

/* Keyed hash of a destination (address and port) for the table's set: one
 * fmix64 over the port, the lower half and the upper half times an odd
 * constant (a multiply where a second fmix64 cost ~3 ns a SYN), all under
 * the program's secret. Not a PRF like sg_addr_hash: the sender chooses
 * only the port (the address is one of this host's), and for a fixed
 * address the hash is a keyed bijection of it, so a sender cannot aim ports
 * at one set without the key. */
SG_INLINE __u64 sg_dst_hash(const struct sg_addr *a, __u64 port, const struct sg_hash_key *k)
{
	__u64 hi, lo;

	__builtin_memcpy(&hi, &a->b[0], 8);
	__builtin_memcpy(&lo, &a->b[8], 8);
	return sg_fmix64(((hi ^ k->k0) * 0x9e3779b97f4a7c15ull) ^ lo ^ port ^ k->k1);
}

/* The random number the n-th attempt of a bank draws for the fingerprint
 * reservoir (sg_sig_slot), from the attempt's keyed source hash
 * (sg_addr_hash of the masked source, the per-source tracker's) and n: two
 * multiplies where bpf_get_prandom_u32() cost ~18 ns a SYN (a helper call,
 * measured with xdp_cost_bench). Distinct sources give independent draws
 * (the hash is keyed, so a sender cannot choose which of its SYNs are
 * kept); one source's repeats differ by n. Replay draws the same way, so it
 * keeps the samples the kernel keeps. */
SG_INLINE __u32 sg_dst_sample_rnd(__u64 src_hash, __u32 n)
{
	return (__u32)(sg_fmix64(src_hash + (__u64)n * 0x9e3779b97f4a7c15ull) >> 32);
}

/* Index of the first way of the destination's set. */
SG_INLINE __u32 sg_dst_first(__u64 h, __u32 set_mask)
{
	return ((__u32)(h >> 32) & set_mask) * SG_DST_WAYS;
}

/* The prefix a source counts for in the concentration table: its /24
 * (IPv4) or /48 (IPv6), with the family in the top byte (never 0). */
SG_INLINE __u64 sg_src_prefix(const struct sg_addr *src, __u8 family)
{
	if (family == 4)
		return (4ull << 56) | ((__u64)src->b[12] << 16) | ((__u64)src->b[13] << 8) |
		       src->b[14];
	return (6ull << 56) | ((__u64)src->b[0] << 40) | ((__u64)src->b[1] << 32) |
	       ((__u64)src->b[2] << 24) | ((__u64)src->b[3] << 16) | ((__u64)src->b[4] << 8) |
	       src->b[5];
}

/* Position of the lowest set bit, plus one, of a non-zero word (the
 * HyperLogLog rank), without a loop or a count-zeros instruction. */
SG_INLINE __u8 sg_hll_rank(__u64 w)
{
	__u8 r = 1;

	if (!(w & 0xffffffffull)) {
		r += 32;
		w >>= 32;
	}
	if (!(w & 0xffff)) {
		r += 16;
		w >>= 16;
	}
	if (!(w & 0xff)) {
		r += 8;
		w >>= 8;
	}
	if (!(w & 0xf)) {
		r += 4;
		w >>= 4;
	}
	if (!(w & 0x3)) {
		r += 2;
		w >>= 2;
	}
	if (!(w & 0x1))
		r += 1;
	return r;
}

/* Adds a source hash to the registers: register = low bits, rank = lowest
 * set bit of the rest (a sentinel bit bounds it at 64 - SG_HLL_LOG2 + 1). */
SG_INLINE void sg_hll_add(__u8 *regs, __u64 h)
{
	__u32 i = (__u32)h & (SG_HLL_REGS - 1);
	__u8 r = sg_hll_rank((h >> SG_HLL_LOG2) | (1ull << (64 - SG_HLL_LOG2)));

	if (regs[i] < r)
		regs[i] = r;
}

/* Space-Saving: a prefix in the table gains one; a new one replaces the
 * entry of least count, inheriting that count as its error. */
SG_INLINE void sg_hh_add(struct sg_hh_entry *hh, __u64 prefix)
{
	__u32 i, min_i = 0, min_c = 0xffffffffu;

	SG_UNROLL
	for (i = 0; i < SG_HH_SLOTS; i++) {
		if (hh[i].prefix == prefix) {
			hh[i].count++;
			return;
		}
		if (hh[i].count < min_c) {
			min_c = hh[i].count;
			min_i = i;
		}
	}
	min_i &= SG_HH_SLOTS - 1;
	hh[min_i].prefix = prefix;
	hh[min_i].err = min_c;
	hh[min_i].count = min_c + 1;
}

SG_INLINE int sg_dst_holds(const struct sg_dst *d, const struct sg_addr *a, __u16 port)
{
	__u64 x0, x1, y0, y1;

	if (d->state != SG_DST_FILLED || d->port != port)
		return 0;
	__builtin_memcpy(&x0, &d->addr.b[0], 8);
	__builtin_memcpy(&x1, &d->addr.b[8], 8);
	__builtin_memcpy(&y0, &a->b[0], 8);
	__builtin_memcpy(&y1, &a->b[8], 8);
	return x0 == y0 && x1 == y1;
}

/* A way that may be given to a new destination: empty, or filled and idle
 * since user space last harvested it (no attempts in either bank). */
SG_INLINE int sg_dst_reusable(const struct sg_dst *d)
{
	if (d->state == SG_DST_EMPTY)
		return 1;
	return d->state == SG_DST_FILLED && d->bank[0].attempts == 0 && d->bank[1].attempts == 0;
}

/* The destination's entry in the set (w0, w1): the way holding it, else
 * (claim != 0) a reusable way claimed and filled for it, else NULL (both
 * ways busy, or another CPU is filling the way). */
SG_INLINE struct sg_dst *sg_dst_pick(struct sg_dst *w0, struct sg_dst *w1,
				     const struct sg_addr *a, __u16 port, int claim)
{
	struct sg_dst *d;
	__u32 old;

	if (sg_dst_holds(w0, a, port))
		return w0;
	if (sg_dst_holds(w1, a, port))
		return w1;
	if (!claim)
		return 0;
	if (sg_dst_reusable(w0))
		d = w0;
	else if (sg_dst_reusable(w1))
		d = w1;
	else
		return 0;
	old = *(volatile __u32 *)&d->state;
	if (old == SG_DST_CLAIMED ||
	    __sync_val_compare_and_swap(&d->state, old, SG_DST_CLAIMED) != old)
		return 0;
	d->addr = *a;
	d->port = port;
	d->attempts = 0;
	d->completions = 0;
	/* Written last: the claim ends (the slots' claim does the same). */
	*(volatile __u32 *)&d->state = SG_DST_FILLED;
	return d;
}

/* Counts one attempt of a source (its HyperLogLog hash — the keyed
 * sg_addr_hash of the masked source, computed once per SYN for the tracker
 * too — and its prefix) at the destination, in bank `bank`. */
SG_INLINE void sg_dst_count(struct sg_dst *d, __u32 bank, __u64 src_hash, __u64 prefix)
{
	struct sg_dst_bank *b = &d->bank[bank & 1];

	__sync_fetch_and_add(&d->attempts, 1);
	b->attempts++;
	sg_hll_add(b->hll, src_hash);
	sg_hh_add(b->hh, prefix);
}

#endif /* SG_DST_H */
