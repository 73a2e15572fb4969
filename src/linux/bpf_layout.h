// The C++ side's check of every layout in bpf/sg_shared.h (and the parser's
// struct sg_pkt): sizes and field offsets as g++ sees them. The kernel side is
// checked against the loaded object's BTF by tests/bpf/layout_test.cpp, which
// compares each struct's BTF size with the sizeof() listed in kSharedLayouts.
#pragma once

#include <cstddef>

#include "sg_challenge.h"
#include "sg_dst.h"
#include "sg_parse.h"
#include "sg_shared.h"
#include "sg_sig.h"
#include "sg_syncookie.h"

namespace sg {

// Keys.
static_assert(sizeof(sg_addr) == 16 && alignof(sg_addr) == 1);
static_assert(sizeof(sg_lpm_key) == 20);
static_assert(offsetof(sg_lpm_key, prefixlen) == 0 && offsetof(sg_lpm_key, addr) == 4);

// The hash key (a load-time knob).
static_assert(sizeof(sg_hash_key) == 16 && offsetof(sg_hash_key, k1) == 8);

// Per-source state.
static_assert(sizeof(sg_window) == 16);
static_assert(offsetof(sg_window, cur_start_ns) == 0 && offsetof(sg_window, cur_count) == 8 &&
              offsetof(sg_window, prev_count) == 12);
static_assert(sizeof(sg_source) == 40);
static_assert(offsetof(sg_source, win) == 0 && offsetof(sg_source, last_block_end_ns) == 16 &&
              offsetof(sg_source, top_port) == 24 && offsetof(sg_source, top_votes) == 26 &&
              offsetof(sg_source, flags) == 28 && offsetof(sg_source, pad) == 29 &&
              offsetof(sg_source, recent_syns) == 32);
static_assert(sizeof(sg_offence) == 16);
static_assert(offsetof(sg_offence, last_block_end_ns) == 0 && offsetof(sg_offence, offences) == 8 &&
              offsetof(sg_offence, pad) == 9);

static_assert(sizeof(sg_slot) == 64, "one cache line per slot");
static_assert(offsetof(sg_slot, key) == 0 && offsetof(sg_slot, st) == 16 &&
              offsetof(sg_slot, last_ns) == 56);

// Blocks.
static_assert(sizeof(sg_block) == 32);
static_assert(offsetof(sg_block, added_ns) == 0 && offsetof(sg_block, expires_ns) == 8 &&
              offsetof(sg_block, drops) == 16 && offsetof(sg_block, count) == 24 &&
              offsetof(sg_block, dst_port) == 28 && offsetof(sg_block, level) == 30 &&
              offsetof(sg_block, flags) == 31);

// The block cache (bpf/sg_block_cache_bpf.h).
static_assert(sizeof(sg_block_cache_entry) == 40);
static_assert(offsetof(sg_block_cache_entry, key) == 0 &&
              offsetof(sg_block_cache_entry, expires_ns) == 16 &&
              offsetof(sg_block_cache_entry, drops) == 24 &&
              offsetof(sg_block_cache_entry, seq) == 32 &&
              offsetof(sg_block_cache_entry, epoch) == 36);

// Prefix blocks.
static_assert(sizeof(sg_lpm4_key) == 8 && offsetof(sg_lpm4_key, addr) == 4);
static_assert(sizeof(sg_prefix_block) == 32);
static_assert(offsetof(sg_prefix_block, added_ns) == 0 &&
              offsetof(sg_prefix_block, expires_ns) == 8 &&
              offsetof(sg_prefix_block, drops) == 16 && offsetof(sg_prefix_block, flags) == 24 &&
              offsetof(sg_prefix_block, pad) == 25);

// Run-time configuration.
static_assert(sizeof(sg_config) == 56);
static_assert(offsetof(sg_config, window_ns) == 0 && offsetof(sg_config, block_ns) == 8 &&
              offsetof(sg_config, repeat_memory_ns) == 16 && offsetof(sg_config, threshold) == 24 &&
              offsetof(sg_config, events_per_sec) == 28 &&
              offsetof(sg_config, admit_per_sec) == 32 && offsetof(sg_config, admit_min) == 36 &&
              offsetof(sg_config, enforce) == 40 && offsetof(sg_config, v6_prefix_len) == 41 &&
              offsetof(sg_config, max_level) == 42 && offsetof(sg_config, enabled) == 43 &&
              offsetof(sg_config, block_scope) == 44 &&
              offsetof(sg_config, source_response) == 45 && offsetof(sg_config, pad) == 46 &&
              offsetof(sg_config, conn_threshold) == 48 && offsetof(sg_config, pad2) == 52);

// Events.
static_assert(sizeof(sg_event) == 64);
static_assert(offsetof(sg_event, ts_ns) == 0 && offsetof(sg_event, block_ns) == 8 &&
              offsetof(sg_event, src) == 16 && offsetof(sg_event, type) == 32 &&
              offsetof(sg_event, count) == 36 && offsetof(sg_event, ifindex) == 40 &&
              offsetof(sg_event, dst_port) == 44 && offsetof(sg_event, level) == 46 &&
              offsetof(sg_event, reason) == 47 && offsetof(sg_event, mono_ns) == 48 &&
              offsetof(sg_event, first_ns) == 56);

// Counters and per-CPU bookkeeping.
static_assert(sizeof(sg_counters) == 8 * SG_CNT__MAX);
static_assert(sizeof(sg_cpu_epoch) == 24);
static_assert(offsetof(sg_cpu_epoch, epoch) == 0 && offsetof(sg_cpu_epoch, events) == 8 &&
              offsetof(sg_cpu_epoch, admitted) == 12 && offsetof(sg_cpu_epoch, sketched) == 16 &&
              offsetof(sg_cpu_epoch, pressure) == 20);
static_assert(sizeof(sg_sketch_line) == 64, "one cache line per sketch line");

// The parser's output (not in a map, but compiled by both sides).
static_assert(sizeof(sg_pkt) == 48 && alignof(sg_pkt) == 8,
              "16 + 16 + 2 + 2 + 4 + 4 x 1 + 4 pad, the addresses 8-aligned");
static_assert(offsetof(sg_pkt, src) == 0 && offsetof(sg_pkt, dst) == 16 &&
              offsetof(sg_pkt, dst_port) == 32 && offsetof(sg_pkt, src_port) == 34 &&
              offsetof(sg_pkt, tcp_seq) == 36 && offsetof(sg_pkt, tcp_flags) == 40 &&
              offsetof(sg_pkt, family) == 41 && offsetof(sg_pkt, kind) == 42 &&
              offsetof(sg_pkt, has_src) == 43);

// Destination-side counters (bpf/sg_dst.h).
static_assert(sizeof(sg_hh_entry) == 16);
static_assert(sizeof(sg_dst_bank) == SG_HLL_REGS + 16 * SG_HH_SLOTS + 8 + 24 * SG_SIG_SAMPLES);
static_assert(sizeof(sg_dst) == 64 + 2 * sizeof(sg_dst_bank), "a 64-byte head, two banks");
static_assert(offsetof(sg_dst, state) == 20 && offsetof(sg_dst, attempts) == 24 &&
              offsetof(sg_dst, completions) == 32 && offsetof(sg_dst, bank) == 64);

// Every struct both sides share, by its C name, with its C++ size: the BTF
// test walks this list, so a struct added to sg_shared.h belongs here too.
struct SharedLayout {
  const char* name;
  size_t size;
};

// Signature drop (sg_sig.h).
static_assert(sizeof(sg_sig_fp) == 24 && offsetof(sg_sig_fp, win) == 8 &&
              offsetof(sg_sig_fp, ip_len) == 12 && offsetof(sg_sig_fp, family) == 18);
static_assert(sizeof(sg_sig) == 48);
static_assert(sizeof(sg_sig_key) == 20 && offsetof(sg_sig_key, port) == 16);
static_assert(sizeof(sg_sig_set) == 8 + 8 * SG_SIG_MAX + 48 * SG_SIG_MAX &&
              offsetof(sg_sig_set, sig) == 8 + 8 * SG_SIG_MAX);

// SYN cookies (sg_syncookie.h).
static_assert(sizeof(sg_cookie_key) == 20 && offsetof(sg_cookie_key, port) == 16);
static_assert(sizeof(sg_cookie_params) == 12 && offsetof(sg_cookie_params, mss4) == 4 &&
              offsetof(sg_cookie_params, wscale) == 8 && offsetof(sg_cookie_params, ttl) == 9);

// Challenge instead of block (sg_challenge.h).
static_assert(sizeof(sg_challenge) == 24 && offsetof(sg_challenge, done) == 8);
static_assert(sizeof(sg_challenge_params) == 8);

// Verified sources and reflection (sg_verified.h, sg_reflect.h).
static_assert(sizeof(sg_verified_params) == 32 && offsetof(sg_verified_params, on) == 8 &&
              offsetof(sg_verified_params, per_agg) == 20 &&
              offsetof(sg_verified_params, per_ttl) == 24);
static_assert(sizeof(sg_reflect_params) == 8 && offsetof(sg_reflect_params, drop) == 4);
static_assert(sizeof(sg_reflector_key) == 20 && offsetof(sg_reflector_key, port) == 16);

inline constexpr SharedLayout kSharedLayouts[] = {
    {"sg_addr", sizeof(sg_addr)},
    {"sg_lpm_key", sizeof(sg_lpm_key)},
    {"sg_hash_key", sizeof(sg_hash_key)},
    {"sg_window", sizeof(sg_window)},
    {"sg_source", sizeof(sg_source)},
    {"sg_block_cache_entry", sizeof(sg_block_cache_entry)},
    {"sg_slot", sizeof(sg_slot)},
    {"sg_offence", sizeof(sg_offence)},
    {"sg_block", sizeof(sg_block)},
    {"sg_lpm4_key", sizeof(sg_lpm4_key)},
    {"sg_prefix_block", sizeof(sg_prefix_block)},
    {"sg_config", sizeof(sg_config)},
    {"sg_event", sizeof(sg_event)},
    {"sg_counters", sizeof(sg_counters)},
    {"sg_cpu_epoch", sizeof(sg_cpu_epoch)},
    {"sg_sketch_line", sizeof(sg_sketch_line)},
    {"sg_pkt", sizeof(sg_pkt)},
    {"sg_hh_entry", sizeof(sg_hh_entry)},
    {"sg_dst_bank", sizeof(sg_dst_bank)},
    {"sg_dst", sizeof(sg_dst)},
    {"sg_cookie_key", sizeof(sg_cookie_key)},
    {"sg_cookie_params", sizeof(sg_cookie_params)},
    {"sg_sig_fp", sizeof(sg_sig_fp)},
    {"sg_sig", sizeof(sg_sig)},
    {"sg_sig_key", sizeof(sg_sig_key)},
    {"sg_sig_set", sizeof(sg_sig_set)},
    {"sg_verified_params", sizeof(sg_verified_params)},
    {"sg_reflect_params", sizeof(sg_reflect_params)},
    {"sg_reflector_key", sizeof(sg_reflector_key)},
    {"sg_challenge", sizeof(sg_challenge)},
    {"sg_challenge_params", sizeof(sg_challenge_params)},
};

}  // namespace sg
