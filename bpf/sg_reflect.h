/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * sg_reflect.h — SYN-ACK reflection: SYN-ACKs arriving for connections this
 * host never opened. An attacker who forges this host's address in SYNs to
 * many servers (reflectors) makes them all answer here; the stack then
 * answers each with a RST. Such a SYN-ACK matches no socket of ours in
 * SYN_SENT: the program looks its 4-tuple up (bpf_skc_lookup_tcp, in the
 * receiving device's namespace, the tuple as the packet carries it: the
 * stack's own lookup). Only SYN-ACKs addressed to this host are looked at
 * (sg_local.h): one to another host — forwarded by this router, bridged to
 * a VM or a macvlan/ipvlan container — answers that host's connect, whose
 * socket is not here and which conntrack may not track either (no ct-using
 * rule in this namespace, bridged traffic): it passes, counted
 * (SG_CNT_SYNACK_NOT_LOCAL), never unmatched nor dropped; a reflection aims
 * at this host's own address. A socket in SYN_SENT (our connect), SYN_RECV
 * (simultaneous open: both sides sent a SYN) or ESTABLISHED (the peer's
 * retransmitted SYN-ACK when our ACK was lost) matches. Else conntrack is
 * asked (bpf_xdp_ct_lookup, the tuple as the packet carries it, which finds
 * a flow by its reply direction): a connection whose socket is in another
 * namespace or on another host — a container behind this host's masquerade
 * or DNAT, a LAN host behind this router — has an entry here, and its
 * SYN-ACK matches too. Only then is it unmatched (no socket, a listener: a
 * SYN-ACK answers no listener, another state, and no conntrack entry). A
 * reflector cannot guess the ports of a connection we do have open.
 *
 * Counted: SG_CNT_SYNACK_NOT_LOCAL, SG_CNT_SYNACK_MATCHED,
 * SG_CNT_SYNACK_CT_MATCHED, SG_CNT_SYNACK_UNMATCHED, and per (reflector address, its port) in
 * sg_reflectors, an LRU hash user space reads and empties on each harvest
 * (approximate: an update racing the delete is lost). Detection is user
 * space's (core/reflection.h): while a reflection lasts it lists the
 * busiest reflectors it harvested (agent/reflection_watch.h) in
 * sg_reflect_drops and turns the drop on
 * (sg_reflect.drop); an unmatched SYN-ACK is dropped only when its
 * (source, port) is listed, never another server's. Without the conntrack
 * kfuncs (nf_conntrack not loaded when the program loaded) a SYN-ACK of a
 * NATed or forwarded connection cannot be told from a reflected one: the
 * program never drops then, it counts (SG_CNT_REFLECT_UNCHECKED). Dropped:
 * SG_CNT_REFLECT_DROPPED, also in dropped_total.
 *
 * Cost: a flag test per packet while on; the local-address lookup and the
 * socket lookup for SYN-ACKs only, the conntrack one and the drop list's
 * for SYN-ACKs no socket matched.
 * BPF only: included by syn_guard.bpf.c after its maps and sg_syncookie.h
 * (the conntrack kfuncs' declarations).
 */
#ifndef SG_REFLECT_H
#define SG_REFLECT_H

#include "sg_shared.h"

/* Its layouts (struct sg_reflect_params, struct sg_reflector_key) are in
 * sg_shared.h. */

#ifdef __bpf__

#include <bpf/bpf_endian.h>

#define SG_TCP_STATE_ESTABLISHED 1
#define SG_TCP_STATE_SYN_SENT 2
#define SG_TCP_STATE_SYN_RECV 3

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct sg_reflector_key);
	__type(value, __u64); /* unmatched SYN-ACKs since the last harvest */
} sg_reflectors SEC(".maps");

/* The reflectors whose unmatched SYN-ACKs are dropped while a reflection
 * lasts; written by user space only (XdpSensor::setReflectorDrops). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, SG_REFLECT_DROPS_MAX);
	__type(key, struct sg_reflector_key);
	__type(value, __u8);
} sg_reflect_drops SEC(".maps");

volatile struct sg_reflect_params sg_reflect SEC(".data.reflect") = { .on = 1 };

/* A SYN-ACK (SYN and ACK, no RST). */
static __always_inline int sg_pkt_is_synack(const struct sg_pkt *p)
{
	return p->kind == SG_PKT_TCP &&
	       (p->tcp_flags & (SG_TCP_SYN | SG_TCP_ACK | SG_TCP_RST)) == (SG_TCP_SYN | SG_TCP_ACK);
}

/* Whether conntrack knows the SYN-ACK's flow (a NATed or forwarded
 * connection); 0 also when conntrack could not say (an error). */
static __always_inline int sg_reflect_tracked(struct xdp_md *ctx, struct bpf_sock_tuple *tup,
					      __u32 tlen)
{
	struct bpf_ct_opts___sg opts = { .netns_id = -1, .l4proto = SG_IPPROTO_TCP };
	struct nf_conn *ct;

	ct = bpf_xdp_ct_lookup(ctx, tup, tlen, &opts, sizeof(opts));
	if (!ct)
		return 0;
	bpf_ct_release(ct);
	return 1;
}

/* The verdict for a SYN-ACK: XDP_DROP when no connection of ours (nor
 * conntrack) awaits it, a reflection is on and its reflector is listed;
 * XDP_PASS otherwise. A function of its own: only SYN-ACKs pay for its
 * registers. */
static __attribute__((noinline)) int sg_reflect_check(struct xdp_md *ctx, struct sg_counters *cnt,
						     const struct sg_pkt *pkt)
{
	struct sg_reflector_key rk = {};
	struct bpf_sock_tuple tup = {};
	struct bpf_sock *sk;
	__u64 one = 1, *n;
	__u32 tlen, state = 0;

	if (!cnt)
		return XDP_PASS;
	/* Forwarded or bridged to another host (a LAN host behind this
	 * router, a bridged VM, a macvlan container): its connection, whose
	 * socket is elsewhere, and a reflection aims at this host's address. */
	if (!sg_is_local(&pkt->dst)) {
		cnt->c[SG_CNT_SYNACK_NOT_LOCAL]++;
		return XDP_PASS;
	}
	if (pkt->family == 4) {
		__builtin_memcpy(&tup.ipv4.saddr, &pkt->src.b[12], 4);
		__builtin_memcpy(&tup.ipv4.daddr, &pkt->dst.b[12], 4);
		tup.ipv4.sport = bpf_htons(pkt->src_port);
		tup.ipv4.dport = bpf_htons(pkt->dst_port);
		tlen = sizeof(tup.ipv4);
	} else {
		__builtin_memcpy(tup.ipv6.saddr, pkt->src.b, 16);
		__builtin_memcpy(tup.ipv6.daddr, pkt->dst.b, 16);
		tup.ipv6.sport = bpf_htons(pkt->src_port);
		tup.ipv6.dport = bpf_htons(pkt->dst_port);
		tlen = sizeof(tup.ipv6);
	}
	sk = bpf_skc_lookup_tcp(ctx, &tup, tlen, BPF_F_CURRENT_NETNS, 0);
	if (sk) {
		state = sk->state;
		bpf_sk_release(sk);
		if (state == SG_TCP_STATE_SYN_SENT || state == SG_TCP_STATE_ESTABLISHED ||
		    state == SG_TCP_STATE_SYN_RECV) {
			cnt->c[SG_CNT_SYNACK_MATCHED]++;
			return XDP_PASS;
		}
	}
	if (sg_ck_kfuncs() && sg_reflect_tracked(ctx, &tup, tlen)) {
		cnt->c[SG_CNT_SYNACK_CT_MATCHED]++;
		return XDP_PASS;
	}
	cnt->c[SG_CNT_SYNACK_UNMATCHED]++;
	rk.src = pkt->src;
	rk.port = pkt->src_port;
	n = bpf_map_lookup_elem(&sg_reflectors, &rk);
	if (n)
		__sync_fetch_and_add(n, 1);
	else
		bpf_map_update_elem(&sg_reflectors, &rk, &one, BPF_NOEXIST);
	if (!sg_reflect.drop || !bpf_map_lookup_elem(&sg_reflect_drops, &rk))
		return XDP_PASS;
	/* A NATed connection's SYN-ACK would look the same without the
	 * conntrack kfuncs; so would a forwarded one while the host's address
	 * list is not in force (sg_local.h: more than SG_LOCAL_MAX addresses,
	 * or a failed write), when every destination counts as local: count
	 * only, never drop on a guess. */
	if (!sg_ck_kfuncs() || !sg_local_on) {
		cnt->c[SG_CNT_REFLECT_UNCHECKED]++;
		return XDP_PASS;
	}
	cnt->c[SG_CNT_REFLECT_DROPPED]++;
	cnt->c[SG_CNT_DROPPED]++;
	return XDP_DROP;
}

#endif /* __bpf__ */

#endif /* SG_REFLECT_H */
