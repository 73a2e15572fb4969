#include "console/webhooks.h"

#include <random>
#include <utility>

#include "console/api_json.h"
#include "net/https_client.h"

namespace sg::console {

namespace {

constexpr unsigned kMaxAttempts = 20;

Error badUrl(const std::string& url, const std::string& why) {
  return Error(Errc::kInvalidArgument, "webhook URL '" + url + "': " + why);
}

class HttpsWebhookSender final : public WebhookSender {
 public:
  HttpsWebhookSender(std::string ca_pem, std::chrono::milliseconds timeout)
      : ca_pem_(std::move(ca_pem)), timeout_(timeout) {}

  Result<int> post(const WebhookUrl& url, const std::string& body) override {
    net::HttpsTarget target;
    target.host = url.host;
    target.port = url.port;
    target.timeout = timeout_;
    target.max_response_bytes = 64 * 1024;  // the reply's body is not read
    if (ca_pem_.empty()) {
      target.tls.system_roots = true;
    } else {
      target.tls.ca_pem = ca_pem_;
    }
    SG_READ(reply, net::httpsRequest(target, "POST", url.path, body));
    return reply->status;
  }

 private:
  std::string ca_pem_;
  std::chrono::milliseconds timeout_;
};

// 4xx but 408 (timeout) and 429 (rate limited): the receiver refuses this body.
bool permanent(int status) {
  return status >= 400 && status < 500 && status != 408 && status != 429;
}

}  // namespace

Result<WebhookUrl> parseWebhookUrl(const std::string& url) {
  constexpr std::string_view kScheme = "https://";
  if (url.rfind("http://", 0) == 0) {
    return badUrl(url, "http:// is refused (incidents go out over HTTPS only)");
  }
  if (url.rfind(kScheme, 0) != 0) return badUrl(url, "expected https://HOST[:PORT][/PATH]");
  WebhookUrl out;
  out.url = url;
  const std::string rest = url.substr(kScheme.size());
  const size_t slash = rest.find_first_of("/?#");
  std::string authority = rest.substr(0, slash);
  if (slash != std::string::npos) {
    out.path = rest.substr(slash);
    if (out.path[0] != '/') out.path = "/" + out.path;
    out.path = out.path.substr(0, out.path.find('#'));
  }
  if (authority.find('@') != std::string::npos) return badUrl(url, "credentials in the URL");
  std::string port;
  if (!authority.empty() && authority[0] == '[') {
    const size_t close = authority.find(']');
    if (close == std::string::npos) return badUrl(url, "unclosed [");
    out.host = authority.substr(1, close - 1);
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') return badUrl(url, "expected :PORT after ]");
      port = authority.substr(close + 2);
      if (port.empty()) return badUrl(url, "empty port");
    }
  } else {
    const size_t colon = authority.find(':');
    out.host = authority.substr(0, colon);
    if (colon != std::string::npos) {
      port = authority.substr(colon + 1);
      if (port.empty()) return badUrl(url, "empty port");
    }
  }
  if (out.host.empty()) return badUrl(url, "no host");
  if (!port.empty()) {
    if (port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos ||
        std::stoul(port) == 0 || std::stoul(port) > 65535) {
      return badUrl(url, "port must be 1..65535");
    }
    out.port = static_cast<uint16_t>(std::stoul(port));
  }
  return out;
}

Result<void> WebhookOptions::validate() const {
  for (const std::string& u : urls) {
    SG_READ(parsed, parseWebhookUrl(u));
  }
  if (max_attempts < 1 || max_attempts > kMaxAttempts) {
    return makeError(Errc::kInvalidArgument,
                     "webhook attempts must be 1.." + std::to_string(kMaxAttempts));
  }
  if (timeout.count() <= 0) return makeError(Errc::kInvalidArgument, "webhook timeout must be > 0");
  if (queue_limit == 0) return makeError(Errc::kInvalidArgument, "webhook queue must hold >= 1");
  return backoff.validate();
}

std::unique_ptr<WebhookSender> makeHttpsWebhookSender(std::string ca_pem,
                                                      std::chrono::milliseconds timeout) {
  return std::make_unique<HttpsWebhookSender>(std::move(ca_pem), timeout);
}

std::string incidentWebhookBody(ConsoleService& service, const IncidentRecord& incident,
                                const std::string& console_url) {
  nlohmann::json body = api::incidentJson(incident);
  body.erase("webhook_status");  // this post is what decides it
  body["kind"] = "Incident";
  body["version"] = 1;
  body["console"] = console_url;
  auto flood = service.flood(incident.flood_id);
  body["flood"] = flood ? api::floodJson(*flood) : nlohmann::json(nullptr);
  return api::dumpJson(body);
}

Result<std::unique_ptr<Webhooks>> Webhooks::create(ConsoleService& service, WebhookOptions options,
                                                   std::unique_ptr<WebhookSender> sender,
                                                   Sleep sleep, net::Backoff::Random random) {
  SG_TRY(options.validate());
  std::vector<WebhookUrl> urls;
  for (const std::string& u : options.urls) {
    SG_READ(parsed, parseWebhookUrl(u));
    urls.push_back(std::move(*parsed));
  }
  if (!sender) sender = makeHttpsWebhookSender(options.ca_pem, options.timeout);
  if (!random) {
    auto gen = std::make_shared<std::mt19937_64>(std::random_device{}());
    random = [gen] { return std::uniform_real_distribution<double>(0.0, 1.0)(*gen); };
  }
  std::unique_ptr<Webhooks> w(new Webhooks(service, std::move(options), std::move(urls),
                                           std::move(sender), std::move(sleep), std::move(random)));
  service.setMoreMetrics([raw = w.get()](std::string& out) { raw->renderMetrics(out); });
  return w;
}

Webhooks::Webhooks(ConsoleService& service, WebhookOptions options, std::vector<WebhookUrl> urls,
                   std::unique_ptr<WebhookSender> sender, Sleep sleep, net::Backoff::Random random)
    : service_(service),
      options_(std::move(options)),
      urls_(std::move(urls)),
      sender_(std::move(sender)),
      sleep_(std::move(sleep)),
      random_(std::move(random)) {}

Webhooks::~Webhooks() {
  service_.setMoreMetrics({});
  stop();
}

void Webhooks::renderMetrics(std::string& out) const {
  const std::pair<const char*, const std::atomic<uint64_t>*> rows[] = {
      {"delivered", &counters_.delivered},
      {"failed", &counters_.failed},
      {"retried", &counters_.retried},
      {"dropped", &counters_.dropped}};
  out +=
      "# HELP syn_guard_console_webhook_posts_total Webhook outcomes: posts delivered,"
      " posts failed for good, retries, incidents dropped from the full queue\n"
      "# TYPE syn_guard_console_webhook_posts_total counter\n";
  for (const auto& [outcome, value] : rows) {
    out += std::string("syn_guard_console_webhook_posts_total{outcome=\"") + outcome + "\"} " +
           std::to_string(value->load(std::memory_order_relaxed)) + "\n";
  }
}

void Webhooks::enqueue(const IncidentRecord& incident) {
  std::vector<uint64_t> dropped;
  {
    std::lock_guard lock(mu_);
    if (!queued_ids_.insert(incident.id).second) return;
    queue_.push_back(incident);
    while (queue_.size() > options_.queue_limit) {
      dropped.push_back(queue_.front().id);
      ++counters_.dropped;
      queued_ids_.erase(queue_.front().id);
      queue_.pop_front();
    }
  }
  cv_.notify_all();
  for (uint64_t id : dropped) record(id, "dropped: queue full");
}

Result<void> Webhooks::requeuePending() {
  SG_READ(all, service_.incidents());
  for (const IncidentRecord& i : *all) {
    if (i.webhook_status == "pending") enqueue(i);
  }
  return Ok{};
}

void Webhooks::start() {
  std::lock_guard lock(mu_);
  if (worker_.joinable()) return;
  stopping_ = false;
  worker_ = std::thread([this] {
    for (;;) {
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        if (stopping_) return;
      }
      deliverNext();
    }
  });
}

void Webhooks::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (worker_.joinable() && worker_.get_id() != std::this_thread::get_id()) worker_.join();
}

size_t Webhooks::queued() const {
  std::lock_guard lock(mu_);
  return queue_.size();
}

bool Webhooks::deliverNext() {
  IncidentRecord incident;
  {
    std::lock_guard lock(mu_);
    if (queue_.empty()) return false;
    incident = std::move(queue_.front());
    queue_.pop_front();
    queued_ids_.erase(incident.id);
  }
  if (urls_.empty()) {
    record(incident.id, "not posted: no webhook configured");
    return true;
  }
  const std::string body = incidentWebhookBody(service_, incident, options_.console_url);
  size_t delivered = 0;
  std::string failures;
  for (const WebhookUrl& url : urls_) {
    bool stopped = false;
    std::string why = deliverTo(url, body, stopped);
    if (stopped) return true;  // stays "pending": posted again at the next start
    if (why.empty()) {
      ++delivered;
    } else {
      failures += (failures.empty() ? "" : "; ") + why;
    }
  }
  const std::string count = std::to_string(delivered) + "/" + std::to_string(urls_.size());
  if (failures.empty()) {
    record(incident.id, "delivered to " + count);
  } else if (delivered > 0) {
    record(incident.id, "delivered to " + count + "; failed: " + failures);
  } else {
    record(incident.id, "failed: " + failures);
  }
  return true;
}

std::string Webhooks::deliverTo(const WebhookUrl& url, const std::string& body, bool& stopped) {
  net::Backoff backoff(options_.backoff, random_);
  std::string last;
  for (unsigned attempt = 1; attempt <= options_.max_attempts; ++attempt) {
    if (attempt > 1) ++counters_.retried;
    auto status = sender_->post(url, body);
    if (status && *status >= 200 && *status < 300) {
      ++counters_.delivered;
      return {};
    }
    if (status && permanent(*status)) {
      ++counters_.failed;
      return url.url + ": " + std::to_string(*status) + " (not retried)";
    }
    last = status ? std::to_string(*status) : status.error().message();
    if (attempt < options_.max_attempts && !waitOrStop(backoff.next())) {
      stopped = true;
      return {};
    }
  }
  ++counters_.failed;
  return url.url + ": " + last + " after " + std::to_string(options_.max_attempts) + " attempts";
}

bool Webhooks::waitOrStop(std::chrono::milliseconds delay) {
  if (sleep_) return sleep_(delay);
  std::unique_lock lock(mu_);
  return !cv_.wait_for(lock, delay, [this] { return stopping_; });
}

void Webhooks::record(uint64_t incident_id, const std::string& status) {
  // A failure here (the store) leaves the incident "pending": posted again at
  // the next start.
  auto r = service_.recordWebhook(incident_id, status);
  (void)r;
}

}  // namespace sg::console
