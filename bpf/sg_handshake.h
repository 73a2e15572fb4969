/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * sg_handshake.h — handshake-aware per-source counting, compiled by the XDP
 * program (through sg_handshake_bpf.h) and by the C++ core (Tracker), so
 * that replay answers as the kernel does.
 *
 * A source's attempts are counted in its slot's window (sg_track.h) as
 * before; its completed handshakes are counted apart, in a window of their
 * own (struct sg_window, the same arithmetic), credited by the handshake
 * tracepoint — off the packet path. Two thresholds:
 *
 *   attempts - completions > threshold       -> SG_REASON_HALF_OPEN
 *   attempts               > conn_threshold  -> SG_REASON_CONNECTIONS
 *
 * (both as window estimates). A NAT gateway whose users complete their
 * handshakes is judged by its half-open attempts; a source that never
 * completes is blocked at `threshold` as before; one that completes but
 * opens more than conn_threshold connections a window is blocked too.
 * conn_threshold = 0 turns it off: every attempt against `threshold`
 * (SG_REASON_ATTEMPTS), the design before it.
 *
 * Per-packet cost: none below `threshold` — the completion window is looked
 * up only by an attempt that already finds the source over it, and not at
 * all when the attempts alone are over conn_threshold.
 *
 * Estimates: both windows are two-bucket estimates (sg_window.h) with their
 * own phases, so attempts - completions carries both windows' errors
 * (bounded by their previous buckets; zero in a source's first window). An
 * attempt whose handshake is still in flight (one RTT) counts as half-open
 * until its ACK arrives: a source at r attempts/s has about r * RTT such.
 * A completion is credited when it happens, so an attempt made at the end
 * of a window and completed in the next still cancels out while both are
 * in the window; a handshake completed long after its SYN (the server keeps
 * a request for ~1 min) credits the window it completes in — at most one
 * window's worth of credit moved later, never credit without a handshake.
 */
#ifndef SG_HANDSHAKE_H
#define SG_HANDSHAKE_H

#include "sg_parse.h"
#include "sg_window.h"

/* Which threshold an attempt crossed (sg_event.reason). */
enum sg_reason {
	SG_REASON_NONE = 0,        /* not crossed (or an event before this field) */
	SG_REASON_ATTEMPTS = 1,    /* all attempts over threshold (conn_threshold 0) */
	SG_REASON_HALF_OPEN = 2,   /* attempts - completions over threshold */
	SG_REASON_CONNECTIONS = 3, /* attempts over conn_threshold */
};

/* est * window of a window that is only read (no attempt recorded now): its
 * buckets as sg_window_record would have moved them by `now`. */
SG_INLINE __u64 sg_window_scaled_idle(const struct sg_window *w, __u64 now, __u64 window)
{
	__u64 start = w->cur_start_ns;
	__u64 elapsed = now > start ? now - start : 0;

	if (start == 0 || elapsed >= 2 * window)
		return 0;
	if (elapsed >= window) /* the current bucket is the previous one now */
		return (__u64)w->cur_count * (2 * window - elapsed);
	return (__u64)w->cur_count * window + (__u64)w->prev_count * (window - elapsed);
}

/* An attempt at position `pos` that took the source's attempts over
 * threshold: is it over conn_threshold too? (No completion window needed.) */
SG_INLINE int sg_over_connections(const struct sg_window *att, __u32 pos, __u64 now,
				  const struct sg_config *cfg)
{
	return sg_window_scaled_at(att, pos, now, cfg->window_ns) >
	       (__u64)cfg->conn_threshold * cfg->window_ns;
}

/* Half-open attempts (attempts - completions, as window estimates, never
 * below 0) times the window. `done` is the source's completion window, NULL
 * when it has none. */
SG_INLINE __u64 sg_half_open_scaled(const struct sg_window *att, __u32 pos,
				    const struct sg_window *done, __u64 now, __u64 window)
{
	__u64 a = sg_window_scaled_at(att, pos, now, window);
	__u64 d = done ? sg_window_scaled_idle(done, now, window) : 0;

	return a > d ? a - d : 0;
}

/* The reason an attempt over `threshold` crosses, once sg_over_connections
 * said no: SG_REASON_HALF_OPEN, or SG_REASON_NONE when its completions
 * cover it (the caller passes it, counted in HALF_OPEN_CREDITED). */
SG_INLINE __u32 sg_half_open_reason(const struct sg_window *att, __u32 pos,
				    const struct sg_window *done, __u64 now,
				    const struct sg_config *cfg)
{
	return sg_half_open_scaled(att, pos, done, now, cfg->window_ns) >
			       (__u64)cfg->threshold * cfg->window_ns
		       ? SG_REASON_HALF_OPEN
		       : SG_REASON_NONE;
}

/* Mark a planned block (sg_block_plan) with the threshold it crossed; a
 * half-open block reports its half-open estimate as its count. */
SG_INLINE void sg_block_reason(struct sg_block *b, __u32 reason, const struct sg_window *att,
			       const struct sg_window *done, __u64 now, __u64 window)
{
	if (reason == SG_REASON_HALF_OPEN) {
		b->flags |= SG_BLK_HALF_OPEN;
		if (window)
			b->count = (__u32)(sg_half_open_scaled(att, att->cur_count, done, now,
							       window) / window);
	} else if (reason == SG_REASON_CONNECTIONS) {
		b->flags |= SG_BLK_CONNECTIONS;
	}
}

/* The source key a completion is credited to: the client's address
 * (IPv4-mapped for IPv4, also on a dual-stack socket) masked as the XDP
 * program masks sources (IPv6 to v6_prefix_len; an IPv4-mapped one never). */
SG_INLINE void sg_completion_key(struct sg_addr *a, __u8 v6_prefix_len)
{
	__u64 hi;

	__builtin_memcpy(&hi, &a->b[0], 8);
	if (hi == 0 && a->b[8] == 0 && a->b[9] == 0 && a->b[10] == 0xff && a->b[11] == 0xff)
		return; /* ::ffff:a.b.c.d */
	sg_mask_source(a, 6, v6_prefix_len);
}

#endif /* SG_HANDSHAKE_H */
