#include "agent/signature_responder.h"

#include <cmath>
#include <cstring>

namespace sg::agent {

namespace {

// How often an armed flood's signatures are chosen again.
constexpr uint64_t kRechooseNs = 1'000'000'000;

SignatureOptions signatureOptions(const PortFloodOptions& o) {
  SignatureOptions s;
  s.min_coverage = o.signature_coverage;
  s.max_normal_share = o.signature_normal_share;
  return s;
}

bool same(const std::vector<sg_sig>& a, const std::vector<sg_sig>& b) {
  return a.size() == b.size() &&
         (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(sg_sig)) == 0);
}

double rounded(double v, double unit) { return std::round(v / unit) * unit; }

}  // namespace

SignatureResponder::SignatureResponder(SensorPort& sensor, EventLog& log,
                                       const PortFloodOptions& options)
    : sensor_(sensor), log_(log), options_(options) {
  SignatureLearnerOptions lo;
  lo.learn_window = options.learn_window;
  lo.hold = options.rate_window + 5 * kDstSampleInterval;
  lo.max_targets = options.max_dsts;
  learner_ = SignatureLearner(lo);
}

bool SignatureResponder::choose(Armed& a, uint64_t now_ns) {
  const SignatureChoice c = chooseSignatures(
      learner_.flood(a.dst, a.port), learner_.baseline(a.dst, a.port), signatureOptions(options_));
  const bool waiting = !c.ok() && c.why.rfind("waiting", 0) == 0;
  a.next_ns = waiting ? 0 : now_ns + kRechooseNs;
  a.why = c.why;
  Address dst;
  dst.raw = a.dst;
  nlohmann::json j = {{"dst", dst.str()}, {"dst_port", a.port}, {"why", c.why}};
  if (!c.ok()) {
    // The signatures in force (if any) stay: the samples no longer separate
    // the flood, which does not make the old signatures match clients.
    if (!waiting && a.installed.empty() && !a.refusal_logged) {
      a.refusal_logged = true;
      j["action"] = "refused";
      log_.emit("port_flood_signature", j);
    }
    return !a.installed.empty();
  }
  if (same(c.signatures, a.installed)) return true;
  if (auto r = sensor_.setSignatures(a.dst, a.port, c.signatures); !r) {
    j["action"] = "error";
    j["error"] = r.error().message();
    log_.emit("port_flood_signature", j);
    return !a.installed.empty();
  }
  j["action"] = a.installed.empty() ? "installed" : "replaced";
  nlohmann::json sigs = nlohmann::json::array();
  for (const sg_sig& s : c.signatures) sigs.push_back(describe(s));
  j["signatures"] = sigs;
  j["coverage"] = rounded(c.coverage, 0.001);
  j["normal_share"] = rounded(c.normal_share, 0.00001);
  log_.emit("port_flood_signature", j);
  a.installed = c.signatures;
  return true;
}

void SignatureResponder::onSamples(uint64_t now_ns, const std::vector<DstSample>& samples) {
  learner_.onSamples(now_ns, samples);
  for (auto& [target, a] : armed_) {
    if (now_ns >= a.next_ns) choose(a, now_ns);
  }
}

Result<std::string> SignatureResponder::engage(const PortFlood& flood, const ResponsePlan& plan,
                                               std::vector<Prefix>* engaged) {
  (void)plan;
  (void)engaged;
  // The flood's samples are never the port's normal, switched on or not.
  learner_.startFlood(flood.dst, flood.dst_port, flood.first_ns);
  if (!options_.signature_drop) return std::string("none");
  const std::string target = formatTarget(flood.dst, flood.dst_port);
  Armed& a = armed_[target];
  a.dst = flood.dst;
  a.port = flood.dst_port;
  return std::string(choose(a, flood.detected_ns) ? "signature" : "none");
}

Result<void> SignatureResponder::release(const PortFlood& flood) {
  const std::string target = formatTarget(flood.dst, flood.dst_port);
  learner_.endFlood(flood.dst, flood.dst_port);
  auto it = armed_.find(target);
  if (it == armed_.end()) return Ok{};
  if (!it->second.installed.empty()) {
    if (auto r = sensor_.setSignatures(flood.dst, flood.dst_port, {}); !r) {
      // Kept armed: the next flood's end (or the agent's stop) tries again.
      return makeError(r.error().code(),
                       "signatures off for " + target + ": " + r.error().message());
    }
  }
  armed_.erase(it);
  return Ok{};
}

nlohmann::json SignatureResponder::statusJson() const {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& [target, a] : armed_) {
    nlohmann::json sigs = nlohmann::json::array();
    for (const sg_sig& s : a.installed) sigs.push_back(describe(s));
    out.push_back({{"target", target}, {"signatures", sigs}, {"why", a.why}});
  }
  return out;
}

}  // namespace sg::agent
