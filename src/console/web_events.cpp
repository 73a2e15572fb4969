#include "console/web_events.h"

#include <cstdio>
#include <nlohmann/json.hpp>

namespace sg::console {

namespace {

uint64_t ns(Nanos d) { return static_cast<uint64_t>(d.count()); }

}  // namespace

bool parseEventId(const std::string& text, uint32_t* epoch, uint64_t* seq) {
  const size_t colon = text.find(':');
  if (colon == std::string::npos || colon == 0 || colon > 8 || colon + 1 >= text.size() ||
      text.size() - colon - 1 > 19) {
    return false;
  }
  const std::string e = text.substr(0, colon);
  const std::string s = text.substr(colon + 1);
  if (e.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos ||
      s.find_first_not_of("0123456789") != std::string::npos) {
    return false;
  }
  *epoch = static_cast<uint32_t>(std::stoul(e, nullptr, 16));
  *seq = std::stoull(s);
  return true;
}

// ---- EventStream

EventStream::EventStream(std::shared_ptr<EventHub> hub, std::function<bool()> alive,
                         std::string owner)
    : hub_(std::move(hub)), owner_(std::move(owner)), alive_(std::move(alive)) {
  last_sent_ns_ = last_check_ns_ = hub_->clock().nowNs();
}

EventStream::~EventStream() { hub_->remove(this); }

void EventStream::start(std::function<void()> wake) {
  std::lock_guard<std::mutex> lock(mu_);
  wake_ = std::move(wake);
}

bool EventStream::push(const std::string& text) {
  std::lock_guard<std::mutex> lock(mu_);
  if (closed_ || overflow_) return true;
  if (pending_.size() + text.size() > hub_->options().max_unsent_bytes) {
    overflow_ = true;
    pending_.clear();
    if (wake_) wake_();
    return false;
  }
  const bool was_empty = pending_.empty();
  pending_ += text;
  if (was_empty && wake_) wake_();
  return true;
}

bool EventStream::dead() {
  std::lock_guard<std::mutex> lock(mu_);
  return closed_ || overflow_;
}

void EventStream::closeLocked() {
  closed_ = true;
  if (wake_) wake_();
}

void EventStream::close() {
  std::function<bool()> dropped;
  {
    // Waits for a check in progress; none starts after this.
    std::lock_guard<std::mutex> guard(alive_mu_);
    dropped = std::exchange(alive_, nullptr);
  }
  std::lock_guard<std::mutex> lock(mu_);
  closeLocked();
}

std::string EventStream::take(bool* done) {
  const uint64_t now = hub_->clock().nowNs();
  bool check = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_ || overflow_) {
      *done = true;
      return {};
    }
    if (now - last_check_ns_ >= ns(hub_->options().alive_check)) {
      last_check_ns_ = now;
      check = true;
    }
  }
  if (check) {
    // Outside mu_ (the check reads the store), under alive_mu_: a close()
    // meanwhile has emptied alive_.
    std::lock_guard<std::mutex> guard(alive_mu_);
    if (alive_ && !alive_()) {
      ++hub_->counters_.ended_closed;
      alive_ = nullptr;
      std::lock_guard<std::mutex> lock(mu_);
      closeLocked();
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  *done = closed_ || overflow_;
  if (*done) return {};
  if (pending_.empty() && now - last_sent_ns_ >= ns(hub_->options().keepalive)) {
    pending_ = ": keepalive\n\n";
  }
  if (!pending_.empty()) last_sent_ns_ = now;
  return std::exchange(pending_, std::string());
}

void EventStream::finished() {
  std::function<bool()> dropped;
  {
    std::lock_guard<std::mutex> guard(alive_mu_);
    dropped = std::exchange(alive_, nullptr);
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (finished_) return;
    finished_ = true;
    closed_ = true;
    wake_ = nullptr;
    pending_.clear();
  }
  hub_->remove(this);
}

std::chrono::milliseconds EventStream::pollEvery() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
      std::min(hub_->options().alive_check, hub_->options().keepalive));
}

// ---- EventHub

std::shared_ptr<EventHub> EventHub::create(Clock& clock, EventHubOptions options, uint32_t epoch) {
  return std::shared_ptr<EventHub>(new EventHub(clock, options, epoch));
}

EventHub::EventHub(Clock& clock, EventHubOptions options, uint32_t epoch)
    : clock_(clock), options_(options), epoch_(epoch) {}

std::string EventHub::epochText() const {
  char buf[9];
  std::snprintf(buf, sizeof(buf), "%08x", epoch_);
  return buf;
}

uint64_t EventHub::seq() const {
  std::lock_guard<std::mutex> lock(mu_);
  return seq_;
}

size_t EventHub::streams() const {
  std::lock_guard<std::mutex> lock(mu_);
  return streams_.size();
}

size_t EventHub::ringSize() const {
  std::lock_guard<std::mutex> lock(mu_);
  return ring_.size();
}

std::string EventHub::record(const std::string& type, uint64_t seq, const std::string& data) const {
  // `data` is one line of JSON (dumped without indentation): one data: line.
  return "id: " + epochText() + ":" + std::to_string(seq) + "\nevent: " + type + "\ndata: " + data +
         "\n\n";
}

void EventHub::pruneRing(uint64_t now) {
  while (!ring_.empty() && (ring_.size() > options_.ring_events ||
                            now - ring_.front().at_ns > ns(options_.ring_age))) {
    ring_.pop_front();
  }
}

void EventHub::queue(EventStream* stream, const std::string& text) {
  if (stream->push(text)) {
    ++counters_.events_sent;
  } else {
    ++counters_.slow_closed;
  }
}

void EventHub::publish(const std::vector<LiveEvent>& events) {
  if (events.empty()) return;
  std::lock_guard<std::mutex> lock(mu_);
  const uint64_t now = clock_.nowNs();
  for (const LiveEvent& e : events) {
    ++seq_;
    ring_.push_back(Stored{seq_, now, record(e.type, seq_, e.data)});
    pruneRing(now);
    for (EventStream* s : streams_) queue(s, ring_.back().text);
  }
}

Result<std::shared_ptr<EventStream>> EventHub::open(const std::string& last_event_id,
                                                    const std::string& resource_version,
                                                    std::function<bool()> alive,
                                                    const std::string& owner) {
  auto stream = std::make_shared<EventStream>(shared_from_this(), std::move(alive), owner);
  std::lock_guard<std::mutex> lock(mu_);
  if (stopped_) return makeError(Errc::kUnavailable, "the console is stopping");
  dropDeadStreams();
  if (streams_.size() >= options_.max_streams) {
    ++counters_.refused;
    return makeError(Errc::kResourceExhausted, "too many event streams are open");
  }
  size_t& mine = per_owner_[owner];
  if (mine >= options_.max_streams_per_owner) {
    ++counters_.refused_owner;
    return makeError(Errc::kResourceExhausted, "too many event streams are open for this token");
  }
  pruneRing(clock_.nowNs());
  ++counters_.streams_opened;
  streams_.insert(stream.get());
  ++mine;
  const nlohmann::json start{
      {"epoch", epochText()}, {"seq", seq_}, {"resource_version", resource_version}};
  if (last_event_id.empty()) {
    queue(stream.get(), record("hello", seq_, start.dump()));
    return stream;
  }
  uint32_t epoch = 0;
  uint64_t after = 0;
  // The ring resumes `after` when it holds every event after it, and they fit
  // in the stream's buffer (else the client would be cut off, reconnect with
  // the same id and be cut off again: a reset makes it reload the lists).
  bool resumable = parseEventId(last_event_id, &epoch, &after) && epoch == epoch_ &&
                   after <= seq_ &&
                   (after == seq_ || (!ring_.empty() && ring_.front().seq <= after + 1));
  if (resumable) {
    size_t bytes = 0;
    for (auto it = ring_.rbegin(); it != ring_.rend() && it->seq > after; ++it) {
      bytes += it->text.size();
    }
    resumable = bytes <= options_.max_unsent_bytes;
  }
  if (!resumable) {
    ++counters_.resets;
    queue(stream.get(), record("reset", seq_, start.dump()));
    return stream;
  }
  for (const Stored& s : ring_) {
    if (s.seq > after) queue(stream.get(), s.text);
  }
  return stream;
}

void EventHub::remove(EventStream* stream) {
  std::lock_guard<std::mutex> lock(mu_);
  forget(stream);
}

void EventHub::forget(EventStream* stream) {
  if (streams_.erase(stream) == 0) return;  // already forgotten (dead, then finished)
  auto it = per_owner_.find(stream->owner());
  if (it != per_owner_.end() && --it->second == 0) per_owner_.erase(it);
}

void EventHub::dropDeadStreams() {
  std::vector<EventStream*> dead;
  for (EventStream* s : streams_) {
    if (s->dead()) dead.push_back(s);
  }
  for (EventStream* s : dead) forget(s);
}

void EventHub::closeAll() {
  std::lock_guard<std::mutex> lock(mu_);
  stopped_ = true;
  for (EventStream* s : streams_) s->close();
}

}  // namespace sg::console
