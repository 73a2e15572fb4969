#include "linux/syncookie_response.h"

#include <string>
#include <vector>

#include "linux/xdp_sensor.h"

namespace sg {

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
  o.wscale = config.wscale;
  auto rules = SynproxyRules::create(o);
  if (!rules) return rules.error();
  if (config.mode == SynCookieMode::kXdp) {
    sensor->setCookieParams(config.mss4, config.mss6, config.wscale, config.ttl);
  }
  return std::unique_ptr<CookieResponse>(
      new CookieResponse(config.mode, sensor, std::move(*rules)));
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
