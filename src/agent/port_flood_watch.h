// PortFloodWatch: the agent's side of port-flood detection. Every harvest
// of the destination table (SensorPort::harvestDsts, every
// kDstSampleInterval) goes through a PortFloodDetector (core/port_flood.h);
// a detected flood is logged (`port_flood_detected`), its response planned
// (core/port_flood_response.h) and engaged through each PortFloodResponder
// in turn, and undone when the flood ends (`port_flood_ended`). The event's
// `response` joins what each engaged ("prefix_block+syncookies"); a
// responder that fails is logged (`response_error`) and counted, the others
// still engage. Shown in `status`, counted in metrics.
//
// BookPrefixResponder: the plan's prefixes become BlockBook prefix blocks
// for the block duration, renewed while a flood that chose them lasts (so a
// flood longer than the block duration does not get its prefixes back) and
// lifted when the last flood that chose them ends (counted per prefix:
// overlapping floods on other ports keep theirs). Only blocks it made are
// renewed and lifted: a prefix the operator had blocked, or blocked again
// while a flood held it, stays as the operator made it. SYN cookies for the flooded port are
// agent/cookie_responder.h.
#pragma once

#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "agent/block_book.h"
#include "agent/event_log.h"
#include "core/port_flood.h"
#include "core/port_flood_response.h"

namespace sg::agent {

struct PortFloodCounters {
  uint64_t detected = 0;         // port_flood_detected events
  uint64_t ended = 0;            // port_flood_ended events
  uint64_t responses = 0;        // floods answered by a response other than "none"
  uint64_t response_errors = 0;  // responses that failed to engage or undo (wholly or in part)
};

class BookPrefixResponder final : public PortFloodResponder {
 public:
  // `duration`: how long a prefix block lasts (the agent's block duration).
  BookPrefixResponder(BlockBook& book, std::function<Nanos()> duration)
      : book_(book), duration_(std::move(duration)) {}
  Result<std::string> engage(const PortFlood& flood, const ResponsePlan& plan,
                             std::vector<Prefix>* engaged) override;
  // Renews, for the block duration from `now_ns`, each block it made for
  // this flood once half of it has run (or when it ran out and was swept).
  // A block the operator or the console lifted (BlockBook::unblockPrefix)
  // is not made again: that prefix stays open for the rest of the flood (a
  // later flood may block it again); one they re-blocked is theirs.
  Result<void> hold(const PortFlood& flood, uint64_t now_ns) override;
  Result<void> release(const PortFlood& flood) override;

  // A failed renewal is tried again this long after.
  static constexpr uint64_t kRetryNs = 1'000'000'000;

 private:
  struct Owned {
    uint64_t write = 0;     // BlockBook::prefixBlockWrite of the block it made
    size_t floods = 0;      // floods holding it
    uint64_t renew_ns = 0;  // when hold() renews it (half its duration)
  };
  // (Re)blocks `p` for the block duration from `now_ns`, as `o`'s.
  Result<void> blockFor(const Prefix& p, uint64_t now_ns, Owned& o);
  BlockBook& book_;
  std::function<Nanos()> duration_;
  std::map<std::string, std::vector<Prefix>> engaged_;  // target -> prefixes it holds
  std::map<Prefix, Owned, BlockBook::PrefixLess> owned_;
};

class PortFloodWatch {
 public:
  // `responders` (null ones skipped) engage in this order and release in the
  // reverse; none: floods are reported, nothing is engaged.
  PortFloodWatch(const PortFloodOptions& options, bool handshakes_visible, EventLog& log,
                 std::vector<PortFloodResponder*> responders);
  PortFloodWatch(const PortFloodOptions& options, bool handshakes_visible, EventLog& log,
                 PortFloodResponder* responder)
      : PortFloodWatch(options, handshakes_visible, log,
                       std::vector<PortFloodResponder*>{responder}) {}

  void setOptions(const PortFloodOptions& options) { detector_.setOptions(options); }
  // Where ports' handshakes are visible (DNAT-published ports' are not).
  void setListenerProbe(ListenerProbe* probe) { detector_.setListenerProbe(probe); }
  // The allowlist the plans leave out (the kernel's: configured and implicit).
  void setAllowlist(std::vector<Prefix> allow) { allow_ = std::move(allow); }
  void onSamples(uint64_t now_ns, const std::vector<DstSample>& samples);

  nlohmann::json statusJson() const;
  const PortFloodCounters& counters() const { return counters_; }
  size_t activeCount() const { return detector_.active().size(); }

 private:
  void onDetected(PortFlood flood);
  void onEnded(const PortFlood& flood);
  // Each responder holds the active floods' responses (renewals).
  void holdActive(uint64_t now_ns);

  PortFloodDetector detector_;
  EventLog& log_;
  std::vector<PortFloodResponder*> responders_;
  std::vector<Prefix> allow_;
  std::map<std::string, PortFlood> engaged_;  // target -> the flood as detected (its response)
  PortFloodCounters counters_;
};

// Prometheus text of the watch's counters (appended to the agent's metrics).
std::string portFloodMetrics(const PortFloodCounters& c, size_t active);

// A flood's event fields (port_flood_detected / port_flood_ended).
nlohmann::json portFloodJson(const PortFlood& flood, bool ended);

}  // namespace sg::agent
