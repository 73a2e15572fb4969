#include "agent/reflection_watch.h"

#include <algorithm>
#include <cmath>
#include <map>

namespace sg::agent {

namespace {

double rounded(double v) { return std::round(v * 10) / 10; }

}  // namespace

std::vector<ReflectorCount> ReflectionWatch::busiestReflectors() const {
  std::map<std::pair<std::string, uint16_t>, ReflectorCount> sum;
  for (const ReflectorCount& r : detector_.windowReflectors()) {
    const std::string key(reinterpret_cast<const char*>(r.src.raw.b), sizeof r.src.raw.b);
    auto [it, added] = sum.try_emplace({key, r.port}, r);
    if (!added) it->second.count += r.count;
  }
  const double window_s = std::chrono::duration<double>(detector_.options().rate_window).count();
  const auto min_count =
      std::max(kDropMinSynAcks, static_cast<uint64_t>(std::ceil(kDropMinRate * window_s)));
  std::vector<ReflectorCount> out;
  for (const auto& [key, r] : sum) {
    if (r.count >= min_count) out.push_back(r);
  }
  std::sort(out.begin(), out.end(),
            [](const ReflectorCount& a, const ReflectorCount& b) { return a.count > b.count; });
  if (out.size() > SG_REFLECT_DROPS_MAX) out.resize(SG_REFLECT_DROPS_MAX);
  return out;
}

void ReflectionWatch::apply(const ReflectionOptions& options, const VerifiedOptions& verified,
                            bool detect_only) {
  ReflectionOptions reflection = options;
  if (detect_only) reflection.drop = false;  // the events then say response "none"
  detector_.setOptions(reflection);
  verified_ = verified;
  // A reflection on when the drop is switched off stops being dropped at once.
  dropping_ = reflection.enabled && reflection.drop && detector_.active().has_value();
  if (!dropping_) sensor_.clearReflectorDrops();
  sensor_.setReflection(reflection.enabled, dropping_);
  sensor_.setVerified(verified.enabled, static_cast<uint64_t>(verified.ttl.count()),
                      verified.per_prefix);
}

nlohmann::json ReflectionWatch::eventJson(const Reflection& r, bool ended) const {
  nlohmann::json j = reflectionJson(r, ended);
  if (r.dropped && !sensor_.reflectionCanDrop()) {
    j["response"] = "none";
    j["note"] =
        "not dropped: a NATed or forwarded connection's SYN-ACK cannot be told from a reflected "
        "one without the kernel's conntrack kfuncs (modprobe nf_conntrack, then restart the "
        "agent) and the host's address list in the XDP program (at most 1,024 addresses)";
  }
  return j;
}

bool ReflectionWatch::onTick(uint64_t now_ns) {
  const ReflectionOptions& o = detector_.options();
  if (!o.enabled) return false;
  auto c = sensor_.readCounters();
  if (!c) return false;
  const uint64_t unmatched = c->c[SG_CNT_SYNACK_UNMATCHED];
  std::vector<ReflectorCount> seen;
  if (unmatched != last_unmatched_) seen = sensor_.harvestReflectors();
  const bool moved = unmatched != last_unmatched_;
  last_unmatched_ = unmatched;
  auto e = detector_.onSample(now_ns, unmatched, seen);
  if (e && e->kind == ReflectionEvent::Kind::kDetected) {
    counters_.detected++;
    dropping_ = o.drop;
    if (dropping_) {
      // Only the busiest reflectors seen: never another server's SYN-ACKs.
      sensor_.addReflectorDrops(busiestReflectors());
      sensor_.setReflection(true, true);
    }
    log_.emit("reflection_detected", eventJson(e->reflection, false));
  } else if (e) {
    counters_.ended++;
    if (dropping_) {
      sensor_.setReflection(true, false);
      sensor_.clearReflectorDrops();
    }
    dropping_ = false;
    nlohmann::json j = eventJson(e->reflection, true);
    j["response_undone"] = e->reflection.dropped;
    log_.emit("reflection_ended", j);
  } else if (dropping_ && !seen.empty()) {
    // Reflectors that joined since (or reached the minimum since).
    if (auto busiest = busiestReflectors(); !busiest.empty()) sensor_.addReflectorDrops(busiest);
  }
  return moved || detector_.active().has_value();
}

nlohmann::json ReflectionWatch::statusJson() {
  nlohmann::json j{{"enabled", detector_.options().enabled},
                   {"threshold", detector_.options().threshold},
                   {"drop", detector_.options().drop},
                   {"rate", rounded(detector_.rate())},
                   {"detected", counters_.detected},
                   {"ended", counters_.ended},
                   {"active", nullptr}};
  if (const auto& on = detector_.active()) {
    nlohmann::json a = eventJson(*on, false);
    a["dropping"] = dropping_ && sensor_.reflectionCanDrop();
    j["active"] = a;
  }
  return {{"reflection", j},
          {"verified_sources",
           {{"enabled", verified_.enabled},
            {"ttl_ms", verified_.ttl.count() / 1'000'000},
            {"per_prefix", verified_.per_prefix},
            {"live", verified_.enabled ? sensor_.verifiedCount() : 0},
            {"capacity", sensor_.verifiedCapacity()}}}};
}

std::string ReflectionWatch::metricsText() const {
  std::string out;
  auto metric = [&out](const char* name, const char* type, const char* help, uint64_t v) {
    out += std::string("# HELP syn_guard_") + name + " " + help + "\n# TYPE syn_guard_" + name +
           " " + type + "\nsyn_guard_" + name + " " + std::to_string(v) + "\n";
  };
  metric("reflections_detected_total", "counter",
         "SYN-ACK reflections detected (reflection_detected)", counters_.detected);
  metric("reflections_ended_total", "counter", "SYN-ACK reflections ended (reflection_ended)",
         counters_.ended);
  metric("reflection_active", "gauge", "1 while a SYN-ACK reflection goes on",
         detector_.active() ? 1 : 0);
  return out;
}

}  // namespace sg::agent
