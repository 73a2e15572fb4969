// ChallengeResponsePort: the Linux ChallengePort (challenge_port.h). Arming
// adds the sources to the SYNPROXY table's source sets (CookieResponse,
// linux/synproxy_rules.h; one transaction a batch) and then arms them in the
// XDP program (XdpSensor::armChallenge); disarming goes the other way round,
// so that an ACK to a cookie always finds SYNPROXY.
#pragma once

#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "agent/challenge_port.h"
#include "linux/syncookie_response.h"
#include "linux/xdp_sensor.h"

namespace sg::agent {

class ChallengeResponsePort final : public ChallengePort {
 public:
  // `sensor` must outlive this object; `v6_prefix` is the counting prefix.
  ChallengeResponsePort(std::shared_ptr<CookieResponse> r, XdpSensor* sensor, uint8_t v6_prefix)
      : r_(std::move(r)), sensor_(sensor), v6_prefix_(v6_prefix) {}
  Result<void> arm(const std::vector<ChallengeArm>& batch, size_t* armed) override {
    *armed = 0;
    std::vector<Address> sources;
    sources.reserve(batch.size());
    for (const ChallengeArm& a : batch) sources.push_back(Address{a.key});
    SG_TRY(r_->challenge(sources, v6_prefix_, true));
    for (const ChallengeArm& a : batch) {
      SG_TRY(sensor_->armChallenge(a.key, a.expires_ns));
      ++*armed;
    }
    return Ok{};
  }
  Result<void> disarm(const std::vector<sg_addr>& keys) override {
    std::vector<Address> sources;
    sources.reserve(keys.size());
    for (const sg_addr& k : keys) {
      SG_TRY(sensor_->disarmChallenge(k));
      sources.push_back(Address{k});
    }
    return r_->challenge(sources, v6_prefix_, false);
  }
  Result<bool> repair() override { return r_->repair(); }

 private:
  std::shared_ptr<CookieResponse> r_;
  XdpSensor* sensor_;
  uint8_t v6_prefix_;
};

}  // namespace sg::agent
