/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * sg_prefix.h — prefix blocks (the console's Block Globally of a prefix,
 * `syn-guard block 198.51.100.0/24`) in the XDP program. Kernel only:
 * included by syn_guard.bpf.c after its maps (it uses sg_allow).
 *
 * Two LPM tries, one per family, so that an IPv4 lookup walks a 4-byte key:
 * sg_prefix4 (struct sg_lpm4_key, prefixlen 1..31) and sg_prefix6 (struct
 * sg_lpm_key over the raw source, prefixlen shorter than the counting
 * prefix). Address-length prefixes are per-source blocks (sg_blocks). Sized
 * by the loader (max_prefix_blocks); only user space inserts or deletes.
 *
 * Cost when no prefix block exists: one load of sg_prefix_maybe (a global in
 * the prefilter's section) per packet with a source; its family bit gates the
 * lookup. On a hit the allowlist is consulted (it wins) when an allowlist
 * entry overlaps the prefix (SG_PFX_ALLOW_CHECK, kept by user space), so
 * only packets from inside such a prefix pay a second lookup.
 *
 * What a prefix block drops follows block_scope as a per-source block does:
 * "attempts" drops connection attempts only (other packets are not even
 * looked up), "all" every packet. An expired block is ignored (the agent's
 * sweep deletes it); a handed-off one (nftables holds it) or one without
 * SG_BLK_XDP_DROP passes, as sg_block_verdict does for a source.
 */
#ifndef SG_PREFIX_H
#define SG_PREFIX_H

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 4096); /* resized by the loader: max_prefix_blocks */
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct sg_lpm4_key);
	__type(value, struct sg_prefix_block);
} sg_prefix4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 4096); /* resized by the loader: max_prefix_blocks */
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct sg_lpm_key);
	__type(value, struct sg_prefix_block);
} sg_prefix6 SEC(".maps");

/* SG_PREFIX_V4 | SG_PREFIX_V6: the tries that may hold a block (sg_shared.h).
 * Beside sg_blocks_maybe, in the section user space writes through its mmap. */
volatile __u32 sg_prefix_maybe SEC(".data.blockbits");

/* The prefix block over this packet's source, if one is in force and drops
 * in XDP; NULL otherwise (none, expired, handed off, detect-only). *now is
 * read here when it is still 0. */
static __always_inline struct sg_prefix_block *sg_prefix_lookup(const struct sg_pkt *pkt,
								 __u64 *now)
{
	struct sg_prefix_block *b;

	if (pkt->family == 4) {
		struct sg_lpm4_key k4 = { .prefixlen = 32 };

		__builtin_memcpy(k4.addr, &pkt->src.b[12], 4);
		b = bpf_map_lookup_elem(&sg_prefix4, &k4);
	} else {
		struct sg_lpm_key k6 = { .prefixlen = 128, .addr = pkt->src };

		b = bpf_map_lookup_elem(&sg_prefix6, &k6);
	}
	if (!b)
		return 0;
	if (!*now)
		*now = SG_NOW();
	if (*now >= b->expires_ns)
		return 0;
	if ((b->flags & (SG_BLK_XDP_DROP | SG_BLK_HANDED_OFF)) != SG_BLK_XDP_DROP)
		return 0;
	return b;
}

/* XDP_DROP when a prefix block drops this packet, else XDP_PASS (the rest of
 * the path decides). */
static __always_inline int sg_prefix_verdict(struct sg_counters *cnt, const struct sg_config *cfg,
					     const struct sg_pkt *pkt, __u64 *now)
{
	__u32 fam = pkt->family == 4 ? SG_PREFIX_V4 : SG_PREFIX_V6;
	struct sg_lpm_key allow;
	struct sg_prefix_block *b;

	if (!(sg_prefix_maybe & fam))
		return XDP_PASS;
	if (cfg->block_scope != SG_SCOPE_ALL && !sg_pkt_is_attempt(pkt))
		return XDP_PASS;
	b = sg_prefix_lookup(pkt, now);
	if (!b)
		return XDP_PASS;
	/* A port flood's block (not an operator's) spares verified sources. */
	if ((b->flags & SG_PFX_FLOOD) && sg_verified_src(cnt, &pkt->src, pkt->family))
		return XDP_PASS;
	/* The allowlist wins: it is keyed by the counted key (sg_cross). Only
	 * prefixes an allowlist entry overlaps pay the lookup. */
	if (b->flags & SG_PFX_ALLOW_CHECK) {
		allow.prefixlen = 128;
		allow.addr = pkt->src;
		sg_mask_source(&allow.addr, pkt->family, cfg->v6_prefix_len);
		if (bpf_map_lookup_elem(&sg_allow, &allow)) {
			cnt->c[SG_CNT_PREFIX_ALLOWLISTED]++;
			return XDP_PASS;
		}
	}
	b->drops++;
	cnt->c[SG_CNT_DROPPED]++;
	cnt->c[SG_CNT_PREFIX_DROPPED]++;
	return XDP_DROP;
}

#endif /* SG_PREFIX_H */
