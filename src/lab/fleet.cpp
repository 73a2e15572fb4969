#include "lab/fleet.h"

namespace sg::lab {
namespace {

Result<void> plug(const Netns& ns, const std::string& dev, const Netns& hub,
                  const std::string& hub_dev, const std::string& ip) {
  SG_TRY(addVethPair(ns, dev, hub, hub_dev));
  SG_TRY(hub.ip({"link", "set", "dev", hub_dev, "master", "br0"}));
  SG_TRY(ns.addAddress(dev, ip + "/24"));
  SG_TRY(ns.linkUp("lo"));
  return Ok{};
}

}  // namespace

std::string FleetLab::endpointIp(size_t i) { return "10.200.9.1" + std::to_string(i + 1); }

Result<std::unique_ptr<FleetLab>> FleetLab::create(size_t endpoints) {
  if (endpoints == 0 || endpoints > 9) {
    return makeError(Errc::kInvalidArgument, "a fleet lab has 1 to 9 endpoints");
  }
  removeStaleNamespaces();
  SG_READ(hub, Netns::create("fhub"));
  SG_READ(console, Netns::create("fcon"));
  SG_READ(attacker, Netns::create("fatk"));
  std::unique_ptr<FleetLab> lab(
      new FleetLab(std::move(*hub), std::move(*console), std::move(*attacker)));
  const Netns& h = lab->hub_;
  SG_TRY(h.ip(
      {"link", "add", "name", "br0", "type", "bridge", "stp_state", "0", "mcast_snooping", "0"}));
  SG_TRY(h.linkUp("br0"));
  SG_TRY(plug(lab->console_, "veth-c", h, "hc", kFleetConsoleIp));
  SG_TRY(plug(lab->attacker_, "veth-a", h, "ha", kFleetAttackerIp));
  for (size_t i = 0; i < endpoints; ++i) {
    SG_READ(ep, Netns::create("fep" + std::to_string(i + 1)));
    lab->endpoints_.push_back(std::move(*ep));
    SG_TRY(plug(lab->endpoints_.back(), kFleetEndpointDev, h, "he" + std::to_string(i + 1),
                endpointIp(i)));
  }
  return lab;
}

Result<void> FleetLab::setConnected(size_t i, bool connected) const {
  SG_TRY(hub_.ip({"link", "set", "dev", "he" + std::to_string(i + 1), connected ? "up" : "down"}));
  return Ok{};
}

}  // namespace sg::lab
