// The destination-side counters in user space (layout and arithmetic in
// bpf/sg_dst.h): harvesting the kernel's table (XdpSensor hands its mmap
// here), the HyperLogLog estimate, prefix names, and DstTable, the kernel
// table's twin that replay and the unit tests count with. Pure: no I/O.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/address.h"
#include "sg_dst.h"

namespace sg {

// One destination as one harvest found it.
struct DstSample {
  sg_addr addr{};              // local address (IPv4 mapped)
  uint16_t port = 0;           // local port
  uint64_t attempts = 0;       // cumulative since the entry was filled (restarts if reused)
  uint64_t completions = 0;    // cumulative handshakes completed
  uint32_t bank_attempts = 0;  // attempts in the harvested bank (since the previous harvest)
  std::array<uint8_t, SG_HLL_REGS> hll{};     // the bank's registers
  std::array<sg_hh_entry, SG_HH_SLOTS> hh{};  // the bank's prefix table
  // The bank's sample of SYN fingerprints (bpf/sg_sig.h): the first
  // sig_count, each standing for bank_attempts / sig_count attempts.
  std::array<sg_sig_fp, SG_SIG_SAMPLES> sig{};
  uint32_t sig_count = 0;
};

// Flips the program's bank index and reads every filled entry's bank the
// program was writing, zeroing it for its next turn (sg_dst.h, "Banks").
// `table` is the kernel's array (through its mmap) or DstTable's.
std::vector<DstSample> harvestDsts(std::span<sg_dst> table, uint32_t* bank);

// HyperLogLog estimate of distinct sources from registers (with the
// small-range correction; 64-bit hashes need no large-range one).
double hllEstimate(std::span<const uint8_t, SG_HLL_REGS> regs);
void hllMerge(std::span<uint8_t, SG_HLL_REGS> into, std::span<const uint8_t, SG_HLL_REGS> from);

// sg_src_prefix() as a Prefix: "198.51.100.0/24", "2001:db8:1::/48".
Prefix prefixOf(uint64_t src_prefix);

// The kernel table's twin: same sets, same hash, same claim and count code.
class DstTable {
 public:
  // `entries`: rounded up to a power of two, at least 2 ways.
  DstTable(uint32_t entries, const sg_hash_key& key, uint8_t v6_prefix_len);

  // sg_dst_attempt(): a connection attempt (the caller checked
  // sg_pkt_is_attempt), with its SYN fingerprint when known (sg_sig.h: the
  // bank's reservoir, drawn from a generator seeded by the key).
  void onAttempt(const sg_pkt& pkt, const sg_sig_fp* fp = nullptr);
  // The tracepoint's count: a handshake completed at a local address and port.
  void onCompletion(const sg_addr& local, uint16_t port);
  std::vector<DstSample> harvest() { return harvestDsts(table_, &bank_); }
  uint64_t untracked() const { return untracked_; }  // DST_UNTRACKED

 private:
  sg_dst* find(const sg_addr& a, uint16_t port, bool claim);

  std::vector<sg_dst> table_;
  sg_hash_key key_;
  uint32_t set_mask_ = 0;
  uint32_t bank_ = 0;
  uint8_t v6_prefix_len_;
  uint64_t untracked_ = 0;
};

}  // namespace sg
