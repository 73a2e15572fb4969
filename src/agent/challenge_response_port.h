// ChallengeResponsePort: the Linux ChallengePort (challenge_port.h). Arming
// adds the source to the SYNPROXY table's source sets (CookieResponse,
// linux/synproxy_rules.h) and then arms it in the XDP program
// (XdpSensor::armChallenge); disarming goes the other way round, so that an
// ACK to a cookie always finds SYNPROXY.
#pragma once

#include <cstdint>
#include <memory>
#include <utility>

#include "agent/challenge_port.h"
#include "linux/syncookie_response.h"
#include "linux/xdp_sensor.h"

namespace sg::agent {

class ChallengeResponsePort final : public ChallengePort {
 public:
  // `sensor` must outlive this object; `v6_prefix` is the counting prefix.
  ChallengeResponsePort(std::shared_ptr<CookieResponse> r, XdpSensor* sensor, uint8_t v6_prefix)
      : r_(std::move(r)), sensor_(sensor), v6_prefix_(v6_prefix) {}
  Result<void> arm(const sg_addr& key, uint64_t expires_ns) override {
    SG_TRY(r_->challenge(Address{key}, v6_prefix_, true));
    return sensor_->armChallenge(key, expires_ns);
  }
  Result<void> disarm(const sg_addr& key) override {
    SG_TRY(sensor_->disarmChallenge(key));
    return r_->challenge(Address{key}, v6_prefix_, false);
  }

 private:
  std::shared_ptr<CookieResponse> r_;
  XdpSensor* sensor_;
  uint8_t v6_prefix_;
};

}  // namespace sg::agent
