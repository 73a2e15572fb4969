#include "core/signature.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>
#include <map>

namespace sg {

namespace {

using Words = std::array<uint64_t, 3>;

// Candidates within this share of the flood of the best one count as ties:
// the more specific wins.
constexpr double kSpecificSlack = 0.02;
// A further signature must cover at least this share of the flood.
constexpr double kMinGain = 0.02;
// Coverage at which no further signature is looked for.
constexpr double kEnough = 0.999;

// The optional fields (the layout and the family are always in a mask).
enum Field : unsigned {
  kWin = 1u << 0,
  kMss = 1u << 1,
  kLen = 1u << 2,
  kFlags = 1u << 3,
  kWscale = 1u << 4,
  kTtl = 1u << 5,
  kQuirks = 1u << 6,
  kAllFields = (1u << 7) - 1,
};

Words wordsOf(const sg_sig_fp& fp) {
  Words w;
  std::memcpy(w.data(), &fp, sizeof(fp));
  return w;
}

sg_sig_fp maskOf(unsigned fields) {
  sg_sig_fp m{};
  m.olayout = ~0ull;
  m.family = 0xff;
  if (fields & kWin) m.win = 0xffff;
  if (fields & kMss) m.mss = 0xffff;
  if (fields & kLen) m.ip_len = 0xffff;
  if (fields & kFlags) m.flags = 0xff;
  if (fields & kWscale) m.wscale = 0xff;
  if (fields & kTtl) m.ttl = 0xff;
  if (fields & kQuirks) m.quirks = 0xff;
  return m;
}

sg_sig_fp applyMask(const sg_sig_fp& fp, const sg_sig_fp& mask) {
  Words f = wordsOf(fp);
  const Words m = wordsOf(mask);
  for (size_t i = 0; i < f.size(); i++) f[i] &= m[i];
  sg_sig_fp out;
  std::memcpy(&out, f.data(), sizeof(out));
  return out;
}

int fieldCount(unsigned fields) { return __builtin_popcount(fields); }

struct Candidate {
  sg_sig sig{};
  unsigned fields = 0;
  double normal = 0;  // weight of the baseline it matches
};

std::string percent(double share) {
  char b[32];
  std::snprintf(b, sizeof b, "%.1f%%", share * 100);
  return b;
}

std::string percent3(double share) {
  char b[32];
  std::snprintf(b, sizeof b, "%.3f%%", share * 100);
  return b;
}

}  // namespace

bool matchesAny(const sg_sig_fp& fp, const std::vector<sg_sig>& sigs) {
  return std::any_of(sigs.begin(), sigs.end(),
                     [&fp](const sg_sig& s) { return sg_sig_match(&fp, &s) != 0; });
}

bool overlaps(const sg_sig& a, const sg_sig& b) {
  const Words am = wordsOf(a.mask), av = wordsOf(a.value);
  const Words bm = wordsOf(b.mask), bv = wordsOf(b.value);
  for (size_t i = 0; i < am.size(); i++) {
    const uint64_t both = am[i] & bm[i];
    if ((av[i] & both) != (bv[i] & both)) return false;
  }
  return true;
}

uint64_t layoutOf(const std::vector<uint8_t>& codes) {
  uint64_t l = 0;
  for (size_t i = 0; i < codes.size() && i < SG_SIG_MAX_OPTS; i++) {
    l |= static_cast<uint64_t>(codes[i] & 0xf) << (4 * i);
  }
  return l;
}

sg_sig exactSignature(const sg_sig_fp& fp) {
  sg_sig s{};
  s.mask = maskOf(kAllFields);
  s.value = applyMask(fp, s.mask);
  return s;
}

const std::vector<sg_sig>& referenceStacks() {
  static const std::vector<sg_sig> stacks = [] {
    enum : uint8_t {
      kNop = SG_SIG_OPT_NOP,
      kMss = SG_SIG_OPT_MSS,
      kWs = SG_SIG_OPT_WS,
      kSok = SG_SIG_OPT_SACKOK,
      kTs = SG_SIG_OPT_TS,
      kEol = SG_SIG_OPT_EOL,
    };
    const std::vector<std::vector<uint8_t>> layouts = {
        {kMss, kSok, kTs, kNop, kWs},                          // Linux, Android
        {kMss, kNop, kNop, kSok, kNop, kWs},                   // Linux without timestamps
        {kMss, kNop, kNop, kTs, kNop, kWs},                    // Linux without SACK
        {kMss, kNop, kWs, kNop, kNop, kSok},                   // Windows 7..11
        {kMss, kNop, kWs, kNop, kNop, kTs, kSok, kEol},        // macOS, iOS
        {kMss, kNop, kWs, kNop, kNop, kTs},                    // macOS without SACK
        {kMss, kNop, kWs, kSok, kTs},                          // FreeBSD
        {kMss, kNop, kNop, kSok, kNop, kWs, kNop, kNop, kTs},  // OpenBSD
        {kMss, kNop, kNop, kSok},                              // Windows XP
        {kMss, kSok, kTs},                                     // Linux without window scale
        {kMss},                                                // minimal embedded stacks
    };
    std::vector<sg_sig> out;
    for (uint8_t family : {4, 6}) {
      for (const auto& l : layouts) {
        sg_sig s{};
        s.mask.olayout = ~0ull;
        s.mask.family = 0xff;
        s.value.olayout = layoutOf(l);
        s.value.family = family;
        out.push_back(s);
      }
    }
    return out;
  }();
  return stacks;
}

SignatureChoice chooseSignatures(const std::vector<WeightedFp>& flood,
                                 const std::vector<WeightedFp>& normal,
                                 const SignatureOptions& options) {
  SignatureChoice c;
  for (const WeightedFp& f : flood) c.flood_weight += f.weight;
  for (const WeightedFp& n : normal) c.normal_weight += n.weight;
  if (flood.size() < options.min_samples || c.flood_weight <= 0) {
    c.why = "waiting for samples: " + std::to_string(flood.size()) + " of " +
            std::to_string(options.min_samples);
    return c;
  }

  // Every group of every mask is a candidate, unless it could match a
  // common stack or alone matches more of the normal than the budget.
  // Groups are found through maps (mask -> masked value -> candidate), so a
  // choice costs O(masks x (samples + baseline)) map operations.
  const double budget = options.max_normal_share * c.normal_weight;
  std::vector<Candidate> candidates;
  std::vector<std::map<Words, size_t>> index(kAllFields + 1);  // -1: vetoed
  constexpr size_t kVetoed = ~size_t{0};
  size_t vetoed_stack = 0, vetoed_normal = 0;
  const auto& stacks = referenceStacks();
  for (unsigned fields = 0; fields <= kAllFields; fields++) {
    const sg_sig_fp mask = maskOf(fields);
    std::map<Words, double> normal_by_value;
    for (const WeightedFp& n : normal) normal_by_value[wordsOf(applyMask(n.fp, mask))] += n.weight;
    for (const WeightedFp& f : flood) {
      const sg_sig_fp value = applyMask(f.fp, mask);
      auto [it, fresh] = index[fields].try_emplace(wordsOf(value), kVetoed);
      if (!fresh) continue;
      Candidate k;
      k.sig.mask = mask;
      k.sig.value = value;
      k.fields = fields;
      if (std::any_of(stacks.begin(), stacks.end(),
                      [&k](const sg_sig& s) { return overlaps(k.sig, s); })) {
        vetoed_stack++;
        continue;
      }
      auto n = normal_by_value.find(it->first);
      k.normal = n == normal_by_value.end() ? 0 : n->second;
      if (k.normal > budget) {
        vetoed_normal++;
        continue;
      }
      it->second = candidates.size();
      candidates.push_back(k);
    }
  }

  // Greedy cover of the flood's samples.
  std::vector<bool> covered(flood.size(), false), used(candidates.size(), false);
  double covered_w = 0, normal_w = 0;
  while (c.signatures.size() < options.max_signatures && covered_w < kEnough * c.flood_weight) {
    std::vector<double> gains(candidates.size(), 0);
    for (unsigned fields = 0; fields <= kAllFields; fields++) {
      const sg_sig_fp mask = maskOf(fields);
      for (size_t j = 0; j < flood.size(); j++) {
        if (covered[j]) continue;
        const size_t i = index[fields].at(wordsOf(applyMask(flood[j].fp, mask)));
        if (i != kVetoed) gains[i] += flood[j].weight;
      }
    }
    double best = 0;
    for (size_t i = 0; i < candidates.size(); i++) {
      if (used[i] || normal_w + candidates[i].normal > budget) gains[i] = 0;
      best = std::max(best, gains[i]);
    }
    if (best <= 0 || best < kMinGain * c.flood_weight) break;
    size_t pick = candidates.size();
    for (size_t i = 0; i < candidates.size(); i++) {
      if (gains[i] <= 0 || gains[i] < best - kSpecificSlack * c.flood_weight) continue;
      if (pick == candidates.size() ||
          fieldCount(candidates[i].fields) > fieldCount(candidates[pick].fields) ||
          (fieldCount(candidates[i].fields) == fieldCount(candidates[pick].fields) &&
           gains[i] > gains[pick])) {
        pick = i;
      }
    }
    used[pick] = true;
    const Candidate& chosen = candidates[pick];
    c.signatures.push_back(chosen.sig);
    normal_w += chosen.normal;
    for (size_t j = 0; j < flood.size(); j++) {
      if (!covered[j] && sg_sig_match(&flood[j].fp, &chosen.sig)) {
        covered[j] = true;
        covered_w += flood[j].weight;
      }
    }
  }
  c.coverage = covered_w / c.flood_weight;
  c.normal_share = c.normal_weight > 0 ? normal_w / c.normal_weight : 0;
  const std::string normal_text = c.normal_weight > 0
                                      ? percent3(c.normal_share) + " of the port's normal SYNs"
                                      : "no normal SYNs learned for the port yet";
  if (c.coverage < options.min_coverage) {
    c.why = "no signature separates the flood: the best cover " + percent(c.coverage) +
            " of it (needed " + percent(options.min_coverage) + "); " +
            std::to_string(vetoed_stack) + " candidates could match common client stacks, " +
            std::to_string(vetoed_normal) + " match too many normal SYNs";
    c.signatures.clear();
    c.normal_share = 0;
    return c;
  }
  c.why = "covers " + percent(c.coverage) + " of the flood's samples, " + normal_text;
  return c;
}

namespace {

std::string optName(unsigned code) {
  switch (code) {
    case SG_SIG_OPT_NOP:
      return "nop";
    case SG_SIG_OPT_MSS:
      return "mss";
    case SG_SIG_OPT_WS:
      return "ws";
    case SG_SIG_OPT_SACKOK:
      return "sok";
    case SG_SIG_OPT_SACK:
      return "sack";
    case SG_SIG_OPT_TS:
      return "ts";
    case SG_SIG_OPT_EOL:
      return "eol";
    case SG_SIG_OPT_TFO:
      return "tfo";
    case SG_SIG_OPT_MD5:
      return "md5";
    case SG_SIG_OPT_MPTCP:
      return "mptcp";
    case SG_SIG_OPT_AO:
      return "ao";
    case SG_SIG_OPT_EXP:
      return "exp";
    default:
      return "?";
  }
}

std::string layoutText(uint64_t l) {
  std::string out;
  for (int i = 0; i < SG_SIG_MAX_OPTS; i++) {
    const unsigned code = (l >> (4 * i)) & 0xf;
    if (code == 0) break;
    out += (out.empty() ? "" : ",") + optName(code);
  }
  return out.empty() ? "-" : out;
}

std::string flagsText(uint8_t f) {
  static const char* const kNames[] = {"F", "S", "R", "P", "A", "U", "ECE", "CWR"};
  std::string out;
  for (int i = 0; i < 8; i++) {
    if (f & (1u << i)) out += (out.empty() ? "" : ",") + std::string(kNames[i]);
  }
  return out.empty() ? "-" : out;
}

std::string quirksText(uint8_t q) {
  static const char* const kNames[] = {"df", "id0", "uptr", "ack", "data", "opts", "ipopt", "rsv"};
  std::string out;
  for (int i = 0; i < 8; i++) {
    if (q & (1u << i)) out += (out.empty() ? "" : ",") + std::string(kNames[i]);
  }
  return out.empty() ? "-" : out;
}

}  // namespace

std::string describe(const sg_sig& s) {
  const sg_sig_fp& m = s.mask;
  const sg_sig_fp& v = s.value;
  std::string out = v.family == 6 ? "v6" : "v4";
  if (m.olayout) out += " opts=" + layoutText(v.olayout);
  if (m.mss) out += " mss=" + (v.mss ? std::to_string(v.mss) : std::string("-"));
  if (m.wscale) out += " ws=" + (v.wscale == 0xff ? std::string("-") : std::to_string(v.wscale));
  if (m.win) out += " win=" + std::to_string(v.win);
  if (m.ttl) out += " ttl<=" + std::to_string(v.ttl);
  if (m.flags) out += " flags=" + flagsText(v.flags);
  if (m.ip_len) out += " len=" + std::to_string(v.ip_len);
  if (m.quirks) out += " quirks=" + quirksText(v.quirks);
  return out;
}

std::string describe(const sg_sig_fp& fp) { return describe(exactSignature(fp)); }

}  // namespace sg
