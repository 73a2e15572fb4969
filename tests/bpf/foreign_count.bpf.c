/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * foreign_count.bpf.c — a stand-in for someone else's XDP program in the
 * dispatcher tests (tests/bpf/dispatcher_test.cpp), loaded with xdp-loader:
 * counts the IPv4 TCP frames it sees and passes everything.
 */
// linux/bpf.h first: the helpers' headers need its types.
// clang-format off
#include <linux/bpf.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
// clang-format on
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u64);
} foreign_count SEC(".maps");

SEC("xdp")
int foreign_xdp(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* end = (void*)(long)ctx->data_end;
  struct ethhdr* eth = data;
  struct iphdr* ip = (void*)(eth + 1);
  __u32 zero = 0;
  __u64* n;

  if ((void*)(ip + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP) || ip->protocol != IPPROTO_TCP)
    return XDP_PASS;
  n = bpf_map_lookup_elem(&foreign_count, &zero);
  if (n) __sync_fetch_and_add(n, 1);
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
