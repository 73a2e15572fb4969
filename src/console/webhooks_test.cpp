// Webhooks with a fake sender and a recording sleep (no network, no waiting):
// retries with backoff, permanent refusals, the outcome on the incident, the
// queue's bound, and reposting what a restart finds pending.
#include "console/webhooks.h"

#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "console/service_test_fixture.h"
#include "proto/field_reader.h"

namespace sg::console {
namespace {

using std::chrono::milliseconds;
using test::kSec;

// Polls `pred` every 2 ms for up to 5 s (the worker thread's test only).
bool waitUntil(const std::function<bool()>& pred) {
  for (int i = 0; i < 2500 && !pred(); ++i) std::this_thread::sleep_for(milliseconds(2));
  return pred();
}

// Replies with the next scripted status per URL (then 200); -1: no reply.
class FakeSender : public WebhookSender {
 public:
  Result<int> post(const WebhookUrl& url, const std::string& body) override {
    posts.push_back({url.url, body});
    auto& script = scripts[url.url];
    if (script.empty()) return 200;
    const int status = script.front();
    script.erase(script.begin());
    if (status < 0) return makeError(Errc::kUnavailable, "connect: Connection refused");
    return status;
  }
  std::map<std::string, std::vector<int>> scripts;
  std::vector<std::pair<std::string, std::string>> posts;
};

class WebhooksTest : public test::ServiceFixture {
 protected:
  // An incident on a real flood; returns its id.
  uint64_t escalateOne(const char* source = "192.0.2.7") {
    if (!conn_) conn_ = connect(enrollAgent("web-1"));
    sendFrom(conn_, proto::Report{++seq_, 0, {detection(source, 500 * kSec)}});
    auto floods = svc_->floods(false);
    EXPECT_OK(floods);
    for (const FloodView& f : *floods) {
      if (proto::prefixText(f.flood.source) == source) {
        auto id = svc_->escalate(operator_, f.flood.id, "page on-call");
        EXPECT_OK(id);
        return id ? *id : 0;
      }
    }
    ADD_FAILURE() << "no flood from " << source;
    return 0;
  }
  std::unique_ptr<Webhooks> make(std::vector<std::string> urls, size_t queue_limit = 16) {
    WebhookOptions o;
    o.urls = std::move(urls);
    o.console_url = "https://console.test:8443";
    o.queue_limit = queue_limit;
    o.backoff = net::BackoffPolicy{milliseconds(100), milliseconds(1000), 2.0, 0.5};
    auto sender = std::make_unique<FakeSender>();
    sender_ = sender.get();
    auto w = Webhooks::create(
        *svc_, o, std::move(sender),
        [this](milliseconds d) {
          sleeps_.push_back(d);
          return true;
        },
        [] { return 0.0; });  // no jitter drawn: the largest delay
    EXPECT_OK(w);
    return w ? std::move(*w) : nullptr;
  }
  std::string statusOf(uint64_t id) {
    auto all = svc_->incidents();
    EXPECT_OK(all);
    if (!all) return "<error>";
    for (const IncidentRecord& i : *all) {
      if (i.id == id) return i.webhook_status;
    }
    return "<none>";
  }

  std::shared_ptr<test::FakeConnection> conn_;
  uint64_t seq_ = 0;
  FakeSender* sender_ = nullptr;
  std::vector<milliseconds> sleeps_;
};

TEST(WebhookUrlTest, HttpsOnlyWithHostPortAndPath) {
  auto u = parseWebhookUrl("https://hooks.example.com:8443/a/b?x=1");
  ASSERT_OK(u);
  EXPECT_EQ(u->host, "hooks.example.com");
  EXPECT_EQ(u->port, 8443);
  EXPECT_EQ(u->path, "/a/b?x=1");
  auto v6 = parseWebhookUrl("https://[::1]/hook");
  ASSERT_OK(v6);
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 443);
  EXPECT_EQ(parseWebhookUrl("https://h")->path, "/");
  EXPECT_ERROR(parseWebhookUrl("http://h/x"), Errc::kInvalidArgument);
  EXPECT_ERROR(parseWebhookUrl("ftp://h"), Errc::kInvalidArgument);
  EXPECT_ERROR(parseWebhookUrl("https://"), Errc::kInvalidArgument);
  EXPECT_ERROR(parseWebhookUrl("https://h:0/"), Errc::kInvalidArgument);
  EXPECT_ERROR(parseWebhookUrl("https://h:99999/"), Errc::kInvalidArgument);
  EXPECT_ERROR(parseWebhookUrl("https://h:/"), Errc::kInvalidArgument);
  EXPECT_ERROR(parseWebhookUrl("https://u:p@h/"), Errc::kInvalidArgument);
  WebhookOptions bad;
  bad.max_attempts = 0;
  EXPECT_ERROR(bad.validate(), Errc::kInvalidArgument);
}

TEST_F(WebhooksTest, EscalateHookQueuesTheIncidentAndItsJsonIsPosted) {
  auto w = make({"https://a.test/hook"});
  svc_->setIncidentHook([&](const IncidentRecord& i) { w->enqueue(i); });
  const uint64_t id = escalateOne();
  EXPECT_EQ(statusOf(id), "pending");
  EXPECT_EQ(w->queued(), 1u);
  const uint64_t flood = svc_->incidents()->front().flood_id;
  ASSERT_OK(svc_->escalate(operator_, flood, "again"));  // already open: not queued again
  EXPECT_EQ(w->queued(), 1u);
  EXPECT_TRUE(w->deliverNext());
  EXPECT_FALSE(w->deliverNext());
  EXPECT_EQ(statusOf(id), "delivered to 1/1");
  ASSERT_EQ(sender_->posts.size(), 1u);
  auto body = nlohmann::json::parse(sender_->posts[0].second);
  EXPECT_EQ(body["kind"], "Incident");
  EXPECT_EQ(body["id"], id);
  EXPECT_EQ(body["note"], "page on-call");
  EXPECT_EQ(body["created_by"], "olga");
  EXPECT_EQ(body["console"], "https://console.test:8443");
  EXPECT_TRUE(body["created_at"].is_string());
  EXPECT_FALSE(body.contains("webhook_status"));
  EXPECT_EQ(body["flood"]["source"], "192.0.2.7");
  EXPECT_EQ(body["flood"]["id"], body["flood_id"]);
  // Audited as the console.
  auto log = svc_->audit(0, 100);
  EXPECT_EQ(log->back().actor, "console");
  EXPECT_EQ(log->back().action, "webhook");
  EXPECT_EQ(log->back().details, "delivered to 1/1");
}

TEST_F(WebhooksTest, ServerErrorsAreRetriedWithGrowingBackoff) {
  auto w = make({"https://a.test/hook"});
  sender_->scripts["https://a.test/hook"] = {503, -1, 429, 200};
  const uint64_t id = escalateOne();
  w->enqueue(svc_->incidents()->front());
  EXPECT_TRUE(w->deliverNext());
  EXPECT_EQ(sender_->posts.size(), 4u);
  EXPECT_EQ(sleeps_,
            (std::vector<milliseconds>{milliseconds(100), milliseconds(200), milliseconds(400)}));
  EXPECT_EQ(statusOf(id), "delivered to 1/1");
}

TEST_F(WebhooksTest, GivesUpAfterMaxAttemptsAndRecordsWhy) {
  auto w = make({"https://a.test/hook", "https://b.test/hook"});
  sender_->scripts["https://b.test/hook"] = {503, 503, 503, 503, 503, 503};
  const uint64_t id = escalateOne();
  w->enqueue(svc_->incidents()->front());
  EXPECT_TRUE(w->deliverNext());
  EXPECT_EQ(sender_->posts.size(), 1u + 5u);
  EXPECT_EQ(sleeps_.size(), 4u);
  EXPECT_EQ(statusOf(id), "delivered to 1/2; failed: https://b.test/hook: 503 after 5 attempts");
}

TEST_F(WebhooksTest, OutcomesAreCountedInTheConsolesMetrics) {
  auto w = make({"https://a.test/hook", "https://b.test/hook"}, 1);
  sender_->scripts["https://b.test/hook"] = {503, 503, 503, 503, 503};
  escalateOne("192.0.2.7");
  escalateOne("192.0.2.8");
  auto all = svc_->incidents();
  ASSERT_EQ(all->size(), 2u);
  w->enqueue((*all)[0]);
  w->enqueue((*all)[1]);  // the queue holds one: the first is dropped
  EXPECT_TRUE(w->deliverNext());
  const std::string m = svc_->metricsText();
  for (const char* line : {"{outcome=\"delivered\"} 1\n", "{outcome=\"failed\"} 1\n",
                           "{outcome=\"retried\"} 4\n", "{outcome=\"dropped\"} 1\n"}) {
    EXPECT_NE(m.find(std::string("syn_guard_console_webhook_posts_total") + line),
              std::string::npos)
        << line << m;
  }
  w.reset();  // unregisters: the service's metrics no longer call it
  EXPECT_EQ(svc_->metricsText().find("webhook_posts_total"), std::string::npos);
}

TEST_F(WebhooksTest, ClientErrorIsNotRetried) {
  auto w = make({"https://a.test/hook"});
  sender_->scripts["https://a.test/hook"] = {400};
  const uint64_t id = escalateOne();
  w->enqueue(svc_->incidents()->front());
  EXPECT_TRUE(w->deliverNext());
  EXPECT_EQ(sender_->posts.size(), 1u);
  EXPECT_TRUE(sleeps_.empty());
  EXPECT_EQ(statusOf(id), "failed: https://a.test/hook: 400 (not retried)");
}

TEST_F(WebhooksTest, FullQueueDropsTheOldestAndRecordsIt) {
  auto w = make({"https://a.test/hook"}, 2);
  svc_->setIncidentHook([&](const IncidentRecord& i) { w->enqueue(i); });
  const uint64_t first = escalateOne("192.0.2.1");
  const uint64_t second = escalateOne("192.0.2.2");
  const uint64_t third = escalateOne("192.0.2.3");
  EXPECT_EQ(w->queued(), 2u);
  EXPECT_EQ(statusOf(first), "dropped: queue full");
  while (w->deliverNext()) {
  }
  EXPECT_EQ(statusOf(second), "delivered to 1/1");
  EXPECT_EQ(statusOf(third), "delivered to 1/1");
  EXPECT_EQ(sender_->posts.size(), 2u);
}

TEST_F(WebhooksTest, PendingIncidentsArePostedAgainAfterARestart) {
  const uint64_t id = escalateOne();  // no hook: stays pending
  open();                             // the console restarts on the same store
  conn_.reset();
  auto w = make({"https://a.test/hook"});
  ASSERT_OK(w->requeuePending());
  EXPECT_EQ(w->queued(), 1u);
  w->start();
  ASSERT_TRUE(waitUntil([&] { return statusOf(id) == "delivered to 1/1"; }));
  w->stop();
  EXPECT_EQ(sender_->posts.size(), 1u);
  ASSERT_OK(w->requeuePending());  // delivered ones are not queued again
  EXPECT_EQ(w->queued(), 0u);
}

TEST_F(WebhooksTest, WithoutUrlsTheIncidentSaysNotPosted) {
  auto w = make({});
  const uint64_t id = escalateOne();
  w->enqueue(svc_->incidents()->front());
  EXPECT_TRUE(w->deliverNext());
  EXPECT_EQ(statusOf(id), "not posted: no webhook configured");
}

}  // namespace
}  // namespace sg::console
