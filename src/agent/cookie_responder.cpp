#include "agent/cookie_responder.h"

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
  if (auto r = port_.engage(flood.dst_port, dst); !r) {
    return makeError(r.error().code(), "syncookies (" + port_.mode() + ") for " +
                                           formatTarget(flood.dst, flood.dst_port) + ": " +
                                           r.error().message());
  }
  engaged_.insert(formatTarget(flood.dst, flood.dst_port));
  return std::string("syncookies");
}

Result<void> CookieResponder::release(const PortFlood& flood) {
  const std::string target = formatTarget(flood.dst, flood.dst_port);
  if (engaged_.count(target) == 0) return Ok{};
  if (auto r = port_.release(flood.dst_port, dstOf(flood)); !r) {
    // Kept: the next flood's end (or the agent's stop) tries again.
    return makeError(r.error().code(), "syncookies off for " + target + ": " + r.error().message());
  }
  engaged_.erase(target);
  return Ok{};
}

}  // namespace sg::agent
