// The signature drop's chooser (issue 8): given SYN fingerprints sampled
// from a port flood and the port's normal ones (bpf/sg_sig.h), find the
// signatures — masks over the fingerprint's fields, with their values — that
// cover most of the flood and almost none of the normal, or refuse. Pure.
//
// How: every field subset that keeps the options layout and the family
// (2^7 masks over window, MSS, IP length, flags, window scale, TTL band,
// quirks) groups the flood's samples; each group is a candidate. A candidate
// is refused when it
//   - matches more than `max_normal_share` of the port's learned normal SYNs
//     (weighted; the signatures together, not each), or
//   - could match a common client stack's SYN (kReferenceStacks: Linux,
//     Android, Windows, macOS/iOS, FreeBSD, OpenBSD options layouts, with and
//     without ECN): the guard for a port with no learned normal yet, and the
//     reason a flood that mimics a real stack's options gets no signature.
// Then greedily, up to `max_signatures`: the candidate covering most of the
// flood still uncovered, preferring the most specific (most fields) among
// those within `kSpecificSlack` of the best, so that a field the samples
// happen to hold constant is kept if that costs almost no coverage. The
// choice stands when the signatures cover `min_coverage` of the flood.
//
// Why fields and masks rather than one hash of the whole fingerprint: a tool
// that randomises one field (the window, the TTL) makes every fingerprint
// distinct, and only the fields it holds fixed separate it from clients.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sg_sig.h"

namespace sg {

// A sampled fingerprint and the attempts it stands for.
struct WeightedFp {
  sg_sig_fp fp{};
  double weight = 1;
};

struct SignatureOptions {
  // Share of the flood the signatures must cover to be used (0.01..1).
  double min_coverage = 0.5;
  // Share of the port's normal SYNs they may match at most (0..0.05).
  double max_normal_share = 0.001;
  // Flood samples needed before choosing (8..4096).
  uint32_t min_samples = 32;
  // Signatures per target (1..SG_SIG_MAX).
  uint32_t max_signatures = SG_SIG_MAX;
};

struct SignatureChoice {
  std::vector<sg_sig> signatures;  // empty: refused (see why)
  double coverage = 0;             // of the flood's samples (weighted)
  double normal_share = 0;         // of the normal baseline (weighted)
  double flood_weight = 0;         // the samples' total weight (attempts they stand for)
  double normal_weight = 0;        // the baseline's
  std::string why;                 // "covers 100.0% of the flood, 0.000% of 512 normal", or why not
  bool ok() const { return !signatures.empty(); }
};

SignatureChoice chooseSignatures(const std::vector<WeightedFp>& flood,
                                 const std::vector<WeightedFp>& normal,
                                 const SignatureOptions& options);

// Whether a fingerprint matches any of the signatures.
bool matchesAny(const sg_sig_fp& fp, const std::vector<sg_sig>& sigs);

// Whether some fingerprint could match both (they agree on the fields both constrain).
bool overlaps(const sg_sig& a, const sg_sig& b);

// The common client stacks' options layouts (each a signature over the
// layout alone).
const std::vector<sg_sig>& referenceStacks();

// "opts=mss,nop,ws win=0 ttl<=255 flags=S,ECE,CWR len=40 quirks=df" — the
// fields a signature constrains; a fingerprint with every field.
std::string describe(const sg_sig& s);
std::string describe(const sg_sig_fp& fp);

// The layout of option codes ("mss,sok,ts,nop,ws") as a fingerprint's olayout.
uint64_t layoutOf(const std::vector<uint8_t>& codes);

// A signature with every field of fp (family and olayout included).
sg_sig exactSignature(const sg_sig_fp& fp);

}  // namespace sg
