// Correlator: turns the reports of many endpoints into floods keyed by source.
// Pure logic over sg::Clock (no I/O): the link layer feeds it the reports it
// parsed, with the offset it measured between the agent's clock and the
// console's; the store saves what changed.
//
// Reports are idempotent: each endpoint numbers its reports (seq), and a seq
// seen before is ignored (SeqWindow). Within a report, the aggregation is
// order-independent (min / max / union, newest action by agent time), so
// reports replayed in any order end in the same floods.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <vector>

#include "console/flood.h"
#include "console/seq_window.h"
#include "core/clock.h"
#include "core/duration.h"
#include "core/result.h"
#include "proto/messages.h"

namespace sg::console {

// A port flood's severity by its rate (attempts/s now), besides the number
// of endpoints under port floods. A level is reached at its absolute rate
// whatever the target's normal, or at its multiple of the normal the agent
// learned before the flood once the rate is at least a tenth of that
// absolute rate (ratio_floor_divisor: a quiet port's normal is near 0, so
// the multiple alone would make any flood CRITICAL). Defaults: MEDIUM from
// 10,000/s or 10x normal and 1,000/s; HIGH from 100,000/s or 100x and
// 10,000/s; CRITICAL from 1,000,000/s or 1,000x and 100,000/s.
struct PortFloodRateSeverity {
  uint64_t medium_rate = 10'000;
  uint64_t high_rate = 100'000;
  uint64_t critical_rate = 1'000'000;
  uint64_t medium_ratio = 10;
  uint64_t high_ratio = 100;
  uint64_t critical_ratio = 1'000;
  uint64_t ratio_floor_divisor = 10;
};

struct CorrelatorOptions {
  // Severity by the number of endpoints a source hit: LOW below medium_endpoints.
  uint32_t medium_endpoints = 2;
  uint32_t high_endpoints = 3;
  // CRITICAL from this many endpoints, or from a 1/critical_fleet_divisor of the
  // fleet when that is fewer (never below high_endpoints + 1); divisor 0: off.
  uint32_t critical_endpoints = 10;
  uint32_t critical_fleet_divisor = 10;
  // Port floods: severity rises with the rate too (the higher of the two rules).
  PortFloodRateSeverity port_flood_rate;
  // A flood with no report for this long ends (it stays in history).
  Nanos quiet_period = std::chrono::seconds(60);
  // Active floods tracked at once; events for new sources past it are dropped, counted.
  size_t max_active = 65536;
  // Ended floods kept in memory (the store keeps them all).
  size_t max_history = 4096;
};

Result<void> validateCorrelatorOptions(const CorrelatorOptions& options);
Severity severityFor(const CorrelatorOptions& options, size_t endpoints, size_t fleet_size);
// A port flood's severity by its rate and its target's learned normal rate.
Severity portFloodRateSeverity(const PortFloodRateSeverity& options, uint64_t rate,
                               uint64_t normal_rate);

struct CorrelatorCounters {
  uint64_t reports = 0;            // accepted
  uint64_t duplicate_reports = 0;  // seq already seen (or too old to tell)
  uint64_t events = 0;
  uint64_t events_dropped_full = 0;  // max_active reached
  uint64_t agent_dropped = 0;        // events agents dropped from full queues (report.dropped)
  uint64_t floods_started = 0;
  uint64_t floods_ended = 0;
};

struct ReportOutcome {
  bool duplicate = false;
  std::vector<uint64_t> changed;  // ids of floods started or updated, ascending
};

class Correlator {
 public:
  Correlator(CorrelatorOptions options, Clock& clock, uint64_t next_id = 1);

  // One report from `endpoint`. offset_ns = agent clock - console clock.
  ReportOutcome onReport(const std::string& endpoint, int64_t offset_ns,
                         const proto::Report& report);
  // Ends the floods quiet for the quiet period; returns their ids.
  std::vector<uint64_t> endQuiet();
  // The fleet size the CRITICAL fraction is taken of; re-rates active floods.
  void setFleetSize(size_t endpoints);

  const Flood* find(uint64_t id) const;  // active or in history
  const Flood* activeFor(const Prefix& source) const;
  std::vector<const Flood*> active() const;  // by id
  const std::deque<Flood>& history() const { return history_; }

  // ---- several consoles on one database (correlator_merge.cpp)
  // An empty active flood for `source` with an id the store handed out
  // (nothing when one is active already); the next report fills it.
  void startFlood(const Prefix& source, uint64_t id);
  // Folds what another console stored for an active flood into the one here
  // (same source): sightings of endpoints united, per endpoint the same
  // min/max/newest rules as reports. Adopts it when none is active here.
  // True when the caller should store it again: the flood here changed, or
  // `other` lacks something seen here (two writes raced). Differences of
  // times within 2 ms (the store's millisecond precision) are not changes.
  bool mergeFlood(const Flood& other);

  // Restores state saved before a restart.
  void restoreFlood(Flood flood);
  void restoreSeq(const std::string& endpoint, uint64_t contiguous_seq);
  // Highest seq such that every report up to it was received (for welcome).
  uint64_t contiguousSeq(const std::string& endpoint) const;
  // True when onReport would drop a report of `seq` from `endpoint` as a duplicate.
  bool seenReport(const std::string& endpoint, uint64_t seq) const;

  const CorrelatorCounters& counters() const { return counters_; }

 private:
  struct PrefixLess {
    bool operator()(const Prefix& a, const Prefix& b) const;
  };
  Flood* floodFor(const Prefix& source, uint64_t now);
  void apply(Flood& flood, const std::string& endpoint, int64_t offset_ns, const proto::Event& e);
  void rate(Flood& flood) const;

  CorrelatorOptions options_;
  Clock& clock_;
  uint64_t next_id_;
  size_t fleet_size_ = 0;
  std::map<Prefix, Flood, PrefixLess> active_;
  std::deque<Flood> history_;
  std::map<std::string, SeqWindow> seqs_;
  CorrelatorCounters counters_;
};

}  // namespace sg::console
