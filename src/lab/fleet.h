// The fleet lab: a console, N endpoints and an attacker on one Ethernet
// segment (a bridge in a `hub` namespace), made and removed as a unit.
//
//   console   veth-c   10.200.9.1/24    syn-guard console
//   attacker  veth-a   10.200.9.2/24    sg-flood
//   ep<i>     veth-e   10.200.9.1<i>/24 agent + TCP server (i = 1..9)
//
// No namespace has a default route: nothing sent in the lab leaves it.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/result.h"
#include "lab/netns.h"

namespace sg::lab {

inline constexpr const char* kFleetConsoleIp = "10.200.9.1";
inline constexpr const char* kFleetAttackerIp = "10.200.9.2";
inline constexpr const char* kFleetEndpointDev = "veth-e";

class FleetLab {
 public:
  // 1..9 endpoints; on any failure whatever was made is removed again.
  static Result<std::unique_ptr<FleetLab>> create(size_t endpoints);

  const Netns& console() const { return console_; }
  const Netns& attacker() const { return attacker_; }
  const Netns& endpoint(size_t i) const { return endpoints_.at(i); }  // 0-based
  size_t endpointCount() const { return endpoints_.size(); }
  static std::string endpointIp(size_t i);  // 0-based: "10.200.9.11", ...

  // Cuts one endpoint off the segment (its link down) or brings it back.
  Result<void> setConnected(size_t i, bool connected) const;

 private:
  FleetLab(Netns hub, Netns console, Netns attacker)
      : hub_(std::move(hub)), console_(std::move(console)), attacker_(std::move(attacker)) {}
  Netns hub_;
  Netns console_;
  Netns attacker_;
  std::vector<Netns> endpoints_;
};

}  // namespace sg::lab
