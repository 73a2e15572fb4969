/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * sg_shared.h — every data layout shared by the XDP program (bpf/) and user
 * space (src/). Written once, here, in plain C with fixed-width types and
 * explicit padding; the C++ side checks the sizes with static_assert
 * (src/linux/bpf_layout.h).
 *
 * Addresses: every source is kept as 16 bytes. IPv4 is stored IPv4-mapped
 * (::ffff:a.b.c.d, RFC 4291 §2.5.5.2), so one key type, one LPM trie and one
 * hash serve both families; an IPv6 source is masked to the configured prefix
 * (default /64) before it is counted or blocked.
 */
#ifndef SG_SHARED_H
#define SG_SHARED_H

#ifdef _WIN32
/* The Windows agent (src/win/) compiles these layouts and the window
 * arithmetic too; mingw-w64 has no <linux/types.h>. */
#include <stdint.h>
typedef uint8_t __u8;
typedef uint16_t __u16;
typedef uint32_t __u32;
typedef uint64_t __u64;
typedef int16_t __s16;
#else
#include <linux/types.h>
#endif

#define SG_XDP_PROG_NAME "syn_guard_xdp" /* how a stale program is recognised */

/* ---- keys ---------------------------------------------------------------- */

struct sg_addr {
	__u8 b[16]; /* network order; IPv4 as ::ffff:a.b.c.d */
};

/* Key of the allowlist LPM trie (sg_allow). prefixlen counts bits of addr; an IPv4
 * CIDR a.b.c.d/n is stored as ::ffff:a.b.c.d/(96+n). */
struct sg_lpm_key {
	__u32 prefixlen;
	struct sg_addr addr;
};

/* The secret of sg_addr_hash (sg_track.h): 128 random bits drawn at load
 * (the program's sg_hash_key knob); replay and tests pass their own. */
struct sg_hash_key {
	__u64 k0;
	__u64 k1;
};

/* ---- per-source state (set-associative slot array, size fixed at load) ---- */

/* Two-bucket sliding window; arithmetic in sg_window.h. */
struct sg_window {
	__u64 cur_start_ns; /* start of the current bucket; 0 = never seen */
	__u32 cur_count;    /* attempts in the current bucket (saturating) */
	__u32 prev_count;   /* attempts in the bucket before it */
};

struct sg_source {
	struct sg_window win;   /* 16 */
	__u64 last_block_end_ns; /* when this source's last block ends/ended; 0 =
	                          * never (its offence history is in sg_offenders) */
	__u16 top_port;          /* most targeted destination port (majority vote) */
	__u16 top_votes;         /* its vote count */
	__u8 flags;              /* SG_SRC_* */
	__u8 pad[3];
	__u64 recent_syns;       /* its last SG_RECENT_SYNS SYNs' fingerprints and
	                          * the repeats excused this bucket (sg_syn_repeat
	                          * in sg_track.h); one word, compare-exchanged */
};

/* A recent offender's history (sg_offenders: an LRU hash keyed by source,
 * sized at load, written only when a block is made). Apart from the slot, so
 * that a blocked source whose slot is evicted while it sits out its block
 * still escalates when it offends again. */
struct sg_offence {
	__u64 last_block_end_ns; /* when its last block ends/ended */
	__u8 offences;           /* blocks within the repeat memory, for escalation */
	__u8 pad[7];
};

#define SG_SRC_ALLOWED 0x01 /* on the allowlist: counted, never blocked */

/* One slot of sg_slots: one 64-byte cache line. The array holds a power of two
 * of slots; a key's set is SG_SLOT_WAYS adjacent slots chosen by its hash
 * (sg_slot_first() in sg_track.h). A hit is a filled slot with the key; a new
 * source fills an empty way, else replaces the way seen least recently
 * (sg_slot_victim()). A filled slot never empties. */
#define SG_SLOT_WAYS 2
/* last_ns of a way one CPU is filling (sg_admit's claim); never a time. */
#define SG_SLOT_CLAIMED (~0ull)

/* Slot tags: one __u64 per set holding a 16-bit fingerprint of each way's key
 * (bits 0..15: way 0, 16..31: way 1; 0 = empty), in an array 1/16 the size of
 * the slots. A source is looked for in a slot only when the tag matches, so
 * the miss of a new (spoofed) source reads 8 bytes of a small, cache-resident
 * table instead of two cold 64-byte slots. Kernel only: an acceleration that
 * changes no answer (the Tracker has no tags and agrees, tests/bpf). */
#define SG_TAG_BITS 16

struct sg_slot {
	struct sg_addr key;  /* masked source */
	struct sg_source st; /* its state (40 bytes) */
	__u64 last_ns;       /* its last attempt (never 0 once filled); 0 = empty */
};

/* ---- blocks (hash, not LRU: a flood can never evict a block) --------------- */

struct sg_block {
	__u64 added_ns;   /* program time base: jiffies * ns_per_jiffy (see
	                   * XdpSensor::kernelNowNs()); resolution one jiffy */
	__u64 expires_ns; /* block ends when now >= expires_ns */
	__u64 drops;      /* packets dropped for it (approximate: racy add) */
	__u32 count;      /* attempts in the window when it was flagged */
	__u16 dst_port;   /* most targeted port at that moment */
	__u8 level;       /* repeat-offender level: duration = base << level */
	__u8 flags;       /* SG_BLK_* */
};

#define SG_BLK_XDP_DROP 0x01 /* the XDP program drops this source */
#define SG_BLK_MANUAL 0x02   /* added by an operator, not by the detector */
#define SG_BLK_HANDED_OFF 0x04 /* nftables holds it now; XDP stops dropping */
#define SG_BLK_CHALLENGE 0x08  /* a challenge, not a drop (bpf/sg_challenge.h) */
/* Which threshold a detector block crossed (bpf/sg_handshake.h); neither bit:
 * handshake-aware counting off (all attempts against the threshold). */
#define SG_BLK_HALF_OPEN 0x10   /* half-open attempts over flood_threshold */
#define SG_BLK_CONNECTIONS 0x20 /* attempts over connection_threshold */

/* ---- block cache (sg_block_cache; bpf/sg_block_cache_bpf.h) ----------------- */

/* One entry of the block cache: a direct-mapped ARRAY indexed by the key's
 * hash (sg_block_cache_index() in sg_track.h) that lets a packet of a blocked
 * source be dropped without the sg_blocks hash lookup (a helper call). It
 * says "key was blocked, dropping in XDP, until expires_ns, as of block epoch
 * `epoch`": valid only while epoch equals the program's sg_block_epoch,
 * which user space bumps after every change to sg_blocks that could end or
 * soften a block before its expiry (unblock, hand-off, a replaced block).
 * It only ever adds drops a lookup would make; it never passes a packet.
 * `seq` is odd while a CPU rewrites the entry (readers retry or miss).
 * `drops` counts the packets dropped through the entry for that block; user
 * space adds it to the block's own count (XdpSensor::listBlocks). */
struct sg_block_cache_entry {
	struct sg_addr key;
	__u64 expires_ns; /* the cached block's expiry */
	__u64 drops;      /* packets dropped through this entry (approximate: racy add) */
	__u32 seq;        /* odd while being written */
	__u32 epoch;      /* sg_block_epoch when filled; 0 = empty */
};

/* ---- prefix blocks (Block Globally of a prefix; bpf/sg_prefix.h) ----------- */

/* Key of the IPv4 prefix-block trie (sg_prefix4): prefixlen 1..31 over the
 * 4-byte address. IPv6 prefix blocks use struct sg_lpm_key over the raw
 * (unmasked) source, prefixlen 1..(counting prefix - 1). Address-length
 * prefixes are per-source blocks (sg_blocks), never in these tries. */
struct sg_lpm4_key {
	__u32 prefixlen;
	__u8 addr[4]; /* network order */
};

/* One prefix block. Only user space inserts and deletes them (the agent's
 * BlockBook): the kernel ignores an expired one until the sweep removes it. */
struct sg_prefix_block {
	__u64 added_ns;   /* program time base, as sg_block.added_ns */
	__u64 expires_ns; /* ends when now >= expires_ns; ~0 = permanent */
	__u64 drops;      /* packets dropped for it (approximate: racy add) */
	__u8 flags;       /* SG_BLK_* (XDP_DROP, MANUAL, HANDED_OFF), SG_PFX_ALLOW_CHECK */
	__u8 pad[7];
};

/* An allowlist entry overlaps this prefix: a hit is looked up in sg_allow
 * before it drops (the allowlist wins). Kept by XdpSensor from the allowlist
 * it wrote; without it a hit drops at once. */
#define SG_PFX_ALLOW_CHECK 0x80
/* Made by a port-flood response (not an operator): verified sources pass it
 * (bpf/sg_verified.h). */
#define SG_PFX_FLOOD 0x40

/* sg_prefix_maybe (a global of the program): which tries may hold a block.
 * Zero: no packet pays a trie lookup. Set by user space after an insert,
 * cleared by it when that trie is empty. */
#define SG_PREFIX_V4 0x1u
#define SG_PREFIX_V6 0x2u

/* Block prefilter: a bitmap with a bit set for every key that may be blocked
 * (bit index from the keyed sg_addr_hash, sg_block_bit() in sg_track.h). The program
 * looks sg_blocks up only when the bit is set. Set by whoever inserts a block
 * (kernel or user space), never cleared by the kernel; user space rebuilds it
 * from the block map (XdpSensor, xdp_sensor_blocks.cpp). A stale bit costs one
 * hash lookup; a missing bit would let a blocked source through. */
/* 2^20 bits (128 KiB): with a full block map (16,384 blocks) 1.6 % of the bits
 * are set, so an unblocked source pays the lookup 1 time in 64 (2^15 bits:
 * 39 %, measured with bench/xdp_cost_bench). */
#define SG_BLOCK_BITS_LOG2 20
#define SG_BLOCK_BITS (1u << SG_BLOCK_BITS_LOG2)
#define SG_BLOCK_WORDS (SG_BLOCK_BITS / 64)

/* ---- run-time configuration (array map, one entry; no reload to change) --- */

enum sg_enforce_mode {
	SG_ENFORCE_NONE = 0,     /* detect and report only */
	SG_ENFORCE_XDP = 1,      /* XDP drops until the block expires */
	SG_ENFORCE_HANDOFF = 2,  /* XDP drops until user space hands the block
	                          * to nftables (sets SG_BLK_HANDED_OFF) */
};

/* What a block drops. ATTEMPTS (the default): the source's connection
 * attempts (SYN without ACK/RST) only, so that 201 SYNs forged in a
 * gateway's name cannot cut its established connections; its other packets
 * are not even looked up. ALL: every packet of the source. */
enum sg_block_scope {
	SG_SCOPE_ATTEMPTS = 0,
	SG_SCOPE_ALL = 1,
};

struct sg_config {
	__u64 window_ns;       /* sliding window length */
	__u64 block_ns;        /* base block duration */
	__u64 repeat_memory_ns;/* offences older than this are forgotten */
	__u32 threshold;       /* flagged when attempts in window > threshold */
	__u32 events_per_sec;  /* ring-buffer budget per CPU per ~1 s epoch */
	__u32 admit_per_sec;   /* new exact-state sources per CPU per epoch before
	                        * the sketch gates admission (spoofing pressure) */
	__u32 admit_min;       /* sketch estimate above its noise floor needed to
	                        * get exact state while gated */
	__u8 enforce;          /* enum sg_enforce_mode */
	__u8 v6_prefix_len;    /* 1..128: IPv6 sources counted per this prefix */
	__u8 max_level;        /* repeat offences double the block up to 2^max_level */
	__u8 enabled;          /* 0: pass everything untouched (config not set) */
	__u8 block_scope;      /* enum sg_block_scope: what a block drops */
	__u8 source_response;  /* enum sg_source_response (sg_challenge.h): a
	                        * half-open crossing is blocked or challenged */
	__u8 pad[2];
	__u32 conn_threshold;  /* handshake-aware counting (sg_handshake.h): flagged
	                        * when attempts in window > conn_threshold, or
	                        * attempts - completions > threshold; 0 = off
	                        * (every attempt against threshold) */
	__u8 pad2[4];
};

/* ---- events (ring buffer; rate-limited in the kernel) ---------------------- */

enum sg_event_type {
	SG_EV_BLOCK_ADDED = 1, /* a source crossed the threshold and is blocked */
	SG_EV_FLAGGED = 2,     /* crossed the threshold, detect-only mode */
	SG_EV_PRESSURE = 3,    /* this CPU started gating admission (spoofing) */
	SG_EV_CHALLENGED = 4,  /* crossed, challenged instead of blocked (sg_challenge.h) */
};

struct sg_event {
	__u64 ts_ns;        /* program time base (as sg_block.added_ns) */
	__u64 block_ns;     /* block duration (FLAGGED: how long the source stays
	                     * flagged, uncounted; PRESSURE: 0) */
	struct sg_addr src; /* masked source */
	__u32 type;         /* enum sg_event_type */
	__u32 count;        /* attempts in window (PRESSURE: new sources this epoch) */
	__u32 ifindex;      /* interface that saw it */
	__u16 dst_port;     /* most targeted port */
	__u8 level;         /* repeat-offender level */
	__u8 reason;        /* BLOCK_ADDED/FLAGGED: enum sg_reason (sg_handshake.h) */
	__u64 mono_ns;      /* CLOCK_MONOTONIC at emission (fine clock, read on
	                     * this rare path only): detection-to-enforcement
	                     * latency is measured against it */
	__u64 first_ns;     /* BLOCK_ADDED/FLAGGED: program time the span `count`
	                     * was counted over starts (sg_window_span_start):
	                     * count / (ts_ns - first_ns) is the observed rate;
	                     * PRESSURE: 0 */
};

/* ---- counters: declared once; generates the BPF enum, C++ names, metrics --- */

/* X(ENUM_NAME, "metric_name", "help text") */
#define SG_COUNTERS(X)                                                              \
	X(PACKETS, "packets_seen_total", "Packets inspected by the XDP program")         \
	X(NON_IP, "non_ip_total", "Frames that are neither IPv4 nor IPv6")               \
	X(MALFORMED, "malformed_total", "Truncated or inconsistent frames (passed on)") \
	X(FRAGMENTS, "fragments_total", "Non-first IP fragments (no TCP header)")       \
	X(SYN, "attempts_total", "Inbound connection attempts (SYN without ACK)")       \
	X(DROPPED, "dropped_total", "Packets dropped from blocked sources (by XDP, plus the nftables drop counter after a hand-off)") \
	X(BLOCKS_ADDED, "blocks_added_total", "Blocks added by the kernel detector")    \
	X(FLAGGED, "flagged_total", "Threshold crossings (all modes)")                  \
	X(BLOCKS_EXPIRED, "blocks_expired_kernel_total", "Blocks the kernel found expired") \
	X(BLOCK_MAP_FULL, "block_map_full_total", "Blocks that could not be stored (map full)") \
	X(ALLOWLISTED, "allowlisted_total", "Threshold crossings by allowlisted sources") \
	X(SOURCES_NEW, "sources_admitted_total", "Sources given exact per-source state") \
	X(SKETCH_GATED, "sketch_gated_total", "Attempts kept in the sketch only (pressure)") \
	X(EVENTS_SENT, "events_sent_total", "Events written to the ring buffer")         \
	X(EVENTS_LOST, "events_lost_total", "Events lost: ring buffer full")             \
	X(EVENTS_SUPPRESSED, "events_suppressed_total", "Events over the per-CPU budget") \
	X(SLOTS_FILLED, "source_slots_filled_total", "Per-source slots filled (never emptied): sources tracked") \
	X(TINY_FRAGMENTS, "tiny_fragments_total", "TCP fragments that could hide a SYN (RFC 1858/3128: first fragment under 20 TCP bytes, or offset 1); dropped unless detect-only") \
	X(LONG_CHAINS, "ipv6_long_chains_total", "IPv6 extension-header chains longer than the parser walks; dropped unless detect-only") \
	X(RETRANS_EXCUSED, "retransmits_excused_total", "Retransmitted SYNs (same ports and sequence number as a recent one) not counted again, within the repeat allowance") \
	X(PREFIX_DROPPED, "prefix_dropped_total", "Packets dropped by prefix blocks (also in dropped_total)") \
	X(PREFIX_ALLOWLISTED, "prefix_allowlisted_total", "Packets inside a blocked prefix passed because their source is on the allowlist") \
	X(DST_UNTRACKED, "dst_untracked_total", "Attempts at a destination (address, port) the destination table had no free way for (both ways of its set busy)") \
	X(HANDSHAKES, "handshakes_completed_total", "Handshakes completed by this host's listeners (SYN_RECV to ESTABLISHED, in the agent's network namespace)") \
	X(COOKIE_SYNACKS, "syncookie_synacks_total", "SYNs to a port with SYN cookies on answered by XDP with a cookie SYN-ACK (bpf/sg_syncookie.h)") \
	X(COOKIE_ACKS_VALID, "syncookie_acks_valid_total", "ACKs to a cookie port whose cookie checked out, passed to the kernel's SYNPROXY") \
	X(COOKIE_ACKS_DROPPED, "syncookie_acks_dropped_total", "ACKs to a cookie port with no conntrack entry and no valid cookie, dropped (also in dropped_total)") \
	X(COOKIE_TRACKED, "syncookie_tracked_passed_total", "Packets to a cookie port passed because conntrack knows their connection") \
	X(COOKIE_UNHANDLED, "syncookie_unhandled_total", "Packets to a cookie port left to the kernel's SYNPROXY (no tailroom, helper or conntrack errors)") \
	X(SIG_MATCHED, "signature_matched_total", "SYNs to a flooded port matching its flood's signature (bpf/sg_sig.h): dropped (also in dropped_total) unless detect-only") \
	X(SRC_COMPLETIONS, "source_completions_total", "Completed handshakes credited to their (masked) source for handshake-aware counting") \
	X(HALF_OPEN_CREDITED, "attempts_credited_total", "Attempts over flood_threshold passed because the source's completed handshakes cover them (handshake-aware counting)") \
	X(FLAGGED_HALF_OPEN, "flagged_half_open_total", "Threshold crossings by half-open attempts (attempts - completions > flood_threshold)") \
	X(FLAGGED_CONNECTIONS, "flagged_connections_total", "Threshold crossings by connections (attempts > connection_threshold)") \
	X(NOT_LOCAL, "not_local_total", "SYNs and cookie-port packets to a destination that is not this host's (forwarded traffic): not counted per destination, not answered with cookies") \
	X(VERIFIED_ADDED, "verified_handshakes_total", "Completed handshakes that (re)verified their peer (bpf/sg_verified.h)") \
	X(VERIFIED_PASSED, "verified_passed_total", "Packets from verified sources passed past a port-flood response (its prefix block, SYN cookies, signature drop)") \
	X(SYNACK_MATCHED, "synacks_matched_total", "Inbound SYN-ACKs for a connection of ours (a socket in SYN_SENT or ESTABLISHED; bpf/sg_reflect.h)") \
	X(SYNACK_UNMATCHED, "synacks_unmatched_total", "Inbound SYN-ACKs for no connection of ours (reflection)") \
	X(REFLECT_DROPPED, "reflection_dropped_total", "Unmatched SYN-ACKs dropped while a reflection was on (also in dropped_total)") \
	X(ADMIT_RACE, "admit_races_lost_total", "Attempts passed uncounted: a new source's slot was being filled by another CPU that did not finish within the bounded wait (first SYNs of one source on two queues at once)") \
	X(SYNACK_CT_MATCHED, "synacks_conntrack_matched_total", "Inbound SYN-ACKs with no socket here but a conntrack entry (a container behind NAT, a forwarded connection): passed, not counted as unmatched (bpf/sg_reflect.h)") \
	X(REFLECT_UNCHECKED, "reflection_unchecked_total", "Unmatched SYN-ACKs from a detected reflector passed, not dropped, because they cannot be told from a NATed or forwarded connection's: the kernel lacks the conntrack kfuncs, or the host's address list is not in the XDP program (more than 1,024 addresses, or a failed write)") \
	X(VERIFIED_CAPPED, "verified_capped_total", "Completed handshakes not verified: their /48 (IPv6) or /24 (IPv4) already had verified_per_prefix new verified addresses in this TTL window (bpf/sg_verified.h)") \
	X(SYNACK_NOT_LOCAL, "synacks_not_local_total", "Inbound SYN-ACKs to an address that is not this host's (forwarded or bridged to another host): passed before any lookup, never counted as unmatched nor dropped (bpf/sg_reflect.h)") \
	X(CHAL_ADDED, "challenges_added_total", "Sources over the half-open threshold challenged instead of blocked (source_response challenge; bpf/sg_challenge.h)") \
	X(CHAL_FALLBACK, "challenges_fallback_total", "Crossings blocked although source_response is challenge: the kernel lacks the conntrack kfuncs") \
	X(CHAL_SYNACKS, "challenge_synacks_total", "SYNs of challenged sources answered by XDP with a cookie SYN-ACK (also in syncookie_synacks_total)") \
	X(CHAL_ACKS_VALID, "challenge_acks_valid_total", "Completions of challenged sources: segments with ACK whose cookie checked out, counted once per flow, passed to SYNPROXY") \
	X(CHAL_ACKS_DROPPED, "challenge_acks_dropped_total", "Segments with ACK of challenged sources with no conntrack entry and no valid cookie, dropped (also in dropped_total)") \
	X(CHAL_BLOCKED, "challenges_blocked_total", "Challenged sources blocked for real: their completed cookies passed the connection threshold") \
	X(VERIFIED_CAPPED_64, "verified_capped_slash64_total", "Completed handshakes not verified: their IPv6 /64 already had its share (a 16th of verified_per_prefix) of new verified addresses in this TTL window (bpf/sg_verified.h)") \
	X(VERIFIED_CAPPED_AGG, "verified_capped_aggregate_total", "Completed handshakes not verified: their IPv6 /32 or IPv4 /16 already had its share (a 16th of the table's) of new verified addresses in this TTL window (bpf/sg_verified.h)") \
	X(VERIFIED_CAPPED_TABLE, "verified_capped_table_total", "Completed handshakes not verified: the table already took max_verified / 2 new addresses in this TTL window (bpf/sg_verified.h)") \
	X(CHAL_SHAPE_DROPPED, "challenge_shape_dropped_total", "TCP packets of challenged sources in a shape the cookie judge does not read (IPv4 options or fragments, IPv6 extension headers), dropped: SYNPROXY would take them uncounted (also in dropped_total)")

enum sg_counter {
#define SG_COUNTER_ENUM(name, metric, help) SG_CNT_##name,
	SG_COUNTERS(SG_COUNTER_ENUM)
#undef SG_COUNTER_ENUM
	SG_CNT__MAX
};

struct sg_counters {
	__u64 c[SG_CNT__MAX];
};

/* Per-CPU epoch bookkeeping for the rate limits (one ~1.07 s epoch = 2^30 ns). */
#define SG_EPOCH_SHIFT 30

struct sg_cpu_epoch {
	__u64 epoch;      /* now >> SG_EPOCH_SHIFT */
	__u32 events;     /* events sent this epoch */
	__u32 admitted;   /* sources admitted this epoch */
	__u32 sketched;   /* sketch updates this epoch not yet added to the
	                   * shared count (< SG_SKETCH_BATCH, sg_track.h) */
	__u32 pressure;   /* 1 once admitted > admit_per_sec this epoch */
};

/* Count-min sketch of attempts by sources without exact state, blocked by
 * cache line: the SG_SKETCH_DEPTH counters of a key are distinct cells of ONE
 * 64-byte line (line and cells chosen by parts of sg_addr_hash), so an update
 * costs one cache miss, not one per row. A cell is a 16-bit epoch tag (low
 * bits of the epoch) over a 16-bit saturating count: cells of another epoch
 * count as empty, so the sketch resets itself without user space. */
#define SG_SKETCH_LINES_LOG2 13
#define SG_SKETCH_LINES (1u << SG_SKETCH_LINES_LOG2) /* 8192 lines = 512 KiB */
#define SG_SKETCH_CELLS 16                           /* u32 cells per line */
#define SG_SKETCH_DEPTH 4                            /* cells per key */
/* Mean load of a cell after n updates is at most n * DEPTH / (LINES * CELLS)
 * = n >> SG_SKETCH_FLOOR_SHIFT (the noise floor of sg_sketch_admits). */
#define SG_SKETCH_FLOOR_SHIFT (SG_SKETCH_LINES_LOG2 + 2)

struct sg_sketch_line {
	__u32 cell[SG_SKETCH_CELLS]; /* epoch tag << 16 | count */
};

/* ---- verified sources and SYN-ACK reflection (bpf/sg_verified.h, sg_reflect.h) */

/* Verified sources' knobs: sg_verified_cfg, a global in .data.verified that
 * user space writes through the skeleton's mmap. */
struct sg_verified_params {
	__u64 ttl_ns; /* a handshake verifies its source this long */
	__u32 on;     /* 0: nothing is recorded, nobody passes as verified */
	__u32 per_prefix; /* new verified addresses per /48 (IPv6) or /24
			   * (IPv4) per TTL window; 0: no cap (nor the three
			   * below) */
	__u32 per_64;     /* of those, per /64 (IPv6); 0: no cap */
	__u32 per_agg;    /* per /32 (IPv6) or /16 (IPv4) per TTL window (the
			   * loader: a 16th of per_ttl); 0: no cap */
	__u32 per_ttl;    /* in all per TTL window (the loader: half the
			   * table); 0: no cap */
	__u32 pad;
};

/* Reflection's knobs: sg_reflect, a global in .data.reflect (as above). */
struct sg_reflect_params {
	__u32 on;   /* look SYN-ACKs up and count them; 0: the path is skipped */
	__u32 drop; /* drop the unmatched ones from the listed reflectors
		     * (sg_reflect_drops; a reflection is on) */
};

/* Entries of sg_reflect_drops: the reflectors dropped while a reflection
 * lasts (user space lists the busiest first). */
#define SG_REFLECT_DROPS_MAX 4096

/* Key of sg_reflectors and sg_reflect_drops: a reflecting source (unmasked)
 * and its port. */
struct sg_reflector_key {
	struct sg_addr src;
	__u16 port; /* host order */
	__u8 pad[2];
};

#endif /* SG_SHARED_H */
