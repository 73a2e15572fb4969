#include "core/dst_table.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "sg_track.h"  // sg_addr_hash

namespace sg {

std::vector<DstSample> harvestDsts(std::span<sg_dst> table, uint32_t* bank) {
  // The bank the program leaves, then the flip: from here on it writes the
  // other one (a CPU that read the index just before may still add a few).
  const uint32_t done = __atomic_load_n(bank, __ATOMIC_SEQ_CST) & 1;
  __atomic_store_n(bank, done ^ 1, __ATOMIC_SEQ_CST);
  std::vector<DstSample> out;
  for (sg_dst& d : table) {
    if (__atomic_load_n(&d.state, __ATOMIC_ACQUIRE) != SG_DST_FILLED) continue;
    DstSample s;
    s.addr = d.addr;
    s.port = d.port;
    s.attempts = __atomic_load_n(&d.attempts, __ATOMIC_RELAXED);
    s.completions = __atomic_load_n(&d.completions, __ATOMIC_RELAXED);
    sg_dst_bank& b = d.bank[done];
    s.bank_attempts = b.attempts;
    if (s.bank_attempts != 0) {
      std::memcpy(s.hll.data(), b.hll, sizeof(b.hll));
      std::memcpy(s.hh.data(), b.hh, sizeof(b.hh));
      s.sig_count = std::min<uint32_t>(s.bank_attempts, SG_SIG_SAMPLES);
      std::memcpy(s.sig.data(), b.sig, sizeof(b.sig));
      std::memset(&b, 0, sizeof(b));
    }
    out.push_back(s);
  }
  return out;
}

double hllEstimate(std::span<const uint8_t, SG_HLL_REGS> regs) {
  constexpr double kM = SG_HLL_REGS;
  const double alpha = 0.7213 / (1.0 + 1.079 / kM);
  double sum = 0;
  int zeros = 0;
  for (uint8_t r : regs) {
    sum += std::ldexp(1.0, -static_cast<int>(r));
    if (r == 0) zeros++;
  }
  const double raw = alpha * kM * kM / sum;
  if (raw <= 2.5 * kM && zeros > 0) return kM * std::log(kM / zeros);  // linear counting
  return raw;
}

void hllMerge(std::span<uint8_t, SG_HLL_REGS> into, std::span<const uint8_t, SG_HLL_REGS> from) {
  for (size_t i = 0; i < into.size(); i++) into[i] = std::max(into[i], from[i]);
}

Prefix prefixOf(uint64_t src_prefix) {
  Prefix p;
  if ((src_prefix >> 56) == 4) {
    p.addr.raw.b[10] = 0xff;
    p.addr.raw.b[11] = 0xff;
    p.addr.raw.b[12] = static_cast<uint8_t>(src_prefix >> 16);
    p.addr.raw.b[13] = static_cast<uint8_t>(src_prefix >> 8);
    p.addr.raw.b[14] = static_cast<uint8_t>(src_prefix);
    p.bits = 96 + 24;
  } else {
    for (int i = 0; i < 6; i++) p.addr.raw.b[i] = static_cast<uint8_t>(src_prefix >> (40 - 8 * i));
    p.bits = 48;
  }
  return p;
}

DstTable::DstTable(uint32_t entries, const sg_hash_key& key, uint8_t v6_prefix_len)
    : key_(key), v6_prefix_len_(v6_prefix_len) {
  uint32_t n = SG_DST_WAYS;
  while (n < entries) n <<= 1;
  table_.assign(n, sg_dst{});
  set_mask_ = n / SG_DST_WAYS - 1;
}

sg_dst* DstTable::find(const sg_addr& a, uint16_t port, bool claim) {
  const uint32_t i0 = sg_dst_first(sg_dst_hash(&a, port, &key_), set_mask_);
  return sg_dst_pick(&table_[i0], &table_[i0 + 1], &a, port, claim ? 1 : 0);
}

void DstTable::onAttempt(const sg_pkt& pkt, const sg_sig_fp* fp) {
  sg_dst* d = find(pkt.dst, pkt.dst_port, true);
  if (d == nullptr) {
    untracked_++;
    return;
  }
  sg_addr src = pkt.src;
  sg_mask_source(&src, pkt.family, v6_prefix_len_);
  const uint64_t src_hash = sg_addr_hash(&src, &key_);  // the tracker's hash, as the kernel's
  sg_dst_count(d, bank_, src_hash, sg_src_prefix(&pkt.src, pkt.family));
  sg_dst_bank& b = d->bank[bank_ & 1];
  const int slot = sg_sig_slot(b.attempts, sg_dst_sample_rnd(src_hash, b.attempts));
  if (slot >= 0) {
    sg_sig_fp none{};
    none.wscale = 0xff;
    b.sig[slot] = fp != nullptr ? *fp : none;
  }
}

void DstTable::onCompletion(const sg_addr& local, uint16_t port) {
  if (sg_dst* d = find(local, port, false)) d->completions++;
}

}  // namespace sg
