#include "core/replay_ports.h"

#include <algorithm>
#include <cstring>

namespace sg {

namespace {

constexpr size_t kMaxFpCounts = 4096;  // distinct fingerprints counted per target
// How often a flood's signatures are chosen again (the agent's cadence).
constexpr uint64_t kRechooseNs = 1'000'000'000;
const uint64_t kInterval = static_cast<uint64_t>(kDstSampleInterval.count());

double concentrationOf(const PortFlood& f, uint32_t max_prefixes) {
  double share = 0;
  for (size_t i = 0; i < f.top_prefixes.size() && i < max_prefixes; i++) {
    share += f.top_prefixes[i].share;
  }
  return share;
}

SignatureOptions signatureOptionsOf(const PortFloodOptions& o) {
  SignatureOptions s;
  s.min_coverage = o.signature_coverage;
  s.max_normal_share = o.signature_normal_share;
  return s;
}

}  // namespace

// Past the bound a fingerprint is in the total only: the normal share then
// counts it as unmatched (the bound is far above any real port's stacks).
void PortReplay::FpCounts::add(const Words& w, uint64_t n) {
  total += n;
  auto it = counts.find(w);
  if (it != counts.end()) {
    it->second += n;
  } else if (counts.size() < kMaxFpCounts) {
    counts.emplace(w, n);
  }
}

void PortReplay::FpCounts::merge(const FpCounts& other) {
  uint64_t counted = 0;
  for (const auto& [w, n] : other.counts) {
    add(w, n);
    counted += n;
  }
  total += other.total - counted;
}

PortReplay::PortReplay(const PortFloodOptions& options, const sg_hash_key& key,
                       uint8_t v6_prefix_len, std::vector<Prefix> allow)
    : options_(options),
      allow_(std::move(allow)),
      table_(options.max_dsts, key, v6_prefix_len),
      detector_(options, /*handshakes_visible=*/true),
      next_sample_ns_(kInterval) {}

void PortReplay::record(const PortFloodEvent& e) {
  const std::string target = formatTarget(e.flood.dst, e.flood.dst_port);
  if (e.kind == PortFloodEvent::Kind::kDetected) {
    ReplayPortFlood r;
    r.flood = e.flood;
    r.first_packet_ns = e.flood.first_ns;
    for (const auto& [tick, first] : first_attempts_[target]) {
      if (first >= e.flood.first_ns) {
        r.first_packet_ns = first;
        break;
      }
    }
    r.response = planResponse(e.flood, options_, allow_);
    r.flood.response = r.response.kind();
    r.flood.response_prefixes = r.response.prefixes;
    if (options_.signature_drop) {
      learner_.startFlood(e.flood.dst, e.flood.dst_port, e.flood.first_ns);
      // The target's attempts before the flood's start are its normal ones.
      SigTarget& t = sig_targets_[target];
      for (const auto& [tick, counts] : t.recent) {
        if ((tick + 1) * kInterval > e.flood.first_ns) {
          r.signature.flood_attempts += counts.total;
        } else {
          t.normal.merge(counts);
        }
      }
      t.recent.clear();
      t.flooded = true;
      t.next_choice_ns = 0;
    }
    open_[target] = floods_.size();
    floods_.push_back(r);
    return;
  }
  auto it = open_.find(target);
  if (it == open_.end()) return;
  ReplayPortFlood& r = floods_[it->second];
  const PortFlood detected = r.flood;
  r.flood = e.flood;
  r.flood.response = detected.response;
  r.flood.response_prefixes = detected.response_prefixes;
  r.ended = true;
  open_.erase(it);
  if (options_.signature_drop) {
    learner_.endFlood(e.flood.dst, e.flood.dst_port);
    sig_targets_[target].active.clear();
  }
}

void PortReplay::chooseFor(ReplayPortFlood& r, SigTarget& t, uint64_t now_ns) {
  if (now_ns < t.next_choice_ns) return;
  const PortFlood& f = r.flood;
  const SignatureChoice c =
      chooseSignatures(learner_.flood(f.dst, f.dst_port), learner_.baseline(f.dst, f.dst_port),
                       signatureOptionsOf(options_));
  // Waiting for samples: try at the next harvest; else again in a second.
  if (c.ok() || c.why.rfind("waiting", 0) != 0) t.next_choice_ns = now_ns + kRechooseNs;
  if (!c.ok()) {
    if (!r.signature.chosen_ns) r.signature.why = c.why;
    return;  // the signatures in force (if any) stay
  }
  t.active = c.signatures;
  r.signature.signatures = c.signatures;
  r.signature.why = c.why;
  r.signature.sampled_coverage = c.coverage;
  if (!r.signature.chosen_ns) r.signature.chosen_ns = now_ns;
}

void PortReplay::countSignature(const sg_pkt& pkt, uint64_t t_ns, const sg_sig_fp& fp) {
  const std::string target = formatTarget(pkt.dst, pkt.dst_port);
  auto open = open_.find(target);
  if (open != open_.end()) {
    ReplaySignature& s = floods_[open->second].signature;
    s.flood_attempts++;
    const SigTarget& t = sig_targets_[target];
    if (!t.active.empty()) {
      s.attempts_after++;
      if (matchesAny(fp, t.active)) s.dropped++;
    }
    return;
  }
  if (sig_targets_.size() >= options_.max_dsts && sig_targets_.count(target) == 0) return;
  SigTarget& t = sig_targets_[target];
  // After a flood: its low-rate tail (the spoofed capture's 80 SYNs/s after
  // its surges) is no normal traffic; the normal stays what came before.
  if (t.flooded) return;
  Words w;
  std::memcpy(w.data(), &fp, sizeof(fp));
  t.recent[t_ns / kInterval].add(w, 1);
  // Older than the detector's window (and a margin): before any start a
  // detection could still give a flood, so normal.
  const uint64_t keep = static_cast<uint64_t>(options_.rate_window.count()) / kInterval + 3;
  while (!t.recent.empty() && t.recent.begin()->first + keep < t_ns / kInterval) {
    t.normal.merge(t.recent.begin()->second);
    t.recent.erase(t.recent.begin());
  }
}

void PortReplay::sampleUntil(uint64_t t_ns) {
  while (next_sample_ns_ <= t_ns) {
    if (idle_) next_sample_ns_ = std::max(next_sample_ns_, t_ns - t_ns % kInterval);
    const std::vector<DstSample> samples = table_.harvest();
    if (options_.signature_drop) learner_.onSamples(next_sample_ns_, samples);
    for (const PortFloodEvent& e : detector_.onSamples(next_sample_ns_, samples)) {
      record(e);
    }
    if (options_.signature_drop) {
      for (const auto& [target, i] : open_) {
        chooseFor(floods_[i], sig_targets_[target], next_sample_ns_);
      }
    }
    idle_ = detector_.active().empty() &&
            std::all_of(samples.begin(), samples.end(),
                        [](const DstSample& s) { return s.bank_attempts == 0; });
    next_sample_ns_ += kInterval;
  }
}

void PortReplay::onPacket(const sg_pkt& pkt, uint64_t t_ns, const sg_sig_fp* fp, bool completes) {
  sampleUntil(t_ns);
  if (completes) table_.onCompletion(pkt.dst, pkt.dst_port);
  if (sg_pkt_is_attempt(&pkt)) {
    table_.onAttempt(pkt, fp);
    if (options_.signature_drop && fp != nullptr) countSignature(pkt, t_ns, *fp);
    auto& firsts = first_attempts_[formatTarget(pkt.dst, pkt.dst_port)];
    firsts.emplace(t_ns / kInterval, t_ns);  // keeps the first of each interval
    const uint64_t keep = static_cast<uint64_t>(options_.rate_window.count()) / kInterval + 2;
    while (firsts.size() > keep) firsts.erase(firsts.begin());
  }
}

std::vector<ReplayPortFlood> PortReplay::finish(uint64_t t_ns) {
  sampleUntil(t_ns);
  // Floods still on at the end: their latest figures.
  for (const PortFlood& f : detector_.active()) {
    auto it = open_.find(formatTarget(f.dst, f.dst_port));
    if (it == open_.end()) continue;
    ReplayPortFlood& r = floods_[it->second];
    const PortFlood detected = r.flood;
    r.flood = f;
    r.flood.completion_ratio =
        f.attempts ? std::min(1.0, static_cast<double>(f.completions) / f.attempts) : 1.0;
    r.flood.response = detected.response;
    r.flood.response_prefixes = detected.response_prefixes;
  }
  for (ReplayPortFlood& r : floods_) {
    r.concentration = concentrationOf(r.flood, options_.max_prefixes);
    // The normal attempts the last signatures match (the target's, before any flood).
    auto t = sig_targets_.find(formatTarget(r.flood.dst, r.flood.dst_port));
    if (t == sig_targets_.end()) continue;
    r.signature.normal_attempts = t->second.normal.total;
    r.signature.normal_matched = 0;
    for (const auto& [w, n] : t->second.normal.counts) {
      sg_sig_fp fp;
      std::memcpy(&fp, w.data(), sizeof(fp));
      if (matchesAny(fp, r.signature.signatures)) r.signature.normal_matched += n;
    }
  }
  return floods_;
}

}  // namespace sg
