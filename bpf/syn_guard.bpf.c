// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * syn_guard.bpf.c — the XDP sensor and enforcer.
 *
 * Per packet: parse (sg_parse.h); if the block prefilter (a bitmap indexed by
 * the source's hash) says the source may be blocked, look it up in the block
 * cache (sg_block_cache_bpf.h), then in sg_blocks, and drop it while its
 * block lasts (its connection attempts only, unless
 * block_scope is "all"), and likewise when a prefix block covers it
 * (sg_prefix.h); if the packet is a connection attempt
 * (SYN without ACK/RST), count it in the source's sliding window (sg_track.h)
 * and, on the attempt that crosses the threshold, block the source at once —
 * that very packet is already dropped — and tell user space through the ring
 * buffer.
 *
 * Bounded memory, never open: per-source state lives in sg_slots, a 2-way
 * set-associative array of 64-byte slots whose size is fixed at load (array
 * lookups are inlined by the verifier: no hash, no lock, no allocation). A new
 * source takes an empty way of its set or evicts the way seen least recently;
 * eviction happens by set collision, never by a global LRU. Blocks live in a
 * separate plain hash that no flood can evict. While new sources arrive faster
 * than admit_per_sec on a CPU (random spoofed sources), a new source first
 * goes through a count-min sketch and gets a slot only once its estimate
 * stands clear of the sketch's noise: spoofed sources cannot churn the slots.
 *
 * Clock: jiffies (bpf_jiffies64(), inlined by the JIT: ~free) times the
 * loader's sg_ns_per_jiffy, so resolution is one jiffy (1 ms at HZ=1000, 4 ms
 * at 250, 10 ms at 100). The time base is CLOCK_MONOTONIC plus a constant
 * offset (jiffies start at INITIAL_JIFFIES, not 0): user space learns it with
 * sg_clock_probe and must use XdpSensor::kernelNowNs() for every time it
 * compares with or writes into the maps. -DSG_CLOCK_FINE (bpf_ktime_get_ns) and
 * -DSG_CLOCK_COARSE (bpf_ktime_get_coarse_ns) build the benchmark's variants,
 * -DSG_CLOCK_TEST one whose clock the tests set.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "sg_shared.h"
#include "sg_parse.h"
#include "sg_track.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Load-time knobs (set before load through the skeleton's rodata). */
const volatile __u64 sg_ns_per_jiffy = 4000000; /* 1e9 / CONFIG_HZ */
const volatile __u32 sg_slot_set_mask = 32767;   /* sets - 1 (slots / SG_SLOT_WAYS - 1) */
/* The secret of sg_addr_hash, drawn by the loader at load (getrandom); never
 * leaves the kernel and the agent's memory. */
const volatile struct sg_hash_key sg_hash_key;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sg_config);
} sg_config_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 65536); /* resized by the loader: a power of two */
	__uint(map_flags, BPF_F_MMAPABLE); /* page-aligned values: a set = 128 aligned bytes */
	__type(key, __u32);
	__type(value, struct sg_slot);
} sg_slots SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 32768); /* resized by the loader: one per set */
	__type(key, __u32);
	__type(value, __u64); /* SG_SLOT_WAYS tags (sg_slot_tag), see sg_shared.h */
} sg_tags SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384); /* resized by the loader before load */
	__type(key, struct sg_addr);
	__type(value, struct sg_block);
} sg_blocks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384); /* resized by the loader: max_blocks */
	__type(key, struct sg_addr);
	__type(value, struct sg_offence);
} sg_offenders SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 4096);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct sg_lpm_key);
	__type(value, __u8);
} sg_allow SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sg_counters);
} sg_counters_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sg_cpu_epoch);
} sg_epochs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} sg_events SEC(".maps");

/* Count-min sketch lines (global data: indexed directly, no helper call;
 * the .bss map is page-aligned, so each line is one cache line). */
struct sg_sketch_line sg_sketch[SG_SKETCH_LINES] __attribute__((aligned(64)));
/* Sketch updates this epoch over all CPUs (sg_sketch_flush, sg_track.h): the
 * noise floor counts what actually ran, not the possible CPUs. A line of its
 * own: it is written once per SG_SKETCH_BATCH updates of a CPU. */
__u64 sg_sketch_updates __attribute__((aligned(64)));

/* Block prefilter (SG_BLOCK_BITS in sg_shared.h), in a section (and so an
 * array map) of its own that user space writes through its mmap.
 * sg_blocks_maybe summarises it for the non-attempt fast path: non-zero once
 * any bit may be set. Both are set after the block is inserted, by the kernel
 * and by user space; only user space clears them (rebuild, see
 * xdp_sensor_blocks.cpp for why no block is ever missed). */
__u64 sg_block_bits[SG_BLOCK_WORDS] SEC(".data.blockbits");
volatile __u32 sg_blocks_maybe SEC(".data.blockbits");

/* sg_clock_probe's output: one reading of both clocks. */
__u64 sg_probe_jiffies;
__u64 sg_probe_ktime_ns;

/* BTF anchors for the shared layouts no map or global names (events cross as
 * ring-buffer bytes, the parser's output lives on the stack), so that user
 * space can check every layout against the loaded object (tests/bpf/). */
struct sg_event *sg_btf_event __attribute__((unused));
struct sg_pkt *sg_btf_pkt __attribute__((unused));

#if defined(SG_CLOCK_FINE)
#define SG_NOW() bpf_ktime_get_ns()
#elif defined(SG_CLOCK_COARSE)
#define SG_NOW() bpf_ktime_get_coarse_ns()
#elif defined(SG_CLOCK_TEST)
/* A simulated clock for tests (tests/bpf/differential_test.cpp): the test
 * writes the time of the next packet. Never in the agent's object. */
volatile __u64 sg_test_now_ns;
#define SG_NOW() sg_test_now_ns
#else
#define SG_NOW() (bpf_jiffies64() * sg_ns_per_jiffy)
#endif

/* Tracing programs may not call bpf_ktime_get_coarse_ns (the verifier refuses
 * it outside networking programs), so the coarse benchmark build reads the
 * same CLOCK_MONOTONIC base at full precision there; every other build uses
 * the packet path's clock. */
#if defined(SG_CLOCK_COARSE)
#define SG_NOW_TRACE() bpf_ktime_get_ns()
#else
#define SG_NOW_TRACE() SG_NOW()
#endif

#include "sg_verified.h" /* verified sources: pass port-flood responses */
#include "sg_prefix.h" /* prefix blocks: its tries, gate and verdict */
#include "sg_handshake_bpf.h" /* per-source completions: half-open vs connections */
#include "sg_local.h" /* the host's own addresses (counters and cookies act for those) */
#include "sg_dst_bpf.h" /* destination-side counters, handshake tracepoint */
#include "sg_sig_bpf.h" /* signature drop: fingerprint samples, verdict */
#include "sg_syncookie.h" /* SYN cookies for ports under a flood */
#include "sg_reflect.h" /* SYN-ACK reflection (after sg_syncookie.h: its ct kfuncs) */
#include "sg_event_bpf.h" /* keyed hashes, prefilter bits, events, epochs */
#include "sg_block_cache_bpf.h" /* blocked sources dropped without a hash lookup */
#include "sg_challenge.h" /* challenge instead of block: per-source cookies */
#include "sg_cross_bpf.h" /* threshold crossings, block verdicts, admission */

/* A packet that is no connection attempt from an unblocked source: counted
 * by kind, passed — except the shapes that could smuggle a SYN past the
 * parser (sg_pkt_is_evasive(): tiny or overlapping TCP fragments, over-long
 * IPv6 header chains), dropped unless detect-only. */
static __always_inline int sg_pass_other(struct sg_counters *cnt, const struct sg_config *cfg,
					 const struct sg_pkt *pkt)
{
	if (pkt->kind == SG_PKT_MALFORMED)
		cnt->c[SG_CNT_MALFORMED]++;
	else if (pkt->kind == SG_PKT_FRAGMENT)
		cnt->c[SG_CNT_FRAGMENTS]++;
	else if (sg_pkt_is_evasive(pkt)) {
		cnt->c[pkt->kind == SG_PKT_LONG_CHAIN ? SG_CNT_LONG_CHAINS : SG_CNT_TINY_FRAGMENTS]++;
		if (cfg->enforce != SG_ENFORCE_NONE)
			return XDP_DROP;
	}
	return XDP_PASS;
}

/* The whole per-packet path, inlined into the one entry point below (and,
 * for benchmarks only, into the wrappers of bpf/bench/ that include this
 * file: the production program carries no test hooks). */
static __always_inline int sg_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 zero = 0;
	struct sg_counters *cnt;
	struct sg_config *cfg;
	struct sg_slot *slot, *w0, *w1;
	struct sg_addr key;
	__u32 i0, i1, set;
	__u64 *tags, tag, tw;
	struct sg_pkt pkt;
	__u64 now = 0;
	__u64 hash = 0;
	__u32 reason;
	int attempt;

	cnt = bpf_map_lookup_elem(&sg_counters_map, &zero);
	cfg = bpf_map_lookup_elem(&sg_config_map, &zero);
	if (!cnt || !cfg || !cfg->enabled)
		return XDP_PASS;
	cnt->c[SG_CNT_PACKETS]++;

	sg_parse_eth(data, data_end, &pkt);
	if (!pkt.has_src) {
		cnt->c[pkt.kind == SG_PKT_NON_IP ? SG_CNT_NON_IP : SG_CNT_MALFORMED]++;
		return XDP_PASS;
	}
	/* One register for every test below: the verifier follows one answer. */
	attempt = sg_pkt_is_attempt(&pkt);
	if (attempt) {
		/* Before any block: floods stay measured (and sampled). The
		 * source's key and hash, once: the destination counters and
		 * everything below share them. */
		int pos;

		key = pkt.src;
		sg_mask_source(&key, pkt.family, cfg->v6_prefix_len);
		hash = sg_hash(&key);
		pos = sg_dst_attempt(cnt, cfg, &pkt, hash);

		if (pos >= 0)
			sg_sig_keep(ctx, (__u32)pos);
	}
	if (sg_prefix_verdict(cnt, cfg, &pkt, &now) == XDP_DROP)
		return XDP_DROP;
	/* A port flood's signature (sg_sig_bpf.h): its SYNs cost no more. */
	if (sg_sig_targets && attempt &&
	    sg_sig_verdict(ctx, cnt, cfg, &pkt) == XDP_DROP)
		return XDP_DROP;
	if (sg_reflect.on && sg_pkt_is_synack(&pkt) &&
	    sg_reflect_check(ctx, cnt, &pkt) == XDP_DROP)
		return XDP_DROP;
	/* Fast path: this is no connection attempt and no block can drop it
	 * (blocks drop attempts only, or none may exist), so nothing below can
	 * change the verdict; skip the key work. */
	if (!attempt &&
	    (cfg->block_scope != SG_SCOPE_ALL || !sg_blocks_maybe))
		return sg_pass_other(cnt, cfg, &pkt);

	if (!attempt) { /* scope "all": its key and hash now */
		key = pkt.src;
		sg_mask_source(&key, pkt.family, cfg->v6_prefix_len);
		hash = sg_hash(&key);
	}

	if (sg_block_bit_test(hash)) {
		struct sg_block_cache_entry *ce = sg_block_cache_at(hash);
		__u32 epoch = sg_block_epoch; /* before the lookup: sg_block_cache_bpf.h */
		struct sg_block *b;

		if (ce && sg_block_cache_hit(ce, &key, SG_NOW(), epoch)) {
			ce->drops++;
			cnt->c[SG_CNT_DROPPED]++;
			return XDP_DROP;
		}
		b = bpf_map_lookup_elem(&sg_blocks, &key);
		if (b) {
			now = SG_NOW();
			if (now < b->expires_ns) {
				if (sg_block_verdict(cnt, b) == XDP_DROP) {
					if (ce)
						sg_block_cache_fill(ce, &key, b->expires_ns, epoch);
					return XDP_DROP;
				}
				/* Enforced elsewhere (nftables) or detect-only:
				 * the source is flagged, its attempts not recounted. */
				if (attempt)
					cnt->c[SG_CNT_SYN]++;
				return XDP_PASS;
			}
			bpf_map_delete_elem(&sg_blocks, &key);
			cnt->c[SG_CNT_BLOCKS_EXPIRED]++;
		}
	}

	if (!attempt)
		return sg_pass_other(cnt, cfg, &pkt);
	cnt->c[SG_CNT_SYN]++;
	if (!now)
		now = SG_NOW();

	i0 = sg_slot_first(hash, sg_slot_set_mask);
	i1 = i0 + 1;
	set = i0 / SG_SLOT_WAYS;
	w0 = bpf_map_lookup_elem(&sg_slots, &i0);
	w1 = bpf_map_lookup_elem(&sg_slots, &i1);
	tags = bpf_map_lookup_elem(&sg_tags, &set);
	if (!w0 || !w1 || !tags)
		return XDP_PASS; /* cannot happen: the mask fits the arrays */
	tag = sg_slot_tag(hash);
	tw = *tags;
	if (sg_tag_get(tw, 0) == tag && sg_slot_holds(w0, &key)) {
		slot = w0;
	} else if (sg_tag_get(tw, 1) == tag && sg_slot_holds(w1, &key)) {
		slot = w1;
	} else {
		slot = sg_admit(cnt, cfg, &key, hash, now, ctx->ingress_ifindex, w0, w1, tags,
				 tag);
		if (!slot)
			return XDP_PASS;
	}
	slot->last_ns = now ? now : 1;
	if (sg_syn_repeat(&slot->st, cfg, sg_syn_fp(&pkt))) {
		cnt->c[SG_CNT_RETRANS_EXCUSED]++;
		return XDP_PASS;
	}
	reason = sg_src_attempt(cnt, cfg, &slot->st, &key, now, pkt.dst_port);
	if (reason == SG_REASON_NONE) {
		if (sg_blocked_meanwhile(&slot->st, now))
			return sg_recheck_block(cnt, &key, now);
		return XDP_PASS;
	}
	return sg_cross(cnt, cfg, &slot->st, &key, hash, now, ctx->ingress_ifindex, reason);
}

/* sg_xdp, then what it passes: the challenge and the cookie paths. The entry
 * point's body, inlined into it (and into the benchmark wrappers of
 * bpf/bench/track.bpf.c). */
static __always_inline int sg_xdp_full(struct xdp_md *ctx)
{
	int verdict = sg_xdp(ctx);

	if (verdict != XDP_PASS)
		return verdict;
	/* A challenged source's SYNs and ACKs (sg_challenge.h). */
	if (sg_chal.live) {
		verdict = sg_chal_xdp(ctx);
		if (verdict == SG_CHAL_SYN4 || verdict == SG_CHAL_SYN6)
			return sg_chal_synack(ctx, verdict == SG_CHAL_SYN6);
		if (verdict != SG_CHAL_NONE)
			return verdict;
	}
	/* What the source checks pass, a cookie port may still answer. */
	return sg_cookie_xdp(ctx);
}

SEC("xdp")
int syn_guard_xdp(struct xdp_md *ctx)
{
	return sg_xdp_full(ctx);
}

/* Run by user space (BPF_PROG_TEST_RUN, never attached) to learn the offset
 * between the program's time base and CLOCK_MONOTONIC. */
SEC("xdp")
int sg_clock_probe(struct xdp_md *ctx)
{
	sg_probe_jiffies = bpf_jiffies64();
	sg_probe_ktime_ns = bpf_ktime_get_ns();
	return XDP_PASS;
}
