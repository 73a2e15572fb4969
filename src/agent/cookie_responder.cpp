#include "agent/cookie_responder.h"

#include <algorithm>

namespace sg::agent {

namespace {

Address dstOf(const PortFlood& flood) {
  Address a;
  a.raw = flood.dst;
  return a;
}

}  // namespace

Result<std::string> CookieResponder::engage(const PortFlood& flood, const ResponsePlan& plan,
                                            std::vector<Prefix>* engaged) {
  (void)plan;  // cookies answer any flood, spread or concentrated
  (void)engaged;
  const Address dst = dstOf(flood);
  const std::string target = formatTarget(flood.dst, flood.dst_port);
  if (lost_) tryRegain(flood.detected_ns);  // a new flood is worth one try now
  if (lost_) {
    // No table to back cookies: they come on when a retry makes it again.
    suspended_[target] = Target{flood.dst_port, dst};
    return makeError(Errc::kUnavailable, "syncookies (" + port_.mode() + ") for " + target +
                                             ": held off, the SYNPROXY table cannot be made "
                                             "(retried)");
  }
  auto r = port_.engage(flood.dst_port, dst);
  if (!r) {
    // Perhaps the SYNPROXY table went (nftables flushed): put it back, try once more.
    if (auto fixed = port_.repair(); fixed && *fixed) {
      noteRepaired();
      r = port_.engage(flood.dst_port, dst);
    }
  }
  if (!r) {
    return makeError(r.error().code(), "syncookies (" + port_.mode() + ") for " + target + ": " +
                                           r.error().message());
  }
  engaged_[target] = Target{flood.dst_port, dst};
  return std::string("syncookies");
}

Result<void> CookieResponder::hold(const PortFlood& flood, uint64_t now_ns) {
  const std::string target = formatTarget(flood.dst, flood.dst_port);
  if (engaged_.count(target) == 0 && suspended_.count(target) == 0) return Ok{};
  if (lost_) {
    if (now_ns >= retry_ns_) tryRegain(now_ns);
  } else if (now_ns >= check_ns_) {
    checkTable(now_ns);
  }
  if (auto u = unreported_.find(target); u != unreported_.end()) {
    const std::string why = u->second;
    unreported_.erase(u);
    return makeError(Errc::kUnavailable, "syncookies off for " + target + ": " + why);
  }
  return Ok{};
}

Result<void> CookieResponder::release(const PortFlood& flood) {
  const std::string target = formatTarget(flood.dst, flood.dst_port);
  suspended_.erase(target);  // off already: nothing to undo
  unreported_.erase(target);
  auto it = engaged_.find(target);
  if (it == engaged_.end()) return Ok{};
  if (auto r = port_.release(flood.dst_port, dstOf(flood)); !r) {
    // Kept: the next flood's end (or the agent's stop) tries again.
    return makeError(r.error().code(), "syncookies off for " + target + ": " + r.error().message());
  }
  engaged_.erase(it);
  return Ok{};
}

void CookieResponder::noteRepaired() {
  counters_.repairs++;
  log_.emit("warning", {{"message",
                         "the SYNPROXY table was gone (nftables flushed?): made again with its "
                         "ports and challenged sources"},
                        {"syncookies", engaged_.size()}});
}

void CookieResponder::checkTable(uint64_t now) {
  check_ns_ = now + kCheckNs;
  auto fixed = port_.repair();
  if (!fixed) {
    loseTable(now, fixed.error().message());
    return;
  }
  if (*fixed) noteRepaired();
}

void CookieResponder::loseTable(uint64_t now, const std::string& why) {
  lost_ = true;
  backoff_ns_ = backoff_ns_ == 0 ? kRetryNs : std::min(backoff_ns_ * 2, kRetryMaxNs);
  retry_ns_ = now + backoff_ns_;
  // XDP stops answering first: a cookie's ACK would find no SYNPROXY, and
  // every client of the port would fail. The kernel's own path takes the port.
  nlohmann::json targets = nlohmann::json::array();
  for (const auto& [target, t] : engaged_) {
    std::string effect = "the SYNPROXY table is gone and cannot be made again (" + why +
                         "): the port is left to the kernel until it can";
    if (auto r = port_.release(t.port, t.dst); !r) {
      effect += "; turning them off failed too: " + r.error().message();
    }
    counters_.lifted++;
    suspended_[target] = t;
    unreported_[target] = effect;
    targets.push_back(target);
  }
  engaged_.clear();
  if (lost_once_.failed()) {  // one line a run: the retries' failures are not logged
    log_.emit("error", {{"message", "SYN cookies have no SYNPROXY table behind them: " + why},
                        {"effect",
                         "cookies are off for every flooded port (the kernel's own SYN "
                         "handling takes them) until the table can be made again"},
                        {"targets", targets},
                        {"retry_ms", backoff_ns_ / 1'000'000}});
  }
}

void CookieResponder::tryRegain(uint64_t now) {
  auto fixed = port_.repair();
  if (!fixed) {
    backoff_ns_ = std::min(backoff_ns_ * 2, kRetryMaxNs);
    retry_ns_ = now + backoff_ns_;
    return;
  }
  if (*fixed) noteRepaired();
  nlohmann::json back = nlohmann::json::array();
  for (auto it = suspended_.begin(); it != suspended_.end();) {
    if (!port_.engage(it->second.port, it->second.dst)) {
      ++it;
      continue;
    }
    back.push_back(it->first);
    engaged_[it->first] = it->second;
    unreported_.erase(it->first);
    it = suspended_.erase(it);
  }
  check_ns_ = now + kCheckNs;
  if (!suspended_.empty()) {  // the table is back, turning cookies on is not: later
    backoff_ns_ = std::min(backoff_ns_ * 2, kRetryMaxNs);
    retry_ns_ = now + backoff_ns_;
    return;
  }
  lost_ = false;
  backoff_ns_ = 0;
  if (const uint64_t n = lost_once_.succeeded(); n > 0) {
    log_.emit("recovered",
              {{"what", "SYN cookies' SYNPROXY table"}, {"failed", n}, {"syncookies", back}});
  }
}

std::string CookieResponder::metricsText() const {
  std::string out;
  auto metric = [&out](const char* name, const char* help, uint64_t v) {
    out += std::string("# HELP syn_guard_") + name + " " + help + "\n# TYPE syn_guard_" + name +
           " counter\nsyn_guard_" + name + " " + std::to_string(v) + "\n";
  };
  metric("agent_cookie_repairs_total",
         "Times the SYNPROXY table port SYN cookies rely on was found gone (nftables flushed) and "
         "made again",
         counters_.repairs);
  metric("agent_cookies_lifted_total",
         "Flooded ports whose SYN cookies were turned off because the SYNPROXY table could not "
         "be made again",
         counters_.lifted);
  return out;
}

}  // namespace sg::agent
