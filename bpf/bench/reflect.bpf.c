// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * Benchmark-only (bench/syncookie_bench.cpp, never loaded by the agent): sends
 * every frame straight back where it came from (Ethernet addresses swapped,
 * XDP_TX), unchanged otherwise. The floor under the SYN-cookie set-ups: the
 * harness's cost of a SYN in and a frame of the same size out, without any
 * cookie, checksum or per-source work.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("xdp")
int reflect(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	__u8 *eth = data, t[6];

	if (data + 14 > end)
		return XDP_PASS;
	__builtin_memcpy(t, eth, 6);
	__builtin_memcpy(eth, eth + 6, 6);
	__builtin_memcpy(eth + 6, t, 6);
	return XDP_TX;
}
