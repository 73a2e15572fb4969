#include "core/signature_learner.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace sg {

namespace {

// How often the baseline's weights decay.
constexpr uint64_t kDecayEveryNs = 10'000'000'000ull;

}  // namespace

SignatureLearner::Key SignatureLearner::keyOf(const sg_addr& dst, uint16_t port) {
  Key k;
  std::memcpy(k.first.data(), dst.b, 16);
  k.second = port;
  return k;
}

void SignatureLearner::learn(Target& t, const Held& h) {
  if (t.last_decay_ns == 0) t.last_decay_ns = h.ns;
  if (h.ns - t.last_decay_ns >= kDecayEveryNs) {
    const double keep = std::exp(-static_cast<double>(h.ns - t.last_decay_ns) /
                                 static_cast<double>(options_.learn_window.count()));
    for (auto& [fp, w] : t.baseline) w *= keep;
    t.last_decay_ns = h.ns;
  }
  for (const WeightedFp& s : h.samples) {
    Words w;
    std::memcpy(w.data(), &s.fp, sizeof(s.fp));
    auto it = t.baseline.find(w);
    if (it != t.baseline.end()) {
      it->second += s.weight;
      continue;
    }
    if (t.baseline.size() >= options_.max_baseline) {
      auto lightest =
          std::min_element(t.baseline.begin(), t.baseline.end(),
                           [](const auto& a, const auto& b) { return a.second < b.second; });
      t.baseline.erase(lightest);
    }
    t.baseline.emplace(w, s.weight);
  }
}

void SignatureLearner::onSamples(uint64_t now_ns, const std::vector<DstSample>& samples) {
  for (const DstSample& s : samples) {
    if (s.sig_count == 0) continue;
    const Key k = keyOf(s.addr, s.port);
    auto it = targets_.find(k);
    if (it == targets_.end()) {
      if (targets_.size() >= options_.max_targets) continue;
      it = targets_.emplace(k, Target{}).first;
    }
    Target& t = it->second;
    t.last_seen_ns = now_ns;
    Held h;
    h.ns = now_ns;
    const double weight = static_cast<double>(s.bank_attempts) / s.sig_count;
    for (uint32_t i = 0; i < s.sig_count && i < SG_SIG_SAMPLES; i++) {
      h.samples.push_back({s.sig[i], weight});
    }
    if (t.flooded) {
      for (const WeightedFp& f : h.samples) t.flood.push_back(f);
      while (t.flood.size() > options_.max_flood) t.flood.pop_front();
    } else {
      t.held.push_back(std::move(h));
    }
  }
  const auto hold = static_cast<uint64_t>(options_.hold.count());
  for (auto it = targets_.begin(); it != targets_.end();) {
    Target& t = it->second;
    while (!t.held.empty() && t.held.front().ns + hold <= now_ns) {
      learn(t, t.held.front());
      t.held.pop_front();
    }
    // Forgotten after a learn window without a sample (not while flooded).
    if (!t.flooded && t.last_seen_ns + options_.learn_window.count() < now_ns) {
      it = targets_.erase(it);
      continue;
    }
    ++it;
  }
}

void SignatureLearner::startFlood(const sg_addr& dst, uint16_t port, uint64_t first_ns) {
  auto it = targets_.find(keyOf(dst, port));
  if (it == targets_.end()) {
    if (targets_.size() >= options_.max_targets) return;
    it = targets_.emplace(keyOf(dst, port), Target{}).first;
  }
  Target& t = it->second;
  if (t.flooded) return;
  t.flooded = true;
  t.flood.clear();
  // Held harvests: those before the flood are normal, the rest its own.
  for (const Held& h : t.held) {
    if (h.ns <= first_ns) {
      learn(t, h);
      continue;
    }
    for (const WeightedFp& f : h.samples) t.flood.push_back(f);
  }
  t.held.clear();
  while (t.flood.size() > options_.max_flood) t.flood.pop_front();
}

void SignatureLearner::endFlood(const sg_addr& dst, uint16_t port) {
  auto it = targets_.find(keyOf(dst, port));
  if (it == targets_.end()) return;
  it->second.flooded = false;
  it->second.flood.clear();
}

std::vector<WeightedFp> SignatureLearner::flood(const sg_addr& dst, uint16_t port) const {
  auto it = targets_.find(keyOf(dst, port));
  if (it == targets_.end()) return {};
  return {it->second.flood.begin(), it->second.flood.end()};
}

std::vector<WeightedFp> SignatureLearner::baseline(const sg_addr& dst, uint16_t port) const {
  std::vector<WeightedFp> out;
  auto it = targets_.find(keyOf(dst, port));
  if (it == targets_.end()) return out;
  for (const auto& [w, weight] : it->second.baseline) {
    WeightedFp f;
    std::memcpy(&f.fp, w.data(), sizeof(f.fp));
    f.weight = weight;
    out.push_back(f);
  }
  return out;
}

}  // namespace sg
