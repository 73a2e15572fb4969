/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * sg_dst_bpf.h — the kernel side of the destination-side counters (layout
 * and arithmetic in sg_dst.h): the table, the XDP hook sg_dst_attempt() that
 * counts every connection attempt before any block can drop it (so that a
 * flood keeps being measured while a response drops it), and the tracepoint
 * program that counts completed handshakes. Included by syn_guard.bpf.c only.
 *
 * Handshakes: the raw tracepoint sock:inet_sock_set_state fires when a
 * server's child socket goes SYN_RECV -> ESTABLISHED (the client's ACK was
 * accepted, whether the listener used a request socket or a SYN cookie). Its
 * local address and port find the destination's entry (never creating one).
 * Tracepoints see every network namespace, so the socket's namespace is
 * compared with the agent's (sg_netns_ino, set by the loader; 0 = any).
 * The socket's fields are read with CO-RE against the running kernel's BTF;
 * the local declarations below name only what is read.
 */
#ifndef SG_DST_BPF_H
#define SG_DST_BPF_H

#include <bpf/bpf_core_read.h>

#include "sg_dst.h"

/* Load-time knobs. */
const volatile __u32 sg_dst_set_mask = 511;  /* sets of sg_dsts - 1 */
const volatile __u32 sg_netns_ino = 0;       /* the agent's network namespace; 0 = any */

/* The bank the program writes; user space flips it (sg_dst.h). */
volatile __u32 sg_dst_bank;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1024); /* resized by the loader: a power of two */
	__uint(map_flags, BPF_F_MMAPABLE); /* user space harvests through its mmap */
	__type(key, __u32);
	__type(value, struct sg_dst);
} sg_dsts SEC(".maps");

static __always_inline struct sg_dst *sg_dst_find(const struct sg_addr *a, __u16 port, int claim,
						 __u32 *idx)
{
	struct sg_hash_key k = { .k0 = sg_hash_key.k0, .k1 = sg_hash_key.k1 };
	__u32 i0 = sg_dst_first(sg_dst_hash(a, port, &k), sg_dst_set_mask), i1 = i0 + 1;
	struct sg_dst *w0 = bpf_map_lookup_elem(&sg_dsts, &i0);
	struct sg_dst *w1 = bpf_map_lookup_elem(&sg_dsts, &i1);
	struct sg_dst *d;

	if (!w0 || !w1)
		return 0; /* cannot happen: the mask fits the array */
	d = sg_dst_pick(w0, w1, a, port, claim);
	if (idx)
		*idx = d == w1 ? i1 : i0;
	return d;
}

/* A connection attempt (SYN without ACK/RST), counted at its destination.
 * Inlined into the path every SYN takes: as a BPF-to-BPF call it cost ~12 ns
 * a SYN on CPUs with return-thunk mitigations (docs/architecture.md, "Calls
 * cost more than they look"); the stack has room for its locals since the
 * cookie path's SYN-ACK builder left the entry point's frame ("The stack").
 * Returns the fingerprint sample the attempt takes (sg_sig_pos(): entry,
 * bank, slot; the caller fingerprints it, sg_sig_keep in sg_sig_bpf.h), or
 * -1. `src_hash`: sg_hash() of the source's key (masked to the counting
 * prefix), the per-source tracker's hash: one SipHash per SYN serves both. */
static __always_inline int sg_dst_attempt(struct sg_counters *cnt, const struct sg_config *cfg,
					  const struct sg_pkt *pkt, __u64 src_hash)
{
	__u32 idx = 0, bank = sg_dst_bank & 1, n;
	struct sg_dst *d = sg_dst_find(&pkt->dst, pkt->dst_port, 0, &idx);
	int slot;

	/* A new destination gets a counter only when it is this host's
	 * (sg_local.h): forwarded traffic is another host's business. */
	if (!d) {
		if (!sg_is_local(&pkt->dst)) {
			cnt->c[SG_CNT_NOT_LOCAL]++;
			return -1;
		}
		d = sg_dst_find(&pkt->dst, pkt->dst_port, 1, &idx);
	}
	if (!d) {
		cnt->c[SG_CNT_DST_UNTRACKED]++;
		return -1;
	}
	sg_dst_count(d, bank, src_hash, sg_src_prefix(&pkt->src, pkt->family));
	n = d->bank[bank].attempts;
	slot = sg_sig_slot(n, sg_dst_sample_rnd(src_hash, n));
	return slot < 0 ? -1 : sg_sig_pos(idx, bank, (__u32)slot);
}

/* What the tracepoint reads of a socket (CO-RE: matched by name). */
struct ns_common___sg {
	unsigned int inum;
} __attribute__((preserve_access_index));

struct net___sg {
	struct ns_common___sg ns;
} __attribute__((preserve_access_index));

struct in6_addr___sg {
	__u8 b[16];
};

struct sock_common___sg {
	__u32 skc_rcv_saddr;
	__u16 skc_num;
	unsigned short skc_family;
	struct {
		struct net___sg *net;
	} skc_net;
	struct in6_addr___sg skc_v6_rcv_saddr;
} __attribute__((preserve_access_index));

struct sock___sg {
	struct sock_common___sg __sk_common;
	__u16 sk_protocol;
} __attribute__((preserve_access_index));

#define SG_TCP_ESTABLISHED 1
#define SG_TCP_SYN_RECV 3
#define SG_AF_INET 2
#define SG_AF_INET6 10

SEC("raw_tp/inet_sock_set_state")
int sg_handshake_done(struct bpf_raw_tracepoint_args *ctx)
{
	struct sock___sg *sk = (struct sock___sg *)ctx->args[0];
	struct sg_counters *cnt;
	struct sg_addr local = {};
	struct sg_dst *d;
	__u32 zero = 0, v4;
	__u16 family;

	if ((int)ctx->args[1] != SG_TCP_SYN_RECV || (int)ctx->args[2] != SG_TCP_ESTABLISHED)
		return 0;
	if (BPF_CORE_READ(sk, sk_protocol) != SG_IPPROTO_TCP)
		return 0;
	if (sg_netns_ino && BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum) != sg_netns_ino)
		return 0;
	sg_verified_note(sk); /* its peer is verified (sg_verified.h) */
	family = BPF_CORE_READ(sk, __sk_common.skc_family);
	if (family == SG_AF_INET) {
		v4 = BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);
		local.b[10] = 0xff;
		local.b[11] = 0xff;
		__builtin_memcpy(&local.b[12], &v4, 4);
	} else if (family == SG_AF_INET6) {
		/* An IPv4 connection on a dual-stack listener has ::ffff:a.b.c.d
		 * here: the same key the XDP program counted its SYN under. */
		BPF_CORE_READ_INTO(&local, sk, __sk_common.skc_v6_rcv_saddr);
	} else {
		return 0;
	}
	cnt = bpf_map_lookup_elem(&sg_counters_map, &zero);
	if (cnt)
		cnt->c[SG_CNT_HANDSHAKES]++;
	sg_src_completed(sk, cnt); /* per-source credit (sg_handshake_bpf.h) */
	d = sg_dst_find(&local, BPF_CORE_READ(sk, __sk_common.skc_num), 0, 0);
	if (d)
		__sync_fetch_and_add(&d->completions, 1);
	return 0;
}

#endif /* SG_DST_BPF_H */
