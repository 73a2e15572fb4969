// HTTPS through the real server on 127.0.0.1 (label net, no root).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "net/https_client.h"
#include "net/loopback_fixture.h"

namespace sg::net {
namespace {

using test::waitFor;

// A WebSocket route's handler for tests that only use its rate-budget hook.
class IdleHandler final : public WsHandler {
 public:
  void onOpen(const std::shared_ptr<WsConnection>&) override {}
  void onText(const std::shared_ptr<WsConnection>&, std::string) override {}
  void onClose(const std::shared_ptr<WsConnection>&, const std::string&) override {}
};

class HttpLoopbackTest : public ::testing::Test {
 protected:
  void startServer(ServerOptions o, std::optional<WsRoute> ws = std::nullopt) {
    Router router;
    router.add("GET", "/v1/hello", [](const HttpRequest& r) {
      return HttpResponse{200, nlohmann::json{{"cn", r.peer.cert_cn},
                                              {"ip", r.peer.remote_ip},
                                              {"auth", r.authorization},
                                              {"query", r.query}}
                                   .dump()};
    });
    router.add("POST", "/v1/echo", [](const HttpRequest& r) { return HttpResponse{201, r.body}; });
    auto s = Server::start(io_.ioc(), std::move(o), std::move(router), std::move(ws), clock_);
    ASSERT_OK(s);
    server_ = *s;
  }
  HttpsTarget target(const test::Pem* cert = nullptr) {
    return HttpsTarget{"127.0.0.1", server_->port(), test::pinnedClient(pki_, cert),
                       std::chrono::milliseconds(3000)};
  }
  // A plain TCP connection that sends nothing; returns its fd.
  int rawConnect() {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(server_->port());
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
    timeval tv{5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    return fd;
  }
  // True when the server closed `fd` (EOF or reset) before the 5 s receive timeout.
  static bool closedByServer(int fd) {
    char c;
    ssize_t n = recv(fd, &c, 1, 0);
    return n == 0 || (n < 0 && errno == ECONNRESET);
  }

  test::IoThreads io_;
  MonotonicClock clock_;
  test::TestPki pki_ = test::makeTestPki();
  std::shared_ptr<Server> server_;
};

TEST_F(HttpLoopbackTest, GetAndPostRoundTripThroughTheRouter) {
  startServer(test::serverOptions(pki_));
  auto get = httpsRequest(target(), "GET", "/v1/hello?x=1", "", "Bearer sgA_x");
  ASSERT_OK(get);
  EXPECT_EQ(get->status, 200);
  auto body = nlohmann::json::parse(get->body);
  EXPECT_EQ(body["cn"], "");  // no client certificate
  EXPECT_EQ(body["ip"], "127.0.0.1");
  EXPECT_EQ(body["auth"], "Bearer sgA_x");
  EXPECT_EQ(body["query"], "x=1");

  auto post = httpsRequest(target(), "POST", "/v1/echo", R"({"a":1})");
  ASSERT_OK(post);
  EXPECT_EQ(post->status, 201);
  EXPECT_EQ(post->body, R"({"a":1})");

  auto missing = httpsRequest(target(), "GET", "/v1/nothing");
  ASSERT_OK(missing);
  EXPECT_EQ(missing->status, 404);
  EXPECT_EQ(nlohmann::json::parse(missing->body)["error"], "not_found");
  EXPECT_EQ(missing->content_type, "application/json");

  // With the CA file instead of the pin, and the agent's certificate: its CN reaches the handler.
  HttpsTarget t = target(&pki_.agent);
  t.tls.ca_pin.clear();
  t.tls.ca_pem = pki_.ca_pem;
  auto with_cert = httpsRequest(t, "GET", "/v1/hello");
  ASSERT_OK(with_cert);
  EXPECT_EQ(nlohmann::json::parse(with_cert->body)["cn"], "ep-7");
  EXPECT_EQ(server_->counters().get(NetCounter::kRequests), 4u);
}

TEST_F(HttpLoopbackTest, OversizedBodyIs413AndCounted) {
  ServerOptions o = test::serverOptions(pki_);
  o.limits.max_body_bytes = 1024;
  startServer(o);
  auto r = httpsRequest(target(), "POST", "/v1/echo", std::string(4096, 'x'));
  ASSERT_OK(r);
  EXPECT_EQ(r->status, 413);
  EXPECT_EQ(nlohmann::json::parse(r->body)["error"], "body_too_large");
  EXPECT_EQ(server_->counters().get(NetCounter::kBodyTooLarge), 1u);
  auto ok = httpsRequest(target(), "POST", "/v1/echo", std::string(1000, 'x'));
  ASSERT_OK(ok);
  EXPECT_EQ(ok->status, 201);
}

TEST_F(HttpLoopbackTest, RequestsOverTheRateLimitAre429) {
  ServerOptions o = test::serverOptions(pki_);
  o.limits.rate = RateLimit{0.001, 2, 16};
  startServer(o);
  EXPECT_EQ(httpsRequest(target(), "GET", "/v1/hello")->status, 200);
  EXPECT_EQ(httpsRequest(target(), "GET", "/v1/hello")->status, 200);
  auto r = httpsRequest(target(), "GET", "/v1/hello");
  ASSERT_OK(r);
  EXPECT_EQ(r->status, 429);
  EXPECT_EQ(nlohmann::json::parse(r->body)["error"], "rate_limited");
  EXPECT_EQ(server_->counters().get(NetCounter::kRateLimited), 1u);
}

// Enrolled agents behind one NAT address (or a whole fleet reconnecting
// after a console restart) must not share one address's budget: a request
// with a verified client certificate the route accepts as current is
// counted against that certificate.
TEST_F(HttpLoopbackTest, ACertifiedClientHasItsOwnRateBudget) {
  ServerOptions o = test::serverOptions(pki_);
  o.limits.rate = RateLimit{0.001, 2, 16};
  WsRoute ws;
  ws.handler = std::make_shared<IdleHandler>();
  ws.own_rate_budget = [](const PeerInfo& peer) { return peer.cert_cn == "ep-7"; };
  startServer(o, ws);
  EXPECT_EQ(httpsRequest(target(), "GET", "/v1/hello")->status, 200);
  EXPECT_EQ(httpsRequest(target(), "GET", "/v1/hello")->status, 200);
  EXPECT_EQ(httpsRequest(target(), "GET", "/v1/hello")->status, 429);  // the address's budget
  EXPECT_EQ(httpsRequest(target(&pki_.agent), "GET", "/v1/hello")->status, 200);
  EXPECT_EQ(httpsRequest(target(&pki_.agent), "GET", "/v1/hello")->status, 200);
  EXPECT_EQ(httpsRequest(target(&pki_.agent), "GET", "/v1/hello")->status, 429);  // its own
  EXPECT_EQ(server_->counters().get(NetCounter::kRateLimited), 2u);
}

// A certificate the route does not accept (revoked, superseded), or any
// certificate without a route that says, is counted against its address.
TEST_F(HttpLoopbackTest, ACertificateNotAcceptedSharesItsAddresssBudget) {
  ServerOptions o = test::serverOptions(pki_);
  o.limits.rate = RateLimit{0.001, 2, 16};
  WsRoute ws;
  ws.handler = std::make_shared<IdleHandler>();
  ws.own_rate_budget = [](const PeerInfo&) { return false; };
  startServer(o, ws);
  EXPECT_EQ(httpsRequest(target(&pki_.agent), "GET", "/v1/hello")->status, 200);
  EXPECT_EQ(httpsRequest(target(&pki_.agent), "GET", "/v1/hello")->status, 200);
  EXPECT_EQ(httpsRequest(target(), "GET", "/v1/hello")->status, 429);
}

TEST_F(HttpLoopbackTest, ConnectionsBeyondTheLimitAreClosed) {
  ServerOptions o = test::serverOptions(pki_);
  o.limits.max_connections = 2;
  o.limits.handshake_timeout = std::chrono::milliseconds(10'000);
  startServer(o);
  int a = rawConnect();
  int b = rawConnect();
  ASSERT_TRUE(waitFor([&] { return server_->activeConnections() == 2; }));
  int c = rawConnect();
  EXPECT_TRUE(closedByServer(c));
  EXPECT_EQ(server_->counters().get(NetCounter::kConnectionsRefused), 1u);
  close(a);
  close(b);
  close(c);
  // Freed slots are usable again.
  ASSERT_TRUE(waitFor([&] { return server_->activeConnections() == 0; }));
  auto r = httpsRequest(target(), "GET", "/v1/hello");
  ASSERT_OK(r);
  EXPECT_EQ(r->status, 200);
}

TEST_F(HttpLoopbackTest, SilentClientIsCutOffAfterTheHandshakeTimeout) {
  ServerOptions o = test::serverOptions(pki_);
  o.limits.handshake_timeout = std::chrono::milliseconds(200);
  startServer(o);
  int fd = rawConnect();
  auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(closedByServer(fd));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
  close(fd);
  ASSERT_TRUE(waitFor([&] { return server_->counters().get(NetCounter::kTimeouts) == 1; }));
  EXPECT_TRUE(waitFor([&] { return server_->activeConnections() == 0; }));
}

TEST_F(HttpLoopbackTest, ClientCertificateFromAnotherCaIsRejected) {
  startServer(test::serverOptions(pki_));
  auto r = httpsRequest(target(&pki_.foreign_agent), "GET", "/v1/hello");
  EXPECT_FALSE(r.ok());
  ASSERT_TRUE(
      waitFor([&] { return server_->counters().get(NetCounter::kTlsHandshakeFailed) == 1; }));
}

TEST_F(HttpLoopbackTest, ClientRefusesAServerWhoseCaDoesNotMatchThePin) {
  startServer(test::serverOptions(pki_));
  HttpsTarget t = target();
  t.tls.ca_pin = pki_.foreign_ca_pin;
  auto r = httpsRequest(t, "GET", "/v1/hello");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("TLS handshake"), std::string::npos) << r.error().message();
  // The right pin but another name than the certificate's: refused too.
  HttpsTarget named = target();
  named.tls.server_name = "console.example";
  EXPECT_FALSE(httpsRequest(named, "GET", "/v1/hello").ok());
}

TEST_F(HttpLoopbackTest, AgentCertificateCannotPassAsTheServer) {
  // A server presenting a client (clientAuth) certificate from the right CA.
  ServerOptions o = test::serverOptions(pki_);
  o.tls.cert_chain_pem = pki_.agent.cert + pki_.ca_pem;
  o.tls.key_pem = pki_.agent.key;
  startServer(o);
  HttpsTarget t = target();
  t.tls.server_name = "ep-7";
  EXPECT_FALSE(httpsRequest(t, "GET", "/v1/hello").ok());
}

}  // namespace
}  // namespace sg::net
