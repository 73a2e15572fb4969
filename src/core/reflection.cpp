#include "core/reflection.h"

#include <algorithm>

namespace sg {

namespace {

constexpr size_t kTop = 8;

template <typename K>
std::vector<SourceShare> topOf(const std::map<K, uint64_t>& counts, std::string (*name)(const K&)) {
  std::vector<std::pair<uint64_t, const K*>> all;
  all.reserve(counts.size());
  for (const auto& [k, n] : counts) all.emplace_back(n, &k);
  const size_t n = std::min(kTop, all.size());
  std::partial_sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(n), all.end(),
                    [](const auto& a, const auto& b) { return a.first > b.first; });
  std::vector<SourceShare> out;
  for (size_t i = 0; i < n; i++) out.push_back({name(*all[i].second), all[i].first});
  return out;
}

std::string sameText(const std::string& s) { return s; }
std::string portText(const uint16_t& p) { return std::to_string(p); }

Result<void> spanCheck(const char* name, Nanos v, Nanos lo, Nanos hi) {
  if (v < lo || v > hi) {
    return makeError(Errc::kInvalidArgument, std::string(name) + ": " + formatDuration(v) +
                                                 " is out of range " + formatDuration(lo) + ".." +
                                                 formatDuration(hi));
  }
  return Ok{};
}

}  // namespace

Result<void> validateReflectionOptions(const ReflectionOptions& o) {
  using std::chrono::hours;
  using std::chrono::milliseconds;
  using std::chrono::seconds;
  if (!(o.threshold >= 1 && o.threshold <= 1e9)) {
    return makeError(
        Errc::kInvalidArgument,
        "reflection_threshold: " + std::to_string(o.threshold) + " is out of range 1..1e9");
  }
  SG_TRY(spanCheck("reflection_window", o.rate_window, milliseconds(100), seconds(60)));
  SG_TRY(spanCheck("reflection_end_after", o.end_after, milliseconds(100), hours(1)));
  return Ok{};
}

Result<void> validateVerifiedOptions(const VerifiedOptions& o) {
  SG_TRY(spanCheck("verified_ttl", o.ttl, std::chrono::seconds(1), std::chrono::hours(24 * 7)));
  if (o.max_entries < 1024 || o.max_entries > (4u << 20)) {
    return makeError(Errc::kInvalidArgument, "max_verified: " + std::to_string(o.max_entries) +
                                                 " is out of range 1024..4194304");
  }
  if (o.per_prefix < 1 || o.per_prefix > 65536) {
    return makeError(
        Errc::kInvalidArgument,
        "verified_per_prefix: " + std::to_string(o.per_prefix) + " is out of range 1..65536");
  }
  return Ok{};
}

std::vector<ReflectorCount> ReflectionDetector::windowReflectors() const {
  std::vector<ReflectorCount> out;
  for (const Sample& s : window_) out.insert(out.end(), s.seen.begin(), s.seen.end());
  return out;
}

void ReflectionDetector::absorb(const std::vector<ReflectorCount>& seen) {
  for (const ReflectorCount& r : seen) {
    const std::string src = r.src.str();
    auto it = sources_.find(src);
    if (it != sources_.end()) {
      it->second += r.count;
    } else if (sources_.size() < kMaxTracked) {
      sources_.emplace(src, r.count);
    }
    ports_[r.port] += r.count;  // at most 65536 keys
  }
}

void ReflectionDetector::summarise() {
  Reflection& r = *active_;
  r.distinct_reflectors = sources_.size();
  r.top_sources = topOf<std::string>(sources_, sameText);
  r.top_ports = topOf<uint16_t>(ports_, portText);
}

std::optional<ReflectionEvent> ReflectionDetector::onSample(
    uint64_t now_ns, uint64_t unmatched_total, const std::vector<ReflectorCount>& seen) {
  if (!window_.empty() && unmatched_total < window_.back().total) {
    window_.clear();  // the counter restarted (a new program): measure afresh
    base_total_ = 0;
  }
  window_.push_back({now_ns, unmatched_total, seen});
  const auto rw = static_cast<uint64_t>(options_.rate_window.count());
  while (window_.size() >= 2 && window_[1].ns + rw <= now_ns) window_.pop_front();
  const Sample& base = window_.front();
  const uint64_t dt = std::max(now_ns - base.ns, rw);
  rate_ = static_cast<double>(unmatched_total - base.total) * 1e9 / static_cast<double>(dt);
  const bool over = rate_ > options_.threshold;

  if (!active_) {
    if (!over) return std::nullopt;
    active_.emplace();
    sources_.clear();
    ports_.clear();
    base_total_ = base.total;
    Reflection& r = *active_;
    // The start: the window's first harvest whose own rate was over the threshold.
    r.first_ns = now_ns;
    for (size_t i = 1; i < window_.size(); i++) {
      const Sample& a = window_[i - 1];
      const Sample& b = window_[i];
      const double own = static_cast<double>(b.total - a.total) * 1e9 /
                         static_cast<double>(std::max<uint64_t>(b.ns - a.ns, 1));
      if (own > options_.threshold && r.first_ns == now_ns) r.first_ns = b.ns;
      absorb(b.seen);
    }
    r.detected_ns = now_ns;
    r.rate = r.peak_rate = rate_;
    r.synacks = unmatched_total - base_total_;
    r.dropped = options_.drop;
    quiet_since_ns_ = 0;
    summarise();
    return ReflectionEvent{ReflectionEvent::Kind::kDetected, r};
  }
  Reflection& r = *active_;
  absorb(seen);
  r.rate = rate_;
  r.peak_rate = std::max(r.peak_rate, rate_);
  r.synacks = unmatched_total - base_total_;
  if (!seen.empty()) summarise();  // status and replay read the latest figures
  if (over) {
    quiet_since_ns_ = 0;
    return std::nullopt;
  }
  if (quiet_since_ns_ == 0) quiet_since_ns_ = now_ns;
  if (now_ns - quiet_since_ns_ < static_cast<uint64_t>(options_.end_after.count())) {
    return std::nullopt;
  }
  r.ended_ns = now_ns;
  summarise();
  ReflectionEvent e{ReflectionEvent::Kind::kEnded, r};
  active_.reset();
  return e;
}

nlohmann::json reflectionJson(const Reflection& r, bool ended) {
  auto shares = [](const std::vector<SourceShare>& v, const char* key) {
    nlohmann::json a = nlohmann::json::array();
    for (const SourceShare& s : v) {
      if (std::string_view(key) == "port") {
        a.push_back({{key, std::stoi(s.src)}, {"synacks", s.synacks}});
      } else {
        a.push_back({{key, s.src}, {"synacks", s.synacks}});
      }
    }
    return a;
  };
  nlohmann::json j{{"rate", r.rate},
                   {"peak_rate", r.peak_rate},
                   {"synacks", r.synacks},
                   {"distinct_reflectors", r.distinct_reflectors},
                   {"reflectors", shares(r.top_sources, "src")},
                   {"ports", shares(r.top_ports, "port")},
                   {"response", r.dropped ? "drop" : "none"}};
  if (ended) j["duration_ms"] = (r.ended_ns - r.first_ns) / 1'000'000;
  return j;
}

}  // namespace sg
