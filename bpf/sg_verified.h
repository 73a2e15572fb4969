/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * sg_verified.h — verified sources: a source that completed a handshake with
 * this host recently passes the port-flood responses untouched (the prefix
 * blocks a port flood made, XDP SYN cookies, the flood's signature drop). Its
 * per-source counting and blocks are unchanged: a verified source that floods
 * is still caught by the per-source thresholds.
 *
 * The table: sg_verified, an LRU hash keyed by the counted key (IPv4 address,
 * IPv6 masked to the counting prefix, sg_mask_source), valued by the time of
 * the source's last completed handshake; sized at load (max_verified). Only
 * the handshake tracepoint (sg_handshake_done, sg_dst_bpf.h) writes it, when
 * a server socket goes SYN_RECV -> ESTABLISHED: the client acknowledged our
 * SYN-ACK's sequence number (or cookie), which a spoofed source never
 * receives. An attacker with one real address verifies that address (or its
 * /64) only; a botnet's real addresses each verify themselves, and churn the
 * LRU at most (bounded), never grow it. An entry counts for ttl_ns after the
 * handshake; older ones are ignored until the LRU recycles them.
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

volatile struct sg_verified_params sg_verified_cfg SEC(".data.verified") = {
	.ttl_ns = 600000000000ull, .on = 1,
};

/* Whether the (unmasked) source of a packet completed a handshake within
 * ttl_ns. Counts the pass in SG_CNT_VERIFIED_PASSED when it did. */
static __always_inline int sg_verified_src(struct sg_counters *cnt, const struct sg_addr *src,
					   __u8 family)
{
	struct sg_addr key = *src;
	struct sg_config *cfg;
	__u32 zero = 0;
	__u64 *last, now;

	if (!sg_verified_cfg.on)
		return 0;
	cfg = bpf_map_lookup_elem(&sg_config_map, &zero);
	if (!cfg)
		return 0;
	sg_mask_source(&key, family, cfg->v6_prefix_len);
	last = bpf_map_lookup_elem(&sg_verified, &key);
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

/* A handshake completed on this host (the tracepoint, after its state,
 * protocol and namespace checks): its peer is verified from now. */
static __always_inline void sg_verified_note(void *sock)
{
	struct sock___sgv *sk = sock;
	struct sg_counters *cnt;
	struct sg_config *cfg;
	struct sg_addr peer = {};
	__u32 zero = 0, v4;
	__u64 now, hi;
	__u8 family = 4;

	if (!sg_verified_cfg.on)
		return;
	cfg = bpf_map_lookup_elem(&sg_config_map, &zero);
	if (!cfg)
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
	sg_mask_source(&peer, family, cfg->v6_prefix_len);
	now = SG_NOW_TRACE();
	bpf_map_update_elem(&sg_verified, &peer, &now, BPF_ANY);
	cnt = bpf_map_lookup_elem(&sg_counters_map, &zero);
	if (cnt)
		cnt->c[SG_CNT_VERIFIED_ADDED]++;
}

#endif /* __bpf__ */

#endif /* SG_VERIFIED_H */
