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
 * M3). So three more caps, each with its own window (the first and third
 * in sg_verified_pfx) and its own refusal counter:
 * - an IPv6 /64 (one host or customer: any number of addresses) takes at
 *   most per_64 of its /48's places (the loader: a 16th): squatting a /48
 *   takes per_prefix / per_64 of its /64s. An IPv4 /24 has no finer level:
 *   an attacker with per_prefix addresses of a /24 still squats it;
 * - the table takes at most per_ttl new addresses per TTL window in all
 *   (the loader: half of max_verified, so this window's and the previous
 *   one's fit; a global, not in the LRU): an attacker with many prefixes
 *   cannot flush the LRU of the clients verified before it;
 * - one IPv6 /32 or IPv4 /16 takes at most per_agg of those (the loader: a
 *   16th), so that one allocation cannot use up the table's window at its
 *   start and leave no place for anyone else: that takes 16 of them.
 * Every cap is checked before a place is taken or a window made: a refused
 * handshake leaves nothing in sg_verified_pfx (2 x max_verified windows;
 * a verification makes at most three, so a window of per_ttl new addresses
 * in fresh prefixes can make 1.5 x max_verified of them and two windows
 * more than the map holds: the LRU then evicts the oldest prefix windows,
 * which gives those prefixes fresh places, never the table's, review s18
 * L5). Approximate under concurrency (two CPUs may both take the last
 * place).
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

/* Per /48 (IPv6) or /24 (IPv4), IPv6 /64, IPv6 /32 or IPv4 /16 (keys in
 * sg_verified_admit): the TTL window's start and how many new addresses it
 * verified. Sized 2 x max_verified by the loader. */
struct sg_verified_window {
	__u64 since_ns;
	__u32 count;
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 131072); /* resized by the loader: 2 x max_verified */
	__type(key, struct sg_addr);
	__type(value, struct sg_verified_window);
} sg_verified_pfx SEC(".maps");

volatile struct sg_verified_params sg_verified_cfg SEC(".data.verified") = {
	.ttl_ns = 600000000000ull, .on = 1, .per_prefix = 64, .per_64 = 4, .per_agg = 2048,
	.per_ttl = 32768,
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

/* How many new addresses the window of a prefix key took: 0 when it has no
 * window or its window is over. Never creates one: a refused handshake
 * leaves nothing in sg_verified_pfx. */
static __always_inline __u32 sg_verified_taken(const struct sg_addr *key, __u64 now, __u64 ttl)
{
	struct sg_verified_window *w = bpf_map_lookup_elem(&sg_verified_pfx, key);

	if (!w || now < w->since_ns || now - w->since_ns >= ttl)
		return 0;
	return w->count;
}

/* Takes one place in the window of a prefix key: a new window when it had
 * none or its window is over. */
static __always_inline void sg_verified_take(const struct sg_addr *key, __u64 now, __u64 ttl)
{
	struct sg_verified_window fresh = { .since_ns = now, .count = 1 }, *w;

	w = bpf_map_lookup_elem(&sg_verified_pfx, key);
	if (!w) {
		if (bpf_map_update_elem(&sg_verified_pfx, key, &fresh, BPF_NOEXIST) == 0)
			return;
		w = bpf_map_lookup_elem(&sg_verified_pfx, key); /* another CPU made it */
		if (!w)
			return;
	}
	if (now < w->since_ns || now - w->since_ns >= ttl) {
		w->since_ns = now; /* a new window */
		w->count = 1;
		return;
	}
	__sync_fetch_and_add(&w->count, 1);
}

static __always_inline int sg_verified_refuse(__u32 which)
{
	struct sg_counters *cnt;
	__u32 zero = 0;

	cnt = bpf_map_lookup_elem(&sg_counters_map, &zero);
	if (cnt && which < SG_CNT__MAX)
		cnt->c[which]++;
	return 0;
}

/* Whether `peer` may be (re)verified at `now` under the caps; when it is new
 * in its /48 or /24's window, takes a place there, in its /64's (IPv6), in
 * its /32 or /16's and in the table's. Every cap is checked before any place
 * is taken or any window made. */
static __always_inline int sg_verified_admit(const struct sg_addr *peer, __u8 family, __u64 now)
{
	struct sg_addr pfx = *peer, sub = *peer, agg = *peer;
	struct sg_verified_window *w;
	__u64 *last, ttl = sg_verified_cfg.ttl_ns;
	__u32 per_64 = sg_verified_cfg.per_64, per_agg = sg_verified_cfg.per_agg;
	__u32 per_ttl = sg_verified_cfg.per_ttl;

	/* The keys of sg_verified_pfx: a /48 or /24 with byte 15 = 0, a /64
	 * with 64, a /32 with 32, a /16 with 16 (IPv4 keys have bytes 10-11
	 * 0xff, an IPv6 /32 or /64 key never does). */
	if (family == 6) {
		sg_mask_source(&pfx, 6, 48);
		sg_mask_source(&sub, 6, 64);
		sub.b[15] = 64;
		sg_mask_source(&agg, 6, 32);
		agg.b[15] = 32;
	} else {
		pfx.b[15] = 0;
		agg.b[14] = 0;
		agg.b[15] = 16;
	}
	w = bpf_map_lookup_elem(&sg_verified_pfx, &pfx);
	if (w && now >= w->since_ns && now - w->since_ns < ttl) {
		last = bpf_map_lookup_elem(&sg_verified, peer);
		if (last && *last >= w->since_ns && *last <= now)
			return 1; /* already counted in this window */
		if (w->count >= sg_verified_cfg.per_prefix)
			return sg_verified_refuse(SG_CNT_VERIFIED_CAPPED);
	}
	if (family == 6 && per_64 && sg_verified_taken(&sub, now, ttl) >= per_64)
		return sg_verified_refuse(SG_CNT_VERIFIED_CAPPED_64);
	if (per_agg && sg_verified_taken(&agg, now, ttl) >= per_agg)
		return sg_verified_refuse(SG_CNT_VERIFIED_CAPPED_AGG);
	if (per_ttl) {
		if (now < sg_verified_all_since || now - sg_verified_all_since >= ttl) {
			sg_verified_all_since = now;
			sg_verified_all_count = 0;
		}
		if (sg_verified_all_count >= per_ttl)
			return sg_verified_refuse(SG_CNT_VERIFIED_CAPPED_TABLE);
		__sync_fetch_and_add(&sg_verified_all_count, 1);
	}
	sg_verified_take(&pfx, now, ttl);
	if (family == 6 && per_64)
		sg_verified_take(&sub, now, ttl);
	if (per_agg)
		sg_verified_take(&agg, now, ttl);
	return 1;
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
