#include "agent/port_flood_watch.h"

#include <algorithm>
#include <cmath>

namespace sg::agent {

namespace {

double rounded(double v, double unit) { return std::round(v / unit) * unit; }

nlohmann::json prefixesJson(const std::vector<Prefix>& prefixes) {
  nlohmann::json a = nlohmann::json::array();
  for (const Prefix& p : prefixes) a.push_back(p.str());
  return a;
}

}  // namespace

Result<std::string> BookPrefixResponder::engage(const PortFlood& flood, const ResponsePlan& plan,
                                                std::vector<Prefix>* engaged) {
  if (plan.prefixes.empty()) return std::string("none");
  const std::string target = formatTarget(flood.dst, flood.dst_port);
  std::string errors;
  auto& mine = engaged_[target];
  for (const Prefix& p : plan.prefixes) {
    if (std::find(mine.begin(), mine.end(), p) != mine.end()) continue;
    const auto current = book_.prefixBlockWrite(p);
    auto own = owned_.find(p);
    const bool ours = own != owned_.end() && current == own->second.write;
    if (current && !ours) {
      // Someone else's (the operator's, or one from before this agent
      // started): left as it is, and in place at the end.
      if (own != owned_.end()) owned_.erase(own);  // the operator took it over
      continue;
    }
    // Not blocked (or its block expired), or ours: (re)blocked for the block
    // duration from now, held by one more flood.
    Owned fresh;
    Owned& o = own != owned_.end() ? own->second : fresh;
    if (auto r = blockFor(p, flood.detected_ns, o); !r) {
      errors += (errors.empty() ? "" : "; ") + p.str() + ": " + r.error().message();
      continue;
    }
    if (own == owned_.end()) own = owned_.emplace(p, o).first;
    own->second.floods++;
    mine.push_back(p);
    engaged->push_back(p);
  }
  if (engaged->empty() && !errors.empty()) return makeError(Errc::kUnavailable, errors);
  if (!errors.empty()) return makeError(Errc::kUnavailable, "partly engaged: " + errors);
  return std::string("prefix_block");
}

Result<void> BookPrefixResponder::blockFor(const Prefix& p, uint64_t now_ns, Owned& o) {
  const Nanos duration = duration_();
  auto r = book_.blockPrefix(p, duration, SG_PFX_FLOOD);  // verified sources pass it
  if (!r) return r.error();
  o.write = book_.prefixBlockWrite(p).value_or(0);
  o.renew_ns = now_ns + static_cast<uint64_t>(std::max<int64_t>(duration.count(), 0)) / 2;
  return Ok{};
}

Result<void> BookPrefixResponder::hold(const PortFlood& flood, uint64_t now_ns) {
  auto it = engaged_.find(formatTarget(flood.dst, flood.dst_port));
  if (it == engaged_.end()) return Ok{};
  std::string errors;
  for (const Prefix& p : it->second) {
    auto own = owned_.find(p);
    if (own == owned_.end()) continue;  // taken over by the operator
    Owned& o = own->second;
    const auto current = book_.prefixBlockWrite(p);
    if (current && *current != o.write) {
      owned_.erase(own);  // blocked again by the operator: theirs now, left as it is
      continue;
    }
    if (!current && book_.prefixLiftedSince(p, o.write)) {
      // Unblocked by the operator or the console (a false positive: a CDN's
      // or a NAT's prefix): it stays open for the rest of the flood.
      owned_.erase(own);
      continue;
    }
    // Ours, or ran out and swept: renewed at half its duration, so the flood
    // never finds its prefixes open (a sweep late by half the duration aside).
    if (current && now_ns < o.renew_ns) continue;
    if (auto r = blockFor(p, now_ns, o); !r) {
      o.renew_ns = now_ns + kRetryNs;
      errors += (errors.empty() ? "" : "; ") + p.str() + ": " + r.error().message();
    }
  }
  if (!errors.empty()) return makeError(Errc::kUnavailable, "renewing " + errors);
  return Ok{};
}

Result<void> BookPrefixResponder::release(const PortFlood& flood) {
  auto it = engaged_.find(formatTarget(flood.dst, flood.dst_port));
  if (it == engaged_.end()) return Ok{};
  for (const Prefix& p : it->second) {
    auto own = owned_.find(p);
    if (own == owned_.end()) continue;       // taken over by the operator
    if (--own->second.floods > 0) continue;  // another flood still holds it
    // Lifted only when the block in force is still the one it made.
    if (book_.prefixBlockWrite(p) == own->second.write) (void)book_.unblockPrefix(p);
    owned_.erase(own);
  }
  engaged_.erase(it);
  return Ok{};
}

nlohmann::json portFloodJson(const PortFlood& f, bool ended) {
  Address dst;
  dst.raw = f.dst;
  nlohmann::json top = nlohmann::json::array();
  for (const PrefixShare& p : f.top_prefixes) {
    top.push_back({{"prefix", p.prefix.str()}, {"share", rounded(p.share, 0.001)}});
  }
  nlohmann::json j = {{"dst", dst.str()},
                      {"dst_port", f.dst_port},
                      {"reason", f.reason},
                      {"rate", rounded(f.rate, 1)},
                      {"normal_rate", rounded(f.normal_rate, 0.1)},
                      {"distinct_sources", f.distinct_sources},
                      {"completion_ratio", rounded(f.completion_ratio, 0.001)},
                      {"top_prefixes", top},
                      {"response", f.response},
                      {"response_prefixes", prefixesJson(f.response_prefixes)}};
  if (ended) {
    j["duration_ms"] = (f.ended_ns - f.first_ns) / 1'000'000;
    j["peak_rate"] = rounded(f.peak_rate, 1);
    j["attempts"] = f.attempts;
    j["distinct_sources"] = f.total_distinct_sources;  // over the whole flood
  } else {
    j["since_first_ms"] = (f.detected_ns - f.first_ns) / 1'000'000;
  }
  return j;
}

PortFloodWatch::PortFloodWatch(const PortFloodOptions& options, bool handshakes_visible,
                               EventLog& log, std::vector<PortFloodResponder*> responders)
    : detector_(options, handshakes_visible), log_(log) {
  for (PortFloodResponder* r : responders) {
    if (r != nullptr) responders_.push_back(r);
  }
}

void PortFloodWatch::onDetected(PortFlood flood) {
  counters_.detected++;
  const ResponsePlan plan = planResponse(flood, detector_.options(), allow_);
  std::string response, error;
  for (PortFloodResponder* responder : responders_) {
    const size_t before = flood.response_prefixes.size();
    auto r = responder->engage(flood, plan, &flood.response_prefixes);
    std::string kind = r ? *r : "none";
    if (!r) {
      error += (error.empty() ? "" : "; ") + r.error().message();
      // Partly engaged: what took effect is still shown (and undone).
      if (flood.response_prefixes.size() > before) kind = plan.kind();
    }
    if (kind != "none") response += (response.empty() ? "" : "+") + kind;
  }
  if (!error.empty()) counters_.response_errors++;
  flood.response = response.empty() ? "none" : response;
  if (flood.response != "none") counters_.responses++;
  nlohmann::json j = portFloodJson(flood, false);
  j["response_why"] = plan.why;
  if (!error.empty()) j["response_error"] = error;
  log_.emit("port_flood_detected", j);
  engaged_[formatTarget(flood.dst, flood.dst_port)] = flood;
}

void PortFloodWatch::onEnded(const PortFlood& ended) {
  counters_.ended++;
  PortFlood f = ended;
  auto it = engaged_.find(formatTarget(f.dst, f.dst_port));
  if (it != engaged_.end()) {
    f.response = it->second.response;
    f.response_prefixes = it->second.response_prefixes;
    engaged_.erase(it);
  }
  std::string error;
  for (auto r = responders_.rbegin(); r != responders_.rend(); ++r) {
    if (auto u = (*r)->release(f); !u) error += (error.empty() ? "" : "; ") + u.error().message();
  }
  if (!error.empty()) counters_.response_errors++;
  nlohmann::json j = portFloodJson(f, true);
  j["response_undone"] = f.response != "none" && error.empty();
  if (!error.empty()) j["response_error"] = error;
  log_.emit("port_flood_ended", j);
}

void PortFloodWatch::holdActive(uint64_t now_ns) {
  for (const PortFlood& f : detector_.active()) {
    auto it = engaged_.find(formatTarget(f.dst, f.dst_port));
    if (it == engaged_.end() || it->second.response == "none") continue;
    std::string error;
    for (PortFloodResponder* responder : responders_) {
      if (auto r = responder->hold(it->second, now_ns); !r) {
        error += (error.empty() ? "" : "; ") + r.error().message();
      }
    }
    if (error.empty()) continue;
    counters_.response_errors++;
    nlohmann::json j = portFloodJson(it->second, false);
    j["response_error"] = error;
    log_.emit("port_flood_response_error", j);
  }
}

void PortFloodWatch::onSamples(uint64_t now_ns, const std::vector<DstSample>& samples) {
  for (PortFloodEvent& e : detector_.onSamples(now_ns, samples)) {
    if (e.kind == PortFloodEvent::Kind::kDetected) {
      onDetected(std::move(e.flood));
    } else {
      onEnded(e.flood);
    }
  }
  holdActive(now_ns);
}

nlohmann::json PortFloodWatch::statusJson() const {
  nlohmann::json floods = nlohmann::json::array();
  for (PortFlood f : detector_.active()) {
    auto it = engaged_.find(formatTarget(f.dst, f.dst_port));
    if (it != engaged_.end()) {
      f.response = it->second.response;
      f.response_prefixes = it->second.response_prefixes;
    }
    nlohmann::json j = portFloodJson(f, false);
    j["peak_rate"] = rounded(f.peak_rate, 1);
    j["attempts"] = f.attempts;
    floods.push_back(j);
  }
  return {{"active", floods},
          {"detected", counters_.detected},
          {"ended", counters_.ended},
          {"enabled", detector_.options().enabled}};
}

std::string portFloodMetrics(const PortFloodCounters& c, size_t active) {
  std::string out;
  auto metric = [&out](const char* name, const char* type, const char* help, uint64_t v) {
    out += std::string("# HELP syn_guard_") + name + " " + help + "\n# TYPE syn_guard_" + name +
           " " + type + "\nsyn_guard_" + name + " " + std::to_string(v) + "\n";
  };
  metric("port_floods_detected_total", "counter", "Port floods detected (port_flood_detected)",
         c.detected);
  metric("port_floods_ended_total", "counter", "Port floods ended (port_flood_ended)", c.ended);
  metric("port_flood_responses_total", "counter",
         "Port floods answered with a response (prefix blocks, SYN cookies)", c.responses);
  metric("port_flood_response_errors_total", "counter",
         "Port-flood responses that failed to engage or to be undone, wholly or in part",
         c.response_errors);
  metric("port_floods_active", "gauge", "Port floods going on now", active);
  return out;
}

}  // namespace sg::agent
