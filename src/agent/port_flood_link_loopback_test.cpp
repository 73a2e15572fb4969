// An agent's port flood reaching the console's API end to end, on 127.0.0.1
// (label net, no root): the real ConsoleService over SQLite behind the real
// HTTPS + WebSocket server (enrollment, API and agent routes), and the real
// AgentLink of an enrolled agent. The watch's log lines (the agent's
// port_flood_detected / port_flood_ended) go out over the link at protocol
// version 2 and come back through GET /v1/port-floods.
#include <poll.h>
#include <stdlib.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "agent/agent_link.h"
#include "agent/console_link.h"
#include "agent/fake_sensor.h"
#include "agent/port_flood_watch.h"
#include "console/agent_link.h"
#include "console/api.h"
#include "console/store_open.h"
#include "core/fake_isolation.h"
#include "net/https_client.h"
#include "net/loopback_fixture.h"
#include "pki/console_pki.h"
#include "pki/csr.h"
#include "pki/key.h"
#include "scratch_dir.h"

namespace sg::agent {
namespace {

namespace fs = std::filesystem;

class PortFloodLinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(dir_ + "/agent");
    auto pki = pki::loadOrCreateConsolePki(pki::ConsolePkiOptions{dir_, {"127.0.0.1"}});
    ASSERT_OK(pki);
    pki_ = std::move(*pki);
    auto store = console::openStore("", dir_);
    ASSERT_OK(store);
    auto svc = console::ConsoleService::open(std::move(*store), {}, clock_, console::systemWallMs,
                                             pki_.ca_pem, *pki::keyToPem(pki_.ca_key));
    ASSERT_OK(svc);
    svc_ = std::move(*svc);
    net::ServerOptions o;
    o.host = "127.0.0.1";
    o.port = 0;
    o.tls = net::TlsServerConfig{pki_.server_pem, pki_.server_key_pem, pki_.ca_pem};
    net::Router router;
    console::addEnrollRoute(router, *svc_);
    console::addApiRoutes(router, *svc_);
    auto server =
        net::Server::start(io_.ioc(), o, std::move(router), console::agentRoute(*svc_), clock_);
    ASSERT_OK(server);
    server_ = *server;
    auto token = svc_->createApiToken(admin_, "viewer-script", console::Role::kViewer);
    ASSERT_OK(token);
    viewer_token_ = *token;
    book_ = std::make_unique<BlockBook>(sensor_, nullptr, log_, clock_, AgentConfig{},
                                        [](uint32_t) { return std::string("eth0"); });
  }
  void TearDown() override {
    link_.reset();
    if (server_) server_->stop();
    net::test::waitFor([&] { return !server_ || server_->activeConnections() == 0; });
    server_.reset();
    svc_.reset();
    std::fclose(out_);
  }
  void startAgent(const std::string& name) {
    auto enroll_token = svc_->createEnrollmentToken(admin_, {{"org", "acme"}}, std::nullopt);
    ASSERT_OK(enroll_token);
    auto key = pki::generateEcKey();
    auto enrolled = svc_->enroll(*enroll_token, *pki::csrToPem(*pki::makeCsr(*key, name)), name);
    ASSERT_OK(enrolled);
    ConsoleLinkOptions o;
    o.host = "127.0.0.1";
    o.port = server_->port();
    o.url = "https://127.0.0.1:" + std::to_string(o.port);
    o.tls.ca_pem = enrolled->ca_pem;
    o.tls.cert_pem = enrolled->cert_pem;
    o.tls.key_pem = *pki::keyToPem(*key);
    o.backoff =
        net::BackoffPolicy{std::chrono::milliseconds(20), std::chrono::milliseconds(200), 2.0, 0.5};
    o.connect_timeout = std::chrono::milliseconds(3000);
    o.heartbeat = std::chrono::milliseconds(100);
    o.core.name = name;
    o.core.agent_version = "0.1.0";
    o.core.state_dir = dir_ + "/agent";
    auto link = ConsoleLink::create(std::move(o), clock_);
    ASSERT_OK(link);
    link_ = std::make_unique<AgentLink>(std::move(*link), dir_ + "/agent");
    LinkApplyHost h;
    h.book = book_.get();
    h.isolation = &isolation_;
    h.config = [] { return AgentConfig{}; };
    h.allowlist = [] { return std::vector<Prefix>{*parsePrefix("127.0.0.0/8")}; };
    h.apply_config = [](const AgentConfig&) -> Result<void> { return Ok{}; };
    ASSERT_OK(link_->attach(h, log_, [] { return std::map<std::string, uint64_t>{}; }));
    link_->setPortFloodStatus([this] { return status_; });
  }
  // The agent's loop: wait on the link's eventfd, handle what it brings.
  bool pump(const std::function<bool()>& pred,
            std::chrono::milliseconds limit = std::chrono::seconds(10)) {
    auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
      if (pred()) return true;
      pollfd p{link_->wakeFd(), POLLIN, 0};
      if (::poll(&p, 1, 10) > 0) link_->onWake();
    }
    return pred();
  }
  nlohmann::json portFloods(bool all = false) {
    net::HttpsTarget t;
    t.host = "127.0.0.1";
    t.port = server_->port();
    t.tls.ca_pem = pki_.ca_pem;
    t.timeout = std::chrono::milliseconds(5000);
    auto reply = net::httpsRequest(t, "GET", all ? "/v1/port-floods?all=true" : "/v1/port-floods",
                                   "", "Bearer " + viewer_token_);
    if (!reply || reply->status != 200) return nlohmann::json();
    return nlohmann::json::parse(reply->body, nullptr, false);
  }
  static PortFlood flood() {
    PortFlood f;
    f.dst = parseAddress("192.0.2.10")->raw;
    f.dst_port = 443;
    f.reason = "completion_ratio";
    f.first_ns = 1'000'000'000;
    f.detected_ns = 1'800'000'000;
    f.rate = f.peak_rate = 22000;
    f.distinct_sources = 21000;
    f.completion_ratio = 0.012;
    f.top_prefixes = {{*parsePrefix("198.51.100.0/24"), 9000, 0.31}};
    f.response = "syncookies";
    return f;
  }

  sg::test::ScratchDir scratch_{"sg-pf-link"};
  std::string dir_ = scratch_.path().string();
  pki::ConsolePki pki_;
  net::test::IoThreads io_;
  MonotonicClock clock_;
  std::unique_ptr<console::ConsoleService> svc_;
  std::shared_ptr<net::Server> server_;
  std::string viewer_token_;
  console::Actor admin_{"root", console::Role::kAdmin};
  std::FILE* out_ = std::tmpfile();
  EventLog log_{LogFormat::kJson, out_};
  FakeSensor sensor_;
  FakeIsolation isolation_;
  std::unique_ptr<BlockBook> book_;
  std::unique_ptr<AgentLink> link_;
  nlohmann::json status_ = {{"active", nlohmann::json::array()}};
};

TEST_F(PortFloodLinkTest, AnAgentsPortFloodReachesTheApiUpdatedThenEnded) {
  startAgent("web-1");
  log_.emit("port_flood_detected", portFloodJson(flood(), false));
  nlohmann::json got;
  ASSERT_TRUE(pump([&] {
    got = portFloods();
    return got.is_object() && got["items"].size() == 1;
  })) << link_->statusJson().dump();
  const nlohmann::json& item = got["items"][0];
  EXPECT_EQ(item["endpoint"], "web-1");
  EXPECT_EQ(item["target"], "192.0.2.10:443");
  EXPECT_EQ(item["rate"], 22000);
  EXPECT_EQ(item["distinct_sources"], 21000);
  EXPECT_EQ(item["reason"], "completion_ratio");
  EXPECT_DOUBLE_EQ(item["completion_ratio"].get<double>(), 0.012);
  EXPECT_EQ(item["top_prefixes"][0]["prefix"], "198.51.100.0/24");
  EXPECT_EQ(item["response"], "syncookies");
  EXPECT_EQ(item["active"], true);
  EXPECT_EQ(got["fleet"]["endpoints"], nlohmann::json::array({"web-1"}));
  EXPECT_EQ(link_->statusJson()["protocol_version"], proto::kProtocolVersion);

  // The watch's status: each heartbeat sends an update of the running flood.
  PortFlood later = flood();
  later.rate = 30000;
  later.peak_rate = 31000;
  nlohmann::json running = portFloodJson(later, false);
  running["peak_rate"] = 31000;
  status_ = {{"active", {running}}};
  ASSERT_TRUE(pump([&] {
    got = portFloods();
    return got.is_object() && got["items"].size() == 1 && got["items"][0]["rate"] == 30000;
  }));
  EXPECT_EQ(got["items"][0]["peak_rate"], 31000);

  status_ = {{"active", nlohmann::json::array()}};
  PortFlood ended = later;
  ended.ended_ns = 9'000'000'000;
  log_.emit("port_flood_ended", portFloodJson(ended, true));
  ASSERT_TRUE(pump([&] {
    got = portFloods();
    return got.is_object() && got["items"].empty();
  }));
  got = portFloods(/*all=*/true);
  ASSERT_EQ(got["items"].size(), 1u);
  EXPECT_EQ(got["items"][0]["active"], false);
  EXPECT_EQ(got["items"][0]["ended_by"], "agent");
  EXPECT_EQ(got["items"][0]["peak_rate"], 31000);
}

}  // namespace
}  // namespace sg::agent
