// PortFloodBook: the console's port floods — floods keyed by target (an
// endpoint's local address and port, flooded from many sources) rather than
// by source — from the agents' report.port_floods (protocol version 2), and
// the fleet-wide view over them. Pure: the caller converts agent times to
// wall-clock ms (the link's measured offset) and holds the service's lock.
//
// One flood of one target is named by its agent's first_ns, so the messages
// of one flood land on one record whatever order reports arrive in: a message
// older than the newest applied (agent clock) changes nothing, and an `ended`
// is final unless a later message says the flood still runs. A flood with no
// message for `quiet_period` (its agent died, or was cut off for that long)
// ends as "quiet"; agents send an update of every flood with each heartbeat.
// A new flood of a target ends the one before it on that target.
//
// Bounds: at most `max_per_endpoint` active floods per endpoint (a new one
// past it ends that endpoint's own oldest, "evicted"), and `max_active`
// fleet-wide (when full, a new flood ends the oldest of the endpoint
// holding the most, so one agent, compromised or buggy, cannot starve the
// others' floods). Ended floods are kept up to `max_history_per_endpoint`
// per endpoint and `max_history` fleet-wide, the oldest end of the endpoint
// holding the most forgotten first (ordered indexes: no scan per message),
// so one agent's ends cannot push the others' out. A flood changed by
// apply() or expire() is kept until the caller says it is stored (saved()):
// while the store fails, the ended ones waiting for it are at most
// `max_unsaved_ended`; past it the least severe (lowest peak rate, then the
// oldest end) is dropped unstored (counted: the store keeps its last stored
// state, an active one ends as quiet at the next start). Active floods are
// never dropped for it (max_active bounds them).
// Each new flood (a new id: a new row in the store, whatever its kind) spends
// one of its endpoint's `new_burst` tokens, refilled at `new_per_minute` on
// the console's clock; with none left the message is refused (counted): an
// agent inventing floods writes at a bounded rate. The agent sends an update
// of each running flood every heartbeat, so a refused one comes in later.
//
// Fleet view: which endpoints are under port floods now, since when, the peak
// and summed rate, the severity (the floods' rule by the number of such
// endpoints, raised by any flood's rate: CorrelatorOptions::port_flood_rate)
// and the top prefixes several endpoints share. A flood's own severity is the
// endpoints' rule raised by its own rate.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "console/correlator.h"
#include "console/flood.h"
#include "core/result.h"
#include "proto/messages.h"

namespace sg::console {

struct PortFloodPrefixShare {
  std::string prefix;  // "198.51.100.0/24"
  double share = 0;    // of the target's attempts in the window
  bool operator==(const PortFloodPrefixShare&) const = default;
};

struct PortFloodView {
  std::string id;  // "<endpoint>/<dst>:<port>/<first_ns>"
  std::string endpoint;
  std::string dst;  // "192.0.2.10", "2001:db8::10"
  uint16_t dst_port = 0;
  std::string reason;  // "rate" | "completion_ratio"
  uint64_t rate = 0;   // attempts/s, newest
  uint64_t peak_rate = 0;
  uint64_t normal_rate = 0;
  uint64_t distinct_sources = 0;
  double completion_ratio = 1;
  std::vector<PortFloodPrefixShare> top_prefixes;
  std::string response;  // "none", "syncookies+prefix_block", ...
  uint64_t attempts = 0;
  bool active = true;
  std::string ended_by;  // "" while active; "agent" | "quiet" | "superseded" | "evicted"
  int64_t started_at_ms = 0;
  int64_t last_seen_ms = 0;
  int64_t ended_at_ms = 0;             // 0 while active
  uint64_t agent_first_ns = 0;         // its agent's clock: names the flood
  uint64_t agent_at_ns = 0;            // newest message applied (agent clock)
  Severity severity = Severity::kLow;  // filled by the book's views
  bool operator==(const PortFloodView&) const = default;

  // "192.0.2.10:443", "[2001:db8::10]:443".
  std::string target() const;
};

struct PortFleetView {
  struct SharedPrefix {
    std::string prefix;
    std::vector<std::string> endpoints;  // sorted
    double max_share = 0;                // the highest share on any of them
    bool operator==(const SharedPrefix&) const = default;
  };
  std::vector<std::string> endpoints;  // under port floods now, sorted
  size_t targets = 0;                  // active port floods
  int64_t since_ms = 0;                // earliest start among them (0: none)
  uint64_t peak_rate = 0;              // highest peak among them
  uint64_t rate = 0;                   // their current rates summed
  Severity severity = Severity::kLow;
  std::vector<SharedPrefix> shared_prefixes;  // by endpoints, then prefix
  bool operator==(const PortFleetView&) const = default;
};

struct PortFloodBookOptions {
  int64_t quiet_period_ms = 60'000;       // no message this long: ended ("quiet")
  size_t max_active = 65536;              // fleet-wide; full: the biggest holder's oldest ends
  size_t max_per_endpoint = 1024;         // per endpoint; more: its own oldest ends ("evicted")
  size_t max_history = 1024;              // ended floods kept in memory (the store keeps all)
  size_t max_history_per_endpoint = 256;  // of them, one endpoint's at most
  size_t max_unsaved_ended = 4096;  // ended, waiting for the store; more: least severe dropped
  size_t new_burst = 1024;          // new floods an endpoint may report at once (max_per_endpoint)
  uint32_t new_per_minute = 60;     // and then on average (the budget's refill)
};

struct PortFloodCounters {
  uint64_t messages = 0;         // port-flood messages applied
  uint64_t stale = 0;            // older than the newest applied: ignored
  uint64_t dropped_full = 0;     // new floods refused (no room: max_active or max_per_endpoint 0)
  uint64_t evicted = 0;          // active floods ended to make room ("evicted")
  uint64_t ended_quiet = 0;      // ended for the quiet period
  uint64_t refused = 0;          // new floods past their endpoint's budget: ignored
  uint64_t unsaved_dropped = 0;  // ended floods dropped unstored (max_unsaved_ended)
};

class PortFloodBook {
 public:
  explicit PortFloodBook(PortFloodBookOptions options = {}) : options_(options) {}

  // One message of `endpoint`'s agent; first_ms/at_ms are its first_ns/at_ns
  // on the wall clock, now_ms the console's clock (the budget's). Returns
  // the ids it changed: each kept in memory until saved(id).
  std::vector<std::string> apply(const std::string& endpoint, const proto::PortFloodReport& m,
                                 int64_t first_ms, int64_t at_ms, int64_t now_ms);
  // Ends the active floods quiet since before now_ms - quiet_period; their
  // ids, each kept until saved(id).
  std::vector<std::string> expire(int64_t now_ms);
  // The caller stored the flood: from now on it may be forgotten.
  void saved(const std::string& id);
  // Changed since stored (a dropped one no longer is): the caller's to store.
  bool unsaved(const std::string& id) const { return unsaved_.count(id) != 0; }
  size_t unsavedCount() const { return unsaved_.size(); }
  // A flood read back from the store (restore, or another console wrote it).
  void restore(const PortFloodView& view);

  std::optional<PortFloodView> find(const std::string& id, const CorrelatorOptions& severity,
                                    size_t fleet_size) const;
  // Active floods (include_ended: and the ended ones kept), by start then id.
  std::vector<PortFloodView> list(bool include_ended, const CorrelatorOptions& severity,
                                  size_t fleet_size) const;
  PortFleetView fleet(const CorrelatorOptions& severity, size_t fleet_size) const;
  size_t activeCount() const { return active_; }
  const PortFloodCounters& counters() const { return counters_; }
  const PortFloodBookOptions& options() const { return options_; }

 private:
  // Every change of `active` and `ended_at_ms` goes through these three,
  // which keep the indexes below (index/unindex: a flood in or out of them;
  // an ended flood waiting for saved() is in none: it cannot be forgotten).
  void index(const PortFloodView& v);
  void unindex(const PortFloodView& v);
  void indexEnded(const PortFloodView& v);
  void unindexEnded(const PortFloodView& v);
  // Kept until saved(): out of the ended indexes (an ended one into held_).
  void hold(const std::string& id);
  void heldIn(const PortFloodView& v);  // (again) with its current peak and end
  void heldOut(const std::string& id);
  // Drops the least severe ended floods held past max_unsaved_ended.
  void boundUnsaved();
  struct Budget;
  // The endpoint's new-flood budget, refilled up to now.
  Budget& refilled(const std::string& endpoint, int64_t now_ms);
  // A token, in units of 1/60,000: a refill of ms x per-minute units is exact.
  static constexpr uint64_t kBudgetToken = 60'000;
  void forget(std::string id);  // an ended one out of memory
  void activate(PortFloodView& v);
  void end(PortFloodView& v, const char* by, int64_t at_ms);
  void setEndedAt(PortFloodView& v, int64_t at_ms);
  // Room for one more active flood of `endpoint`: ends an older one if
  // needed (its id into `changed`). False: none can be made.
  bool makeRoom(const std::string& endpoint, std::vector<std::string>& changed);
  void prune();
  Severity severityNow(const CorrelatorOptions& o, size_t fleet_size) const;
  // The higher of `by_endpoints` and the flood's own rate's severity.
  static Severity withRate(Severity by_endpoints, const PortFloodView& v,
                           const CorrelatorOptions& o);

  using Ordered = std::set<std::pair<uint64_t, std::string>>;  // (agent_first_ns, id)
  PortFloodBookOptions options_;
  std::map<std::string, PortFloodView> floods_;  // by id
  std::map<std::string, std::string> current_;   // "<endpoint>/<target>" -> id of its newest
  std::map<std::string, Ordered> active_of_;     // endpoint -> its active floods, oldest first
  using ByEnd = std::set<std::pair<int64_t, std::string>>;  // (ended_at_ms, id)
  ByEnd ended_;                                             // the ended ones (not held)
  std::map<std::string, ByEnd> ended_of_;                   // endpoint -> its ended ones
  std::set<std::pair<size_t, std::string>> holders_;        // (ended_of_ size, endpoint)
  std::set<std::string> unsaved_;                           // changed, not yet saved()
  // The ended ones of them, least severe first: (peak_rate, ended_at_ms, id).
  using HeldKey = std::tuple<uint64_t, int64_t, std::string>;
  std::set<HeldKey> held_;
  std::map<std::string, HeldKey> held_of_;  // id -> its key in held_
  struct Budget {
    uint64_t units = 0;  // tokens x 60,000
    int64_t at_ms = 0;   // of the last refill
  };
  std::map<std::string, Budget> budget_;  // endpoint -> its new-flood tokens
  size_t active_ = 0;
  PortFloodCounters counters_;
};

// The id of a flood: "<endpoint>/<dst>:<port>/<first_ns>".
std::string portFloodId(const std::string& endpoint, const proto::PortFloodReport& m);

// The fields of a flood that the API's JSON (api::portFloodJson, which adds
// its times, target and severity) and the store's body share: one renderer.
nlohmann::json portFloodFields(const PortFloodView& v);
// The store's body of a flood (all of PortFloodView but severity), and back.
std::string portFloodBody(const PortFloodView& v);
Result<PortFloodView> portFloodFromBody(const std::string& body);

}  // namespace sg::console
