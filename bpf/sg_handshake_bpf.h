/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * sg_handshake_bpf.h — the kernel side of handshake-aware per-source
 * counting (arithmetic in sg_handshake.h): the completion windows, the
 * tracepoint's credit and the XDP judgement of an attempt over the
 * threshold. Included by syn_guard.bpf.c only (before sg_dst_bpf.h, whose
 * tracepoint calls sg_src_completed).
 *
 * sg_src_done: an LRU hash, masked source -> completion window, written only
 * by the tracepoint (a completion needs a real handshake: a spoofed flood
 * cannot write it) and read only by an attempt that finds its source over
 * the threshold. LRU, because only a source that completes often matters —
 * one busy enough to be near a threshold — and such a source is exactly what
 * an LRU keeps. Churning it takes more than its size in distinct sources
 * completing real handshakes within a window; a source whose entry is
 * evicted is judged by all its attempts (the design before this): a false
 * block of a busy client, never a missed flooder.
 *
 * Concurrency: the tracepoint counts with sg_window_record (atomic, exact);
 * the XDP side reads the window without a lock, so a read racing a bucket
 * move is off by that instant's completions (approximate, as the port vote).
 */
#ifndef SG_HANDSHAKE_BPF_H
#define SG_HANDSHAKE_BPF_H

#include <bpf/bpf_core_read.h>

#include "sg_handshake.h"

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384); /* resized by the loader (max_sources / 4) */
	__type(key, struct sg_addr);
	__type(value, struct sg_window);
} sg_src_done SEC(".maps");

/* What the credit reads of a socket (CO-RE: matched by name). */
struct in6_addr___sgh {
	__u8 b[16];
};

struct sock_common___sgh {
	__u32 skc_daddr;
	unsigned short skc_family;
	struct in6_addr___sgh skc_v6_daddr;
} __attribute__((preserve_access_index));

struct sock___sgh {
	struct sock_common___sgh __sk_common;
} __attribute__((preserve_access_index));

/* Called by the handshake tracepoint for a server socket that just went
 * SYN_RECV -> ESTABLISHED in the agent's namespace: credit its client. */
static __always_inline void sg_src_completed(void *sock, struct sg_counters *cnt)
{
	struct sock___sgh *sk = sock;
	struct sg_window fresh = {}, *w;
	struct sg_addr key = {};
	struct sg_config *cfg;
	__u32 zero = 0, v4;
	__u16 family;
	__u64 now;

	cfg = bpf_map_lookup_elem(&sg_config_map, &zero);
	if (!cfg || !cfg->enabled || !cfg->conn_threshold)
		return;
	family = BPF_CORE_READ(sk, __sk_common.skc_family);
	if (family == 2 /* AF_INET */) {
		v4 = BPF_CORE_READ(sk, __sk_common.skc_daddr);
		key.b[10] = 0xff;
		key.b[11] = 0xff;
		__builtin_memcpy(&key.b[12], &v4, 4);
	} else if (family == 10 /* AF_INET6 */) {
		BPF_CORE_READ_INTO(&key, sk, __sk_common.skc_v6_daddr);
	} else {
		return;
	}
	sg_completion_key(&key, cfg->v6_prefix_len);
	now = SG_NOW_TRACE();
	w = bpf_map_lookup_elem(&sg_src_done, &key);
	if (!w) {
		/* BPF_NOEXIST: a completion on another CPU may insert it first. */
		bpf_map_update_elem(&sg_src_done, &key, &fresh, BPF_NOEXIST);
		w = bpf_map_lookup_elem(&sg_src_done, &key);
		if (!w)
			return;
	}
	sg_window_record(w, now, cfg->window_ns);
	if (cnt)
		cnt->c[SG_CNT_SRC_COMPLETIONS]++;
}

/* Count an attempt of an admitted source (sg_source_attempt, plus the
 * judgement of sg_handshake.h); returns the threshold it crossed
 * (enum sg_reason), SG_REASON_NONE when it did not. */
static __always_inline __u32 sg_src_attempt(struct sg_counters *cnt, const struct sg_config *cfg,
					    struct sg_source *s, const struct sg_addr *key,
					    __u64 now, __u16 dst_port)
{
	__u32 pos = sg_window_record(&s->win, now, cfg->window_ns);
	__u32 reason;

	sg_vote_port(s, dst_port);
	if (!sg_window_over(&s->win, pos, now, cfg->window_ns, cfg->threshold))
		return SG_REASON_NONE;
	if (!cfg->conn_threshold)
		return SG_REASON_ATTEMPTS;
	if (sg_over_connections(&s->win, pos, now, cfg))
		return SG_REASON_CONNECTIONS;
	reason = sg_half_open_reason(&s->win, pos, bpf_map_lookup_elem(&sg_src_done, key), now,
				     cfg);
	if (reason == SG_REASON_NONE)
		cnt->c[SG_CNT_HALF_OPEN_CREDITED]++;
	return reason;
}

#endif /* SG_HANDSHAKE_BPF_H */
