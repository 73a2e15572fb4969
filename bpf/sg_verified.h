/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * sg_verified.h — verified sources: a source that completed a handshake with
 * this host recently passes the port-flood responses untouched (the prefix
 * blocks a port flood made, XDP SYN cookies, the flood's signature drop). Its
 * per-source counting and blocks are unchanged: a verified source that floods
 * is still caught by the per-source thresholds.
 *
 * The table: sg_verified, an LRU hash keyed by the exact source address
 * (IPv4, or all 128 bits of IPv6: never the counting prefix, so a handshake
 * from one address of a /64 verifies no spoofed neighbour), valued by the
 * time of the source's last completed handshake; sized at load
 * (max_verified). Only the handshake tracepoint (sg_handshake_done,
 * sg_dst_bpf.h) writes it, when a server socket goes SYN_RECV -> ESTABLISHED:
 * the client acknowledged our SYN-ACK's sequence number (or cookie), which a
 * spoofed source never receives. An entry counts for ttl_ns after the
 * handshake; older ones are ignored until the LRU recycles them.
 *
 * The caps: an attacker with a /48 of its own can complete real handshakes
 * from as many addresses as it likes, then flood from them past the /48
 * block its flood earns, and churn the LRU. So a /48 (IPv6) or /24 (IPv4)
 * verifies at most per_prefix new addresses per TTL window
 * (sg_verified_pfx: the window's start and its count; an address last
 * verified before the window started counts again when it returns); further
 * handshakes there verify nobody (SG_CNT_VERIFIED_CAPPED). At most
 * 2 x per_prefix addresses of one prefix are verified at once (this window's
 * and the previous one's). First come, first served: an attacker could take
 * its prefix's places at the start of each window, before its neighbours
 * connect, so that they meet the prefix block its flood earns (review s15
 * M3). So an IPv6 /64 (one host or customer: any number of addresses) takes
 * at most per_64 of its /48's places (its own window in sg_verified_pfx, the
 * /64's key marked by byte 15 = 64): squatting a /48 takes
 * per_prefix / per_64 of its /64s. An IPv4 /24 has no finer level: an
 * attacker with per_prefix addresses of a /24 still squats it. And the table
 * takes at most per_ttl new addresses per TTL window in all (the loader sets
 * half of max_verified: this window's and the previous one's fit), so an
 * attacker with many prefixes cannot flush the LRU of real clients; it can
 * only use up the window's new places, and clients verified already stay.
 * Approximate under concurrency (two CPUs may both take the last place).
 *
 * Kernel only: included by syn_guard.bpf.c after its maps and SG_NOW. Cost: nothing
 * on the packet path unless a port-flood response matched the packet; then
 * one hash lookup.
 */
#ifndef SG_VERIFIED_H
#define SG_VERIFIED_H

#include "sg_shared.h"

/* Its knobs' layout, struct sg_verified_params, is in sg_shared.h. */

#ifdef __bpf__

#include <bpf/bpf_core_read.h>

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536); /* resized by the loader: max_verified */
	__type(key, struct sg_addr);
	__type(value, __u64); /* program time of the last completed handshake */
} sg_verified SEC(".maps");

/* Per /48 (IPv6) or /24 (IPv4): the TTL window's start and how many new
 * addresses it verified. Sized like sg_verified by the loader. */
struct sg_verified_window {
	__u64 since_ns;
	__u32 count;
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536); /* resized by the loader: max_verified */
	__type(key, struct sg_addr);
	__type(value, struct sg_verified_window);
} sg_verified_pfx SEC(".maps");

volatile struct sg_verified_params sg_verified_cfg SEC(".data.verified") = {
	.ttl_ns = 600000000000ull, .on = 1, .per_prefix = 64, .per_64 = 4, .per_ttl = 32768,
};

/* Whether the (exact) source of a packet completed a handshake within
 * ttl_ns. Counts the pass in SG_CNT_VERIFIED_PASSED when it did. */
static __always_inline int sg_verified_src(struct sg_counters *cnt, const struct sg_addr *src,
					   __u8 family)
{
	__u64 *last, now;

	(void)family;
	if (!sg_verified_cfg.on)
		return 0;
	last = bpf_map_lookup_elem(&sg_verified, src);
	if (!last)
		return 0;
	now = SG_NOW();
	if (now < *last || now - *last >= sg_verified_cfg.ttl_ns)
		return 0;
	cnt->c[SG_CNT_VERIFIED_PASSED]++;
	return 1;
}

/* The same for a packet the parser read (the signature drop's hook). */
static __always_inline int sg_verified_pkt(struct sg_counters *cnt, const struct sg_pkt *pkt)
{
	return sg_verified_src(cnt, &pkt->src, pkt->family);
}

/* What the tracepoint reads of the socket's peer (CO-RE: matched by name). */
struct in6_addr___sgv {
	__u8 b[16];
};

struct sock_common___sgv {
	__u32 skc_daddr;
	unsigned short skc_family;
	struct in6_addr___sgv skc_v6_daddr;
} __attribute__((preserve_access_index));

struct sock___sgv {
	struct sock_common___sgv __sk_common;
} __attribute__((preserve_access_index));

/* All new verifications of this TTL window (per_ttl), apart from prefixes:
 * one global window (its start, its count), approximate under concurrency
 * like the others. */
__u64 sg_verified_all_since;
__u32 sg_verified_all_count;

/* The window of a prefix key, started anew when ttl ran out; NULL when the
 * table could not hold it. */
static __always_inline struct sg_verified_window *sg_verified_window_of(const struct sg_addr *pfx,
									__u64 now, __u64 ttl)
{
	struct sg_verified_window fresh = { .since_ns = now }, *w;

	w = bpf_map_lookup_elem(&sg_verified_pfx, pfx);
	if (!w) {
		bpf_map_update_elem(&sg_verified_pfx, pfx, &fresh, BPF_NOEXIST);
		w = bpf_map_lookup_elem(&sg_verified_pfx, pfx);
		if (!w)
			return 0;
	}
	if (now < w->since_ns || now - w->since_ns >= ttl) {
		w->since_ns = now; /* a new window */
		w->count = 0;
	}
	return w;
}

/* Whether `peer` may be (re)verified at `now` under the caps; takes its
 * place in its prefix's window (and its /64's, and the table's) when it is
 * new there. */
static __always_inline int sg_verified_admit(const struct sg_addr *peer, __u8 family, __u64 now)
{
	struct sg_verified_window *w, *w64 = 0;
	struct sg_addr pfx = *peer;
	struct sg_counters *cnt;
	__u64 *last, ttl = sg_verified_cfg.ttl_ns;
	__u32 zero = 0, per_64 = sg_verified_cfg.per_64, per_ttl = sg_verified_cfg.per_ttl;

	if (family == 6)
		sg_mask_source(&pfx, 6, 48);
	else
		pfx.b[15] = 0;
	w = sg_verified_window_of(&pfx, now, ttl);
	if (!w)
		return 0;
	last = bpf_map_lookup_elem(&sg_verified, peer);
	if (last && *last >= w->since_ns && *last <= now)
		return 1; /* already counted in this window */
	if (family == 6 && per_64) {
		/* Its /64's share: one /64 (one customer of a shared /48)
		 * cannot take the /48's places. Keyed apart from /48s (whose
		 * byte 15 is 0) and from IPv4 (bytes 10-11 0xff). */
		pfx = *peer;
		sg_mask_source(&pfx, 6, 64);
		pfx.b[15] = 64;
		w64 = sg_verified_window_of(&pfx, now, ttl);
		if (!w64 || w64->count >= per_64)
			goto capped;
	}
	if (w->count >= sg_verified_cfg.per_prefix)
		goto capped;
	if (per_ttl) {
		if (now < sg_verified_all_since || now - sg_verified_all_since >= ttl) {
			sg_verified_all_since = now;
			sg_verified_all_count = 0;
		}
		if (sg_verified_all_count >= per_ttl)
			goto capped;
		__sync_fetch_and_add(&sg_verified_all_count, 1);
	}
	__sync_fetch_and_add(&w->count, 1);
	if (w64)
		__sync_fetch_and_add(&w64->count, 1);
	return 1;
capped:
	cnt = bpf_map_lookup_elem(&sg_counters_map, &zero);
	if (cnt)
		cnt->c[SG_CNT_VERIFIED_CAPPED]++;
	return 0;
}

/* A handshake completed on this host (the tracepoint, after its state,
 * protocol and namespace checks): its peer is verified from now. */
static __always_inline void sg_verified_note(void *sock)
{
	struct sock___sgv *sk = sock;
	struct sg_counters *cnt;
	struct sg_addr peer = {};
	__u32 zero = 0, v4;
	__u64 now, hi;
	__u8 family = 4;

	if (!sg_verified_cfg.on)
		return;
	if (BPF_CORE_READ(sk, __sk_common.skc_family) == 2 /* AF_INET */) {
		v4 = BPF_CORE_READ(sk, __sk_common.skc_daddr);
		peer.b[10] = 0xff;
		peer.b[11] = 0xff;
		__builtin_memcpy(&peer.b[12], &v4, 4);
	} else {
		/* AF_INET6; an IPv4 peer of a dual-stack listener reads
		 * ::ffff:a.b.c.d, the key its packets are looked up under. */
		BPF_CORE_READ_INTO(&peer, sk, __sk_common.skc_v6_daddr);
		__builtin_memcpy(&hi, &peer.b[0], 8);
		if (hi || peer.b[8] || peer.b[9] || peer.b[10] != 0xff || peer.b[11] != 0xff)
			family = 6;
	}
	now = SG_NOW_TRACE();
	if (sg_verified_cfg.per_prefix && !sg_verified_admit(&peer, family, now))
		return;
	bpf_map_update_elem(&sg_verified, &peer, &now, BPF_ANY);
	cnt = bpf_map_lookup_elem(&sg_counters_map, &zero);
	if (cnt)
		cnt->c[SG_CNT_VERIFIED_ADDED]++;
}

#endif /* __bpf__ */

#endif /* SG_VERIFIED_H */
