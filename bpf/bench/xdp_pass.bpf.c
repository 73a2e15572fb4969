// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/* The baseline of bench/xdp_cost_bench.cpp: the cheapest XDP program. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("xdp")
int xdp_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}
