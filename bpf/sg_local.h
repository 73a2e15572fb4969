/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * sg_local.h — the host's own addresses, so that the destination-side
 * counters and the SYN-cookie path act only for this host: on a router or
 * bridge that forwards traffic, a SYN to another host is neither counted as
 * an attempt at one of ours (no port flood is detected, nor a response
 * engaged, for it) nor answered with a cookie SYN-ACK on that host's behalf.
 *
 * sg_local_addrs holds every address of the agent's network namespace (IPv4
 * mapped), written by the agent at start and whenever rtnetlink reports an
 * address change (XdpSensor::setLocalAddresses). Until it has been written
 * (sg_local_on 0: a sensor loaded without an agent, the test-run tables),
 * every destination counts as local. Cost: one hash lookup, paid only where
 * it matters — a SYN whose destination has no counter yet (a known one was
 * local when it got its counter), and a packet to a port with cookies on.
 */
#ifndef SG_LOCAL_H
#define SG_LOCAL_H

#include "sg_shared.h"

#define SG_LOCAL_MAX 1024 /* addresses at most (more: the check stays off) */

#ifdef __bpf__

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SG_LOCAL_MAX);
	__type(key, struct sg_addr);
	__type(value, __u8);
} sg_local_addrs SEC(".maps");

/* 1 once user space has written sg_local_addrs. */
volatile __u32 sg_local_on;

static __always_inline int sg_is_local(const struct sg_addr *dst)
{
	if (!sg_local_on)
		return 1;
	return bpf_map_lookup_elem(&sg_local_addrs, dst) != 0;
}

#endif /* __bpf__ */

#endif /* SG_LOCAL_H */
