// The dashboard's live stream (docs/dashboard.md "Live events"): the hub keeps
// the newest events in a ring (10,000 or 5 minutes) and hands each to every
// open stream as Server-Sent Events text. A stream opened with a
// Last-Event-ID the ring still covers gets everything after it, then live
// events; otherwise it starts with `hello` (no id given) or `reset` (one the
// ring cannot resume, or whose replay would not fit in max_unsent_bytes). A
// stream whose client reads too slowly (more than max_unsent_bytes waiting)
// is closed; a stream whose session or token ends is closed at its next check
// (at most a second later). Live streams are capped in all and per API token
// (the owner), so one token cannot take every stream; a dead one (cut off or
// closed) stops counting at once, not when its connection ends. The unsent
// text is bounded by max_streams x max_unsent_bytes.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "console/service.h"
#include "core/clock.h"
#include "core/duration.h"
#include "core/result.h"
#include "net/http_types.h"

namespace sg::console {

struct EventHubOptions {
  size_t ring_events = 10'000;                  // kept for Last-Event-ID resume ...
  Nanos ring_age = std::chrono::minutes(5);     // ... and no older than this
  size_t max_streams = 256;                     // more: refused (429)
  size_t max_streams_per_owner = 16;            // per API token; more: refused (429)
  size_t max_unsent_bytes = 256 * 1024;         // a client this far behind is cut off
  Nanos keepalive = std::chrono::seconds(15);   // ": keepalive" after this long silent
  Nanos alive_check = std::chrono::seconds(1);  // session/token checked this often
};

struct EventHubCounters {
  std::atomic<uint64_t> streams_opened{0};
  std::atomic<uint64_t> events_sent{0};    // events queued on streams (replays included)
  std::atomic<uint64_t> slow_closed{0};    // streams closed for a slow reader
  std::atomic<uint64_t> ended_closed{0};   // streams closed as their session or token ended
  std::atomic<uint64_t> refused{0};        // over max_streams
  std::atomic<uint64_t> refused_owner{0};  // over max_streams_per_owner
  std::atomic<uint64_t> resets{0};         // a Last-Event-ID the ring could not resume
};

class EventHub;

// One client's stream: the server's connection pulls its text (StreamBody).
class EventStream final : public net::StreamBody {
 public:
  EventStream(std::shared_ptr<EventHub> hub, std::function<bool()> alive, std::string owner);
  ~EventStream() override;
  void start(std::function<void()> wake) override;
  std::string take(bool* done) override;
  void finished() override;
  std::chrono::milliseconds pollEvery() const override;

  // The hub, under its lock: queue `text`; false when the stream is over its limit.
  bool push(const std::string& text);
  // The hub is stopping, or the session ended. Once it returns, `alive` is
  // never called again (it may capture what the caller is about to destroy).
  void close();
  const std::string& owner() const { return owner_; }
  // Cut off (slow reader) or closed (session ended, hub stopping): it takes
  // no event again, whenever its connection lets go of it.
  bool dead();

 private:
  void closeLocked();  // mu_ held
  std::shared_ptr<EventHub> hub_;
  const std::string owner_;
  // Held while `alive_` runs, so close() waits for a check in progress.
  std::mutex alive_mu_;
  std::function<bool()> alive_;  // under alive_mu_
  std::mutex mu_;
  std::string pending_;
  std::function<void()> wake_;
  bool closed_ = false;
  bool overflow_ = false;
  bool finished_ = false;
  uint64_t last_sent_ns_ = 0;
  uint64_t last_check_ns_ = 0;
};

class EventHub : public std::enable_shared_from_this<EventHub> {
 public:
  // `epoch`: chosen at console start (random), names this hub's sequence.
  static std::shared_ptr<EventHub> create(Clock& clock, EventHubOptions options, uint32_t epoch);

  // Numbers the events, keeps them in the ring and queues them on every stream.
  void publish(const std::vector<LiveEvent>& events);
  // A new stream resuming after `last_event_id` ("" for a new one: hello),
  // for `owner` (the hash of the API token behind it); kResourceExhausted
  // when max_streams are open, or max_streams_per_owner of the owner's.
  // `alive` false ends it (session gone).
  Result<std::shared_ptr<EventStream>> open(const std::string& last_event_id,
                                            const std::string& resource_version,
                                            std::function<bool()> alive,
                                            const std::string& owner = "");
  // Closes every stream and refuses new ones (the console stops): no stream's
  // `alive` runs after it returns.
  void closeAll();

  std::string epochText() const;  // 8 hex digits
  uint64_t seq() const;
  size_t streams() const;
  size_t ringSize() const;
  const EventHubCounters& counters() const { return counters_; }
  const EventHubOptions& options() const { return options_; }
  Clock& clock() { return clock_; }

 private:
  friend class EventStream;
  EventHub(Clock& clock, EventHubOptions options, uint32_t epoch);
  struct Stored {
    uint64_t seq;
    uint64_t at_ns;
    std::string text;  // the whole SSE record
  };
  std::string record(const std::string& type, uint64_t seq, const std::string& data) const;
  void pruneRing(uint64_t now);  // mu_ held
  // Forgets dead streams (mu_ held): before the caps are counted, so a stream
  // its connection still holds cannot refuse a live one.
  void dropDeadStreams();
  void remove(EventStream* stream);
  void forget(EventStream* stream);                          // mu_ held
  void queue(EventStream* stream, const std::string& text);  // mu_ held

  Clock& clock_;
  const EventHubOptions options_;
  const uint32_t epoch_;
  mutable std::mutex mu_;
  uint64_t seq_ = 0;
  std::deque<Stored> ring_;
  std::set<EventStream*> streams_;
  std::map<std::string, size_t> per_owner_;  // open streams per owner
  bool stopped_ = false;
  EventHubCounters counters_;
};

// "7f3a9c01:1542" -> epoch and seq; false when it is not that shape.
bool parseEventId(const std::string& text, uint32_t* epoch, uint64_t* seq);

}  // namespace sg::console
