#include "linux/syncookie_response.h"

#include <fstream>
#include <string>
#include <vector>

#include "linux/xdp_sensor.h"

namespace sg {

namespace {

// The window scale Linux gives a listener in this network namespace
// (tcp_rmem is per namespace, rmem_max is the host's); 7, the default
// sysctls' answer, when they cannot be read.
uint8_t namespaceWindowScale() {
  uint64_t rmem_min = 0, rmem_default = 0, rmem_max_tcp = 0, rmem_max = 0;
  std::ifstream tcp("/proc/sys/net/ipv4/tcp_rmem");
  std::ifstream core("/proc/sys/net/core/rmem_max");
  if (!(tcp >> rmem_min >> rmem_default >> rmem_max_tcp) || !(core >> rmem_max)) return 7;
  return listenerWindowScale(rmem_max_tcp, rmem_max);
}

}  // namespace

Result<std::unique_ptr<CookieResponse>> CookieResponse::create(const SynCookieConfig& config,
                                                               XdpSensor* sensor) {
  SG_TRY(validateSynCookieConfig(config));
  if (config.mode == SynCookieMode::kOff) {
    return makeError(Errc::kInvalidArgument, "syncookies.mode is off: no cookie response");
  }
  if (config.mode == SynCookieMode::kXdp && sensor == nullptr) {
    return makeError(Errc::kInvalidArgument, "syncookies.mode xdp needs the XDP sensor");
  }
  SynproxyOptions o;
  o.table = config.nft_table;
  o.mss4 = config.mss4;
  o.mss6 = config.mss6;
  // Both SYN-ACKs (XDP's and SYNPROXY's) must tell the client the scale the
  // listener will really use: SYNPROXY does not translate windows.
  o.wscale = config.wscale ? *config.wscale : namespaceWindowScale();
  auto rules = SynproxyRules::create(o);
  if (!rules) return rules.error();
  if (config.mode == SynCookieMode::kXdp) {
    sensor->setCookieParams(config.mss4, config.mss6, o.wscale, config.ttl);
  }
  return std::unique_ptr<CookieResponse>(
      new CookieResponse(config.mode, sensor, std::move(*rules), o.wscale));
}

CookieResponse::~CookieResponse() {
  const std::vector<Target> all(engaged_.begin(), engaged_.end());
  for (const Target& t : all) {
    std::optional<Address> dst;
    if (t.second) {
      auto a = parseAddress(*t.second);
      if (a) dst = *a;
    }
    (void)release(t.first, dst);
  }
}

CookieResponse::Target CookieResponse::target(uint16_t port, const std::optional<Address>& dst) {
  return {port, dst ? std::optional<std::string>(dst->str()) : std::nullopt};
}

Result<void> CookieResponse::engage(uint16_t port, const std::optional<Address>& dst) {
  SG_TRY(rules_->add(port, dst));
  if (mode_ == SynCookieMode::kXdp) {
    if (auto on = sensor_->setCookies(port, dst, true); !on) {
      if (!engaged(port, dst)) (void)rules_->remove(port, dst);
      return on.error();
    }
  }
  engaged_.insert(target(port, dst));
  return Ok{};
}

Result<void> CookieResponse::release(uint16_t port, const std::optional<Address>& dst) {
  if (mode_ == SynCookieMode::kXdp) SG_TRY(sensor_->setCookies(port, dst, false));
  SG_TRY(rules_->remove(port, dst));
  engaged_.erase(target(port, dst));
  return Ok{};
}

bool CookieResponse::engaged(uint16_t port, const std::optional<Address>& dst) const {
  return engaged_.count(target(port, dst)) != 0;
}

}  // namespace sg
