// What the agent does about a port flood, and the hook where it is done.
//
// planResponse() decides (pure); a PortFloodResponder engages the plan when
// the flood is detected, holds it while the flood lasts and undoes it when
// the flood ends. The agent's
// responders block prefixes through its BlockBook (agent/port_flood_watch.h)
// and turn SYN cookies on for the attacked port (agent/cookie_responder.h). Replay only plans: it
// prints the response the agent would have taken.
#pragma once

#include <string>
#include <vector>

#include "core/address.h"
#include "core/port_flood.h"
#include "core/result.h"

namespace sg {

struct ResponsePlan {
  // Source prefixes to block (the flood's top /24 or /48 prefixes, allowlist
  // first); empty: no prefix block.
  std::vector<Prefix> prefixes;
  // Why: "concentrated: 2 prefixes hold 97% of the attempts", or why not.
  std::string why;
  std::string kind() const { return prefixes.empty() ? "none" : "prefix_block"; }
};

// Blocks the fewest top prefixes (at most max_prefixes) that hold at least
// `concentration` of the flood's attempts, leaving out prefixes the allowlist
// covers whole; none when that share is out of reach (a spread, spoofed
// flood), and none for a completion-ratio detection in the port's warm-up.
ResponsePlan planResponse(const PortFlood& flood, const PortFloodOptions& options,
                          const std::vector<Prefix>& allow);

class PortFloodResponder {
 public:
  virtual ~PortFloodResponder() = default;
  // Engages `plan` against `flood`; returns what was engaged, as shown in
  // the event's `response` ("prefix_block", "syncookies", "none"), with the
  // prefixes that took effect in `engaged`.
  virtual Result<std::string> engage(const PortFlood& flood, const ResponsePlan& plan,
                                     std::vector<Prefix>* engaged) = 0;
  // Called on every harvest while the flood lasts (`now_ns`: the harvest's
  // time): keeps what engage() made in force for as long as the flood goes
  // on (a block that would run out is renewed). The default holds nothing.
  virtual Result<void> hold(const PortFlood& flood, uint64_t now_ns) {
    (void)flood;
    (void)now_ns;
    return Ok{};
  }
  // Undoes what engage() did for this flood (its target: dst and dst_port);
  // an error says what could not be undone.
  virtual Result<void> release(const PortFlood& flood) = 0;
};

}  // namespace sg
