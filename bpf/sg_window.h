/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * sg_window.h — the sliding-window arithmetic, one definition compiled by the
 * XDP program and by the C++ core (src/core/tracker.*), so that replay and the
 * unit tests answer exactly as the kernel does.
 *
 * Two-bucket weighted counter. A source's buckets start at its first attempt
 * and advance by `window`. The estimate of attempts in the last `window` is
 *
 *     est = cur + prev * (window - elapsed) / window
 *
 * where elapsed = now - cur_start. Error, against the true count:
 *     est - true  ∈  [ -prev * elapsed / window ,  prev * (window - elapsed) / window ]
 * so it is bounded by the previous bucket's count, zero when the previous
 * bucket is empty (always so in a source's first window, and after any idle
 * gap of 2 windows) and zero on average for a steady rate.
 *
 * Integer bounds: counts saturate at SG_COUNT_MAX (2^20), windows are at most
 * SG_WINDOW_MAX_NS (1 h < 2^42 ns), so every product fits in 63 bits and the
 * comparison needs no division.
 */
#ifndef SG_WINDOW_H
#define SG_WINDOW_H

#include "sg_shared.h"

#ifndef SG_INLINE
#define SG_INLINE static inline __attribute__((always_inline))
#endif

#define SG_COUNT_MAX (1u << 20)
#define SG_THRESHOLD_MAX 1000000u
#define SG_WINDOW_MAX_NS (3600ull * 1000000000ull)

/* Move the buckets forward to `now`. */
SG_INLINE void sg_window_advance(struct sg_window *w, __u64 now, __u64 window)
{
	__u64 elapsed;

	if (w->cur_start_ns == 0 || now < w->cur_start_ns) {
		w->cur_start_ns = now ? now : 1;
		w->cur_count = 0;
		w->prev_count = 0;
		return;
	}
	elapsed = now - w->cur_start_ns;
	if (elapsed < window)
		return;
	if (elapsed < 2 * window) {
		w->prev_count = w->cur_count;
		w->cur_start_ns += window;
	} else {
		w->prev_count = 0;
		w->cur_start_ns = now;
	}
	w->cur_count = 0;
}

/* Count one attempt at `now`. */
SG_INLINE void sg_window_record(struct sg_window *w, __u64 now, __u64 window)
{
	sg_window_advance(w, now, window);
	if (w->cur_count < SG_COUNT_MAX)
		w->cur_count++;
}

/* est * window, valid right after sg_window_advance(now). */
SG_INLINE __u64 sg_window_scaled(const struct sg_window *w, __u64 now, __u64 window)
{
	__u64 elapsed = now - w->cur_start_ns;
	__u64 weight = elapsed < window ? window - elapsed : 0;

	return (__u64)w->cur_count * window + (__u64)w->prev_count * weight;
}

/* Attempts in the window, rounded down (for reports). */
SG_INLINE __u32 sg_window_estimate(const struct sg_window *w, __u64 now, __u64 window)
{
	return window ? (__u32)(sg_window_scaled(w, now, window) / window) : 0;
}

/* True when the attempts in the window exceed `threshold`. */
SG_INLINE int sg_window_over(const struct sg_window *w, __u64 now, __u64 window,
			     __u32 threshold)
{
	return sg_window_scaled(w, now, window) > (__u64)threshold * window;
}

#endif /* SG_WINDOW_H */
