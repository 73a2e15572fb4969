// CookieResponse: SYN cookies on or off for a port under a flood, the one
// call the port-flood response needs. Mode xdp: the XDP program answers the
// port's SYNs with cookies (XdpSensor::setCookies, bpf/sg_syncookie.h) and
// the kernel's SYNPROXY (SynproxyRules) completes the handshakes whose ACK
// the program passed; mode nftables: SYNPROXY alone. engage() puts SYNPROXY
// in place before XDP answers, release() stops XDP first: an ACK to a cookie
// always finds SYNPROXY. Not thread-safe: the agent's loop thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "core/address.h"
#include "core/result.h"
#include "core/syncookie_config.h"
#include "linux/synproxy_rules.h"

namespace sg {

class XdpSensor;

class CookieResponse {
 public:
  // Makes the SYNPROXY table (empty: conntrack tracks from now on, see
  // synproxy_rules.h) and writes the SYN-ACK's parameters into the program.
  // `sensor` is needed for mode xdp (kInvalidArgument without it) and must
  // outlive this object; mode off is kInvalidArgument.
  static Result<std::unique_ptr<CookieResponse>> create(const SynCookieConfig& config,
                                                        XdpSensor* sensor);
  ~CookieResponse();  // releases every target, deletes the table
  CookieResponse(const CookieResponse&) = delete;
  CookieResponse& operator=(const CookieResponse&) = delete;

  // Cookies for `port` on every local address (`dst` unset) or on one.
  // Idempotent; on failure nothing stays half on.
  Result<void> engage(uint16_t port, const std::optional<Address>& dst = std::nullopt);
  Result<void> release(uint16_t port, const std::optional<Address>& dst = std::nullopt);
  bool engaged(uint16_t port, const std::optional<Address>& dst = std::nullopt) const;
  // SYNPROXY for every port from challenged sources (bpf/sg_challenge.h), or
  // no more, in one transaction; `v6_prefix`: the counting prefix an IPv6
  // source is masked to.
  Result<void> challenge(const std::vector<Address>& sources, uint8_t v6_prefix, bool on) {
    return on ? rules_->addSources(sources, v6_prefix) : rules_->removeSources(sources, v6_prefix);
  }
  // Makes the SYNPROXY table again, with every port and source it held, when
  // it went (SynproxyRules::repair).
  Result<bool> repair() { return rules_->repair(); }
  SynCookieMode mode() const { return mode_; }
  // The window scale both SYN-ACKs advertise (syncookie_wscale, or the
  // listener's own as Linux picks it in this namespace when that is "auto").
  uint8_t wscale() const { return wscale_; }

 private:
  using Target = std::pair<uint16_t, std::optional<std::string>>;  // port, address text
  CookieResponse(SynCookieMode mode, XdpSensor* sensor, std::unique_ptr<SynproxyRules> rules,
                 uint8_t wscale)
      : mode_(mode), sensor_(sensor), rules_(std::move(rules)), wscale_(wscale) {}
  static Target target(uint16_t port, const std::optional<Address>& dst);

  SynCookieMode mode_;
  XdpSensor* sensor_;
  std::unique_ptr<SynproxyRules> rules_;
  std::set<Target> engaged_;
  uint8_t wscale_;
};

}  // namespace sg
