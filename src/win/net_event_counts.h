// What the filtering engine's net events (FwpmNetEventSubscribe0:
// wfp_net_events.h) told the agent, counted: written on the engine's
// callback thread, read by `status` (ControlHandler). Plain C++.
#pragma once

#include <atomic>
#include <cstdint>
#include <nlohmann/json.hpp>

namespace sg::win {

struct NetEventCounts {
  // Classify drops by syn-guard's own filters (its blocks, isolation)...
  std::atomic<uint64_t> drops_ours{0};
  // ... of which at ALE receive/accept over TCP: a blocked source's
  // connection attempt, refused before any socket saw it.
  std::atomic<uint64_t> attempts_blocked{0};
  // Classify drops by any other filter (Windows Firewall, other software)...
  std::atomic<uint64_t> drops_other{0};
  // ... of which at ALE receive/accept over TCP: connection attempts that
  // ETW's accept events never show (e.g. to a port the firewall closes).
  std::atomic<uint64_t> attempts_dropped_other{0};
  std::atomic<uint64_t> other_events{0};  // IPsec/IKE and other types: not used
  std::atomic<uint64_t> malformed{0};     // a classify drop without its details

  nlohmann::json toJson() const {
    return {{"drops_ours", drops_ours.load()},
            {"attempts_blocked", attempts_blocked.load()},
            {"drops_other", drops_other.load()},
            {"attempts_dropped_other", attempts_dropped_other.load()},
            {"other_events", other_events.load()},
            {"malformed", malformed.load()}};
  }
};

}  // namespace sg::win
