// Webhooks over real HTTPS on 127.0.0.1 (label net): a receiver that fails
// the first post with 503 and accepts the second; the incident ends
// "delivered" and the receiver got its JSON once.
#include <atomic>
#include <mutex>
#include <nlohmann/json.hpp>

#include "console/service_test_fixture.h"
#include "console/webhooks.h"
#include "net/loopback_fixture.h"

namespace sg::console {
namespace {

using std::chrono::milliseconds;
using test::kSec;

class WebhooksLoopbackTest : public test::ServiceFixture {
 protected:
  // Starts the receiver on POST /hook; the first `failures` posts get 503.
  void startReceiver(int failures) {
    failures_ = failures;
    net::Router router;
    router.add("POST", "/hook", [this](const net::HttpRequest& r) {
      std::lock_guard lock(mu_);
      if (failures_ > 0) {
        --failures_;
        ++refused_;
        return net::errorResponse(503, "unavailable", "try later");
      }
      accepted_.push_back(r.body);
      return net::HttpResponse{204, "", "text/plain"};
    });
    auto s = net::Server::start(io_.ioc(), net::test::serverOptions(pki_), std::move(router),
                                std::nullopt, server_clock_);
    ASSERT_OK(s);
    server_ = *s;
  }
  void TearDown() override {
    // Webhooks unregister their metrics from the service: gone before it.
    webhooks_.reset();
    if (server_) server_->stop();
    ServiceFixture::TearDown();
  }
  std::string statusOf(uint64_t id) {
    auto all = svc_->incidents();
    if (!all) return "<error>";
    for (const IncidentRecord& i : *all) {
      if (i.id == id) return i.webhook_status;
    }
    return "<none>";
  }

  net::test::TestPki pki_ = net::test::makeTestPki();
  net::test::IoThreads io_;
  MonotonicClock server_clock_;
  std::shared_ptr<net::Server> server_;
  std::unique_ptr<Webhooks> webhooks_;
  std::mutex mu_;
  int failures_ = 0;
  int refused_ = 0;
  std::vector<std::string> accepted_;
};

TEST_F(WebhooksLoopbackTest, RetriedAfter503ThenDeliveredOnce) {
  startReceiver(1);
  WebhookOptions o;
  o.urls = {"https://127.0.0.1:" + std::to_string(server_->port()) + "/hook"};
  o.ca_pem = pki_.ca_pem;
  o.console_url = "https://console.test:8443";
  o.backoff = net::BackoffPolicy{milliseconds(5), milliseconds(50), 2.0, 0.5};
  o.timeout = milliseconds(3000);
  auto w = Webhooks::create(*svc_, o);
  ASSERT_OK(w);
  webhooks_ = std::move(*w);
  svc_->setIncidentHook([this](const IncidentRecord& i) { webhooks_->enqueue(i); });
  webhooks_->start();

  auto conn = connect(enrollAgent("web-1"));
  sendFrom(conn, proto::Report{1, 0, {detection("192.0.2.7", 500 * kSec)}});
  auto floods = svc_->floods(false);
  ASSERT_OK(floods);
  ASSERT_EQ(floods->size(), 1u);
  auto id = svc_->escalate(operator_, (*floods)[0].flood.id, "page on-call");
  ASSERT_OK(id);

  ASSERT_TRUE(net::test::waitFor([&] { return statusOf(*id) == "delivered to 1/1"; }))
      << statusOf(*id);
  std::lock_guard lock(mu_);
  EXPECT_EQ(refused_, 1);
  ASSERT_EQ(accepted_.size(), 1u);
  auto body = nlohmann::json::parse(accepted_[0]);
  EXPECT_EQ(body["kind"], "Incident");
  EXPECT_EQ(body["id"], *id);
  EXPECT_EQ(body["flood_id"], (*floods)[0].flood.id);
  EXPECT_EQ(body["note"], "page on-call");
  EXPECT_EQ(body["created_by"], "olga");
  EXPECT_EQ(body["console"], "https://console.test:8443");
  EXPECT_EQ(body["flood"]["source"], "192.0.2.7");
  EXPECT_EQ(body["flood"]["endpoints"], nlohmann::json::array({"web-1"}));
}

TEST_F(WebhooksLoopbackTest, UntrustedReceiverFailsAfterTheAttempts) {
  startReceiver(0);
  WebhookOptions o;
  const std::string url = "https://127.0.0.1:" + std::to_string(server_->port()) + "/hook";
  o.urls = {url};
  o.ca_pem = ca_pem_;  // not the CA that signed the receiver's certificate
  o.max_attempts = 2;
  o.backoff = net::BackoffPolicy{milliseconds(5), milliseconds(50), 2.0, 0.5};
  o.timeout = milliseconds(3000);
  auto w = Webhooks::create(*svc_, o);
  ASSERT_OK(w);
  webhooks_ = std::move(*w);

  auto conn = connect(enrollAgent("web-1"));
  sendFrom(conn, proto::Report{1, 0, {detection("192.0.2.7", 500 * kSec)}});
  auto floods = svc_->floods(false);
  ASSERT_OK(floods);
  ASSERT_EQ(floods->size(), 1u);
  auto id = svc_->escalate(operator_, (*floods)[0].flood.id, "");
  ASSERT_OK(id);
  ASSERT_OK(webhooks_->requeuePending());
  EXPECT_TRUE(webhooks_->deliverNext());
  const std::string status = statusOf(*id);
  EXPECT_EQ(status.rfind("failed: " + url + ": TLS handshake", 0), 0u) << status;
  EXPECT_NE(status.find("after 2 attempts"), std::string::npos) << status;
  std::lock_guard lock(mu_);
  EXPECT_TRUE(accepted_.empty());
}

}  // namespace
}  // namespace sg::console
