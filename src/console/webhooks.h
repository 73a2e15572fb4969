// Webhooks: the console posts each escalated incident as JSON to the
// configured URLs (`syn-guard console --webhook URL`), from one worker thread
// so that no API request waits on a remote server.
//
//   escalate() --incident hook--> enqueue (bounded; full: the oldest is
//   dropped and recorded "dropped: queue full") --worker--> POST to every URL,
//   each retried with jittered exponential backoff --> recordWebhook(outcome)
//
// A 2xx reply delivers; a 4xx other than 408/429 fails at once (the receiver
// refused this body, retrying sends the same); anything else (5xx, 408, 429,
// no reply) is retried up to max_attempts. Delivery is at least once: an
// incident still "pending" when the console stops (queued, or mid-retry) is
// posted again at the next start (requeuePending).
//
// HTTPS only: an incident names attacked endpoints and the operator's note,
// so http:// URLs are refused when the console starts.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "console/service.h"
#include "core/result.h"
#include "net/backoff.h"

namespace sg::console {

struct WebhookUrl {
  std::string url;  // as given (shown in outcomes)
  std::string host;
  uint16_t port = 443;
  std::string path = "/";  // with the query, if any
};

// https://HOST[:PORT][/PATH] (IPv6 as [ADDR]); http:// and anything else refused.
Result<WebhookUrl> parseWebhookUrl(const std::string& url);

struct WebhookOptions {
  std::vector<std::string> urls;  // each https://; none: incidents are recorded "not posted"
  std::string ca_pem;             // trust this CA for the URLs; empty: the system's roots
  std::string console_url;        // sent as "console" in the body
  unsigned max_attempts = 5;      // per URL, 1..20
  // Delays between attempts. With the timeout, bounds one URL's time to
  // max_attempts * (timeout + backoff.max).
  net::BackoffPolicy backoff{std::chrono::milliseconds(500), std::chrono::seconds(10), 2.0, 0.5};
  std::chrono::milliseconds timeout{10'000};  // one attempt, connect to reply
  size_t queue_limit = 256;                   // incidents waiting; beyond it the oldest is dropped

  Result<void> validate() const;
};

// One POST of a JSON body: the reply's HTTP status, or an error when there
// was no reply (connect, TLS, timeout).
class WebhookSender {
 public:
  virtual ~WebhookSender() = default;
  virtual Result<int> post(const WebhookUrl& url, const std::string& body) = 0;
};

// Over net::httpsRequest, trusting `ca_pem` (empty: the system's roots).
std::unique_ptr<WebhookSender> makeHttpsWebhookSender(std::string ca_pem,
                                                      std::chrono::milliseconds timeout);

// The JSON an incident is posted as (docs/api.md, "Escalate").
std::string incidentWebhookBody(ConsoleService& service, const IncidentRecord& incident,
                                const std::string& console_url);

// Counted by the webhooks, shown in the console's /metrics.
struct WebhookCounters {
  std::atomic<uint64_t> delivered{0};  // posts a URL accepted (2xx)
  std::atomic<uint64_t> failed{0};     // posts given up: refused for good, or out of attempts
  std::atomic<uint64_t> retried{0};    // attempts after a retryable failure
  std::atomic<uint64_t> dropped{0};    // incidents dropped from the full queue
};

class Webhooks {
 public:
  // Waits `delay`; false when stopped meanwhile. Empty: a real wait that
  // stop() cuts short. Tests pass one that records and returns at once.
  using Sleep = std::function<bool(std::chrono::milliseconds)>;

  // `sender` null: HTTPS (makeHttpsWebhookSender). `random` empty: seeded.
  static Result<std::unique_ptr<Webhooks>> create(ConsoleService& service, WebhookOptions options,
                                                  std::unique_ptr<WebhookSender> sender = nullptr,
                                                  Sleep sleep = {},
                                                  net::Backoff::Random random = {});
  ~Webhooks();
  Webhooks(const Webhooks&) = delete;
  Webhooks& operator=(const Webhooks&) = delete;

  // Thread-safe (the service's incident hook). An incident already queued is
  // not queued twice.
  void enqueue(const IncidentRecord& incident);
  // Queues every stored incident still "pending" (at start).
  Result<void> requeuePending();
  // The console's URL for the body's "console" field, once the server
  // listens (its port may be the OS's choice). Before start().
  void setConsoleUrl(std::string url) { options_.console_url = std::move(url); }
  // The worker thread; stop() ends it (an incident mid-retry stays pending;
  // a post under way finishes first, within the timeout).
  void start();
  void stop();
  // Posts the oldest queued incident and records its outcome, on the
  // caller's thread (the worker's loop; tests). False: the queue was empty.
  bool deliverNext();
  size_t queued() const;
  const WebhookCounters& counters() const { return counters_; }
  // Appends the counters in Prometheus text format (the service's
  // metricsText() calls it once create() registered it).
  void renderMetrics(std::string& out) const;

 private:
  Webhooks(ConsoleService& service, WebhookOptions options, std::vector<WebhookUrl> urls,
           std::unique_ptr<WebhookSender> sender, Sleep sleep, net::Backoff::Random random);
  // "" when delivered; else why not. Sets `stopped` when stop() cut it short.
  std::string deliverTo(const WebhookUrl& url, const std::string& body, bool& stopped);
  bool waitOrStop(std::chrono::milliseconds delay);
  void record(uint64_t incident_id, const std::string& status);

  ConsoleService& service_;
  WebhookOptions options_;
  std::vector<WebhookUrl> urls_;
  std::unique_ptr<WebhookSender> sender_;
  Sleep sleep_;
  net::Backoff::Random random_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<IncidentRecord> queue_;
  std::set<uint64_t> queued_ids_;
  bool stopping_ = false;
  std::thread worker_;
  WebhookCounters counters_;
};

}  // namespace sg::console
