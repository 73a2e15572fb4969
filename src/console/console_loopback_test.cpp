// The console as it runs: ConsoleService behind the real HTTPS + WebSocket
// server on 127.0.0.1, an agent that enrolls over HTTPS (trusting the
// console through the token's CA pin) and then speaks the protocol over
// WebSocket with its new certificate (label net).
#include <filesystem>
#include <nlohmann/json.hpp>

#include "console/agent_link.h"
#include "console/service_tokens.h"
#include "console/store_open.h"
#include "net/https_client.h"
#include "net/loopback_fixture.h"
#include "net/ws_client.h"
#include "pki/console_pki.h"
#include "pki/csr.h"
#include "pki/key.h"
#include "pki/token.h"
#include "proto/codec.h"
#include "proto/field_reader.h"
#include "scratch_dir.h"

namespace sg::console {
namespace {

namespace fs = std::filesystem;
using net::test::waitFor;

// The agent's end: records what the console sends.
class TestAgent : public net::WsClientHandler {
 public:
  void onConnected() override { ++connects; }
  void onText(std::string text) override {
    auto m = proto::parseConsoleMessage(text);
    EXPECT_OK(m);
    std::lock_guard<std::mutex> lock(mu);
    if (m) got.push_back(std::move(*m));
  }
  void onDisconnected(const std::string& why, std::chrono::milliseconds) override {
    std::lock_guard<std::mutex> lock(mu);
    reason = why;
  }
  template <typename T>
  std::optional<T> last() {
    std::lock_guard<std::mutex> lock(mu);
    for (auto it = got.rbegin(); it != got.rend(); ++it) {
      if (const T* t = std::get_if<T>(&*it)) return *t;
    }
    return std::nullopt;
  }
  template <typename T>
  size_t count() {
    std::lock_guard<std::mutex> lock(mu);
    size_t n = 0;
    for (const auto& m : got) n += std::holds_alternative<T>(m) ? 1 : 0;
    return n;
  }
  std::atomic<int> connects{0};
  std::mutex mu;
  std::vector<proto::ConsoleMessage> got;
  std::string reason;
};

class ConsoleLoopbackTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto pki = pki::loadOrCreateConsolePki(pki::ConsolePkiOptions{dir_, {"127.0.0.1"}});
    ASSERT_OK(pki);
    pki_ = std::move(*pki);
    startConsole(0);
  }
  void TearDown() override {
    if (client_) client_->stop();
    stopConsole();
  }
  void startConsole(uint16_t port) {
    auto store = openStore("", dir_);
    ASSERT_OK(store);
    auto svc = ConsoleService::open(std::move(*store), {}, clock_, systemWallMs, pki_.ca_pem,
                                    *pki::keyToPem(pki_.ca_key));
    ASSERT_OK(svc);
    svc_ = std::move(*svc);
    net::ServerOptions o;
    o.host = "127.0.0.1";
    o.port = port;
    o.tls = net::TlsServerConfig{pki_.server_pem, pki_.server_key_pem, pki_.ca_pem};
    o.limits.rate = rate_;
    net::Router router;
    addEnrollRoute(router, *svc_);
    auto server = net::Server::start(io_.ioc(), o, std::move(router), agentRoute(*svc_), clock_);
    ASSERT_OK(server);
    server_ = *server;
  }
  void stopConsole() {
    if (server_) server_->stop();
    // The server's connections end on the io threads; wait until their
    // handlers ran before the service goes.
    waitFor([&] { return !server_ || server_->activeConnections() == 0; });
    server_.reset();
    svc_.reset();
  }
  net::HttpsTarget target(const std::string& pin) {
    net::HttpsTarget t;
    t.host = "127.0.0.1";
    t.port = server_->port();
    t.tls.ca_pin = pin;
    t.timeout = std::chrono::milliseconds(5000);
    return t;
  }
  Result<net::HttpsReply> postEnroll(const std::string& token, const std::string& body) {
    auto parsed = pki::parseToken(token);
    return net::httpsRequest(target(parsed ? parsed->ca_pin : pki_.ca_pin), "POST", "/v1/enroll",
                             body);
  }
  // Enrolls `name` over HTTPS as an agent would; returns its TLS config.
  net::TlsClientConfig enroll(const std::string& name) {
    auto token = svc_->createEnrollmentToken(admin_, {{"org", "acme"}}, std::nullopt);
    EXPECT_OK(token);
    auto key = pki::generateEcKey();
    auto csr = pki::csrToPem(*pki::makeCsr(*key, name));
    nlohmann::json body{{"token", *token}, {"csr", *csr}, {"name", name}};
    auto reply = postEnroll(*token, body.dump());
    EXPECT_OK(reply);
    EXPECT_EQ(reply->status, 200) << reply->body;
    auto j = nlohmann::json::parse(reply->body);
    EXPECT_EQ(j["endpoint"], name);
    net::TlsClientConfig tls;
    tls.ca_pem = j["ca"].get<std::string>();  // from now on: the saved CA, no pin
    tls.cert_pem = j["cert"].get<std::string>();
    tls.key_pem = *pki::keyToPem(*key);
    return tls;
  }
  void startAgent(const net::TlsClientConfig& tls) {
    net::WsClientOptions o;
    o.host = "127.0.0.1";
    o.port = server_->port();
    o.tls = tls;
    o.backoff =
        net::BackoffPolicy{std::chrono::milliseconds(20), std::chrono::milliseconds(200), 2.0, 0.5};
    o.connect_timeout = std::chrono::milliseconds(3000);
    auto c = net::WsClient::create(io_.ioc(), o, agent_, [] { return 0.5; });
    ASSERT_OK(c);
    client_ = std::move(*c);
    client_->start();
  }
  bool say(const proto::AgentMessage& m) { return client_->send(proto::encode(m)); }

  sg::test::ScratchDir scratch_{"sg-console"};
  std::string dir_ = scratch_.path().string();
  pki::ConsolePki pki_;
  net::test::IoThreads io_;
  MonotonicClock clock_;
  std::unique_ptr<ConsoleService> svc_;
  std::shared_ptr<net::Server> server_;
  std::shared_ptr<TestAgent> agent_ = std::make_shared<TestAgent>();
  std::unique_ptr<net::WsClient> client_;
  Actor admin_{"root", Role::kAdmin};
  net::RateLimit rate_;  // set before startConsole()
};

proto::Event detection(const char* source) {
  proto::Event e;
  e.source = *parsePrefix(source);
  e.dst_port = 443;
  e.count = 300;
  e.window_ms = 5000;
  e.first_attempt_ns = 1'000'000;
  e.detected_ns = 2'000'000;
  return e;
}

TEST_F(ConsoleLoopbackTest, EnrolledAgentGetsSnapshotDeltasAndItsReportsBecomeFloods) {
  auto tls = enroll("web-1");
  startAgent(tls);
  ASSERT_TRUE(waitFor([&] { return client_->connected(); })) << agent_->reason;
  ASSERT_TRUE(say(proto::Hello{"web-1", "0.1.0", "linux", 0, 0}));
  ASSERT_TRUE(waitFor([&] { return agent_->last<proto::Snapshot>().has_value(); }));
  EXPECT_EQ(agent_->count<proto::Welcome>(), 1u);
  ASSERT_TRUE(say(proto::Ack{agent_->last<proto::Snapshot>()->version}));

  // A global block reaches it as a delta; its ack shows in blocks().
  Actor op{"olga", Role::kOperator};
  ASSERT_OK(svc_->block(op, *parsePrefix("203.0.113.0/24"), std::nullopt, "botnet"));
  ASSERT_TRUE(waitFor([&] { return agent_->last<proto::Delta>().has_value(); }));
  const proto::Delta delta = *agent_->last<proto::Delta>();
  ASSERT_EQ(delta.ops.size(), 1u);
  EXPECT_EQ(delta.ops[0].kind, proto::OpKind::kBlockAdd);
  ASSERT_TRUE(say(proto::Ack{delta.version}));
  ASSERT_TRUE(waitFor([&] {
    auto b = svc_->blocks();
    return b->size() == 1 && b->front().status.acked == 1;
  }));

  // A report: by the time its ack arrives the flood is visible.
  ASSERT_TRUE(say(proto::Report{1, 0, {detection("192.0.2.7")}}));
  ASSERT_TRUE(waitFor([&] { return agent_->last<proto::ReportAck>().has_value(); }));
  auto floods = svc_->floods(false);
  ASSERT_EQ(floods->size(), 1u);
  EXPECT_EQ(proto::prefixText(floods->front().flood.source), "192.0.2.7");
  EXPECT_EQ(floods->front().flood.endpoints.count("web-1"), 1u);
}

TEST_F(ConsoleLoopbackTest, ARestartedConsoleRestoresAndTheAgentResumes) {
  auto tls = enroll("web-1");
  startAgent(tls);
  ASSERT_TRUE(waitFor([&] { return client_->connected(); }));
  ASSERT_TRUE(say(proto::Hello{"web-1", "0.1.0", "linux", 0, 0}));
  ASSERT_TRUE(waitFor([&] { return agent_->last<proto::Snapshot>().has_value(); }));
  ASSERT_OK(svc_->block(admin_, *parsePrefix("203.0.113.0/24"), std::nullopt, ""));
  ASSERT_TRUE(say(proto::Report{1, 0, {detection("192.0.2.7")}}));
  ASSERT_TRUE(waitFor([&] { return agent_->count<proto::ReportAck>() == 1; }));
  const uint16_t port = server_->port();
  stopConsole();
  ASSERT_TRUE(waitFor([&] { return !client_->connected(); }));

  startConsole(port);  // a second console process on the same data directory
  EXPECT_EQ(svc_->floods(false)->size(), 1u);
  EXPECT_EQ(svc_->blocks()->size(), 1u);
  ASSERT_TRUE(waitFor([&] { return agent_->connects.load() == 2 && client_->connected(); }))
      << agent_->reason;
  ASSERT_TRUE(say(proto::Hello{"web-1", "0.1.0", "linux", 0, 1}));
  ASSERT_TRUE(waitFor([&] { return agent_->count<proto::Welcome>() == 2; }));
  EXPECT_EQ(agent_->last<proto::Welcome>()->last_report_seq, 1u);
  ASSERT_TRUE(waitFor([&] { return agent_->count<proto::Snapshot>() == 2; }));
  EXPECT_EQ(agent_->last<proto::Snapshot>()->blocks.size(), 1u);
}

TEST_F(ConsoleLoopbackTest, EnrollErrorsAreClear4xx) {
  auto token = svc_->createEnrollmentToken(admin_, {}, std::nullopt);
  ASSERT_OK(token);
  auto key = pki::generateEcKey();
  const std::string csr = *pki::csrToPem(*pki::makeCsr(*key, "x"));
  auto status = [&](const std::string& body) {
    auto r = postEnroll(*token, body);
    EXPECT_OK(r);
    auto j = nlohmann::json::parse(r->body, nullptr, false);
    EXPECT_TRUE(j.contains("error") || r->status == 200) << r->body;
    return r->status;
  };
  EXPECT_EQ(status("not json"), 400);
  EXPECT_EQ(status(R"({"token":"x"})"), 400);
  EXPECT_EQ(status(nlohmann::json{{"token", *token}, {"csr", csr}, {"name", "a"}, {"x", 1}}.dump()),
            400);
  EXPECT_EQ(status(nlohmann::json{{"token", *token}, {"csr", "junk"}, {"name", "a"}}.dump()), 400);
  EXPECT_EQ(status(nlohmann::json{{"token", *token}, {"csr", csr}, {"name", "a b"}}.dump()), 400);
  EXPECT_EQ(status(nlohmann::json{{"token", "sgE_nope"}, {"csr", csr}, {"name", "a"}}.dump()), 401);
  EXPECT_EQ(status(nlohmann::json{{"token", *token}, {"csr", csr}, {"name", "a"}}.dump()), 200);
  EXPECT_EQ(status(nlohmann::json{{"token", *token}, {"csr", csr}, {"name", "b"}}.dump()), 403);
  auto second = svc_->createEnrollmentToken(admin_, {}, std::nullopt);
  EXPECT_EQ(
      postEnroll(*second, nlohmann::json{{"token", *second}, {"csr", csr}, {"name", "a"}}.dump())
          ->status,
      409);
}

TEST_F(ConsoleLoopbackTest, ARevokedAgentIsCutOffAndRefused) {
  auto tls = enroll("web-1");
  startAgent(tls);
  ASSERT_TRUE(waitFor([&] { return client_->connected(); }));
  ASSERT_TRUE(say(proto::Hello{"web-1", "0.1.0", "linux", 0, 0}));
  ASSERT_TRUE(waitFor([&] { return agent_->count<proto::Welcome>() == 1; }));
  ASSERT_OK(svc_->revokeEndpoint(admin_, "web-1"));
  ASSERT_TRUE(waitFor([&] { return !client_->connected(); }));
  // It keeps trying; every upgrade is refused (403), none reaches a session.
  ASSERT_TRUE(waitFor([&] { return server_->counters().get(net::NetCounter::kWsRefused) >= 2; }));
  EXPECT_EQ(agent_->count<proto::Welcome>(), 1u);
}

// Only an endpoint's current certificate has a request budget of its own; a
// revoked one is counted against its address like a client without one.
TEST_F(ConsoleLoopbackTest, OnlyACurrentCertificateHasARateBudgetOfItsOwn) {
  auto revoked = enroll("web-1");
  auto current = enroll("web-2");
  ASSERT_OK(svc_->revokeEndpoint(admin_, "web-1"));
  stopConsole();
  rate_ = net::RateLimit{0.001, 3, 64};
  startConsole(0);
  auto request = [&](const net::TlsClientConfig* tls) {
    net::HttpsTarget t = target(pki_.ca_pin);
    if (tls != nullptr) t.tls = *tls;
    auto r = net::httpsRequest(t, "GET", "/v1/nothing");
    EXPECT_OK(r);
    return r ? r->status : 0;
  };
  for (int i = 0; i < 3; ++i) EXPECT_EQ(request(&revoked), 404) << i;
  EXPECT_EQ(request(nullptr), 429);  // the revoked certificate spent the address's budget
  for (int i = 0; i < 3; ++i) EXPECT_EQ(request(&current), 404) << i;
  EXPECT_EQ(request(&current), 429);  // its own budget, spent
}

}  // namespace
}  // namespace sg::console
