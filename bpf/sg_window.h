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

/*
 * Concurrency: one source's attempts may be counted on several CPUs at once
 * (RSS spreads its SYNs over queues). The count is an atomic add whose result
 * each attempt keeps as its own position, so no increment is lost and
 * exactly one attempt sees each count. Moving the buckets forward is won by
 * one CPU with a compare-exchange on cur_start_ns; the winner then takes the
 * old count with an atomic exchange. An attempt counted between the two
 * lands in the older bucket (counted as prev: the estimate can lag by the
 * attempts of that instant, once per window).
 */

/* Count one attempt at `now`; returns the source's count in the current
 * bucket including it (its position). */
SG_INLINE __u32 sg_window_record(struct sg_window *w, __u64 now, __u64 window)
{
	__u64 start = *(volatile __u64 *)&w->cur_start_ns;

	if (start == 0) {
		if (__sync_val_compare_and_swap(&w->cur_start_ns, 0, now ? now : 1) == 0) {
			__sync_lock_test_and_set(&w->cur_count, 0);
			w->prev_count = 0;
		}
	} else if (now > start && now - start >= window) {
		__u64 elapsed = now - start;
		__u64 next = elapsed < 2 * window ? start + window : now;

		if (__sync_val_compare_and_swap(&w->cur_start_ns, start, next) == start) {
			__u32 cur = __sync_lock_test_and_set(&w->cur_count, 0);

			w->prev_count = elapsed < 2 * window ? cur : 0;
		}
	}
	/* Saturates near SG_COUNT_MAX (over by at most one per racing CPU). */
	if (*(volatile __u32 *)&w->cur_count >= SG_COUNT_MAX)
		return SG_COUNT_MAX;
	return __sync_fetch_and_add(&w->cur_count, 1) + 1;
}

/* est * window for a current count of `cur` (an attempt's position from
 * sg_window_record, or w->cur_count). */
SG_INLINE __u64 sg_window_scaled_at(const struct sg_window *w, __u32 cur, __u64 now,
				    __u64 window)
{
	__u64 start = w->cur_start_ns;
	__u64 elapsed = now > start ? now - start : 0;
	__u64 weight = elapsed < window ? window - elapsed : 0;

	return (__u64)cur * window + (__u64)w->prev_count * weight;
}

/* est * window as the counters stand. */
SG_INLINE __u64 sg_window_scaled(const struct sg_window *w, __u64 now, __u64 window)
{
	return sg_window_scaled_at(w, w->cur_count, now, window);
}

/* Attempts in the window, rounded down (for reports). */
SG_INLINE __u32 sg_window_estimate(const struct sg_window *w, __u64 now, __u64 window)
{
	return window ? (__u32)(sg_window_scaled(w, now, window) / window) : 0;
}

/* Where the span the estimate covers starts (for the observed rate, the
 * estimate over now - start): with the previous bucket empty (a source's
 * first window, or after an idle gap of two windows) every attempt counted
 * came since cur_start_ns, which is then the first one's time (or a bucket
 * start before it: the rate errs low); otherwise the estimate spans the whole
 * window. */
SG_INLINE __u64 sg_window_span_start(const struct sg_window *w, __u64 now, __u64 window)
{
	__u64 start = w->cur_start_ns;

	if (w->prev_count == 0 && start != 0 && start <= now)
		return start;
	return now > window ? now - window : 0;
}

/* True when the attempt at position `cur` takes the window over `threshold`. */
SG_INLINE int sg_window_over(const struct sg_window *w, __u32 cur, __u64 now, __u64 window,
			     __u32 threshold)
{
	return sg_window_scaled_at(w, cur, now, window) > (__u64)threshold * window;
}

#endif /* SG_WINDOW_H */
