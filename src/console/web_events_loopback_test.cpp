// The dashboard's server side over the real HTTPS server on 127.0.0.1: a real
// event stream read by a plain TLS client, disconnected, resumed with
// Last-Event-ID without a gap; a cookie stream closed when its token is
// revoked; the page's files with their headers (label net).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "console/api.h"
#include "console/api_fake_service.h"
#include "console/web_routes.h"
#include "net/loopback_fixture.h"

namespace sg::console {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

// One blocking TLS connection (no certificate check: a test against itself),
// every read bounded by a 3 s receive timeout.
class RawTls {
 public:
  explicit RawTls(uint16_t port) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
    timeval tv{3, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    ctx_ = SSL_CTX_new(TLS_client_method());
    ssl_ = SSL_new(ctx_);
    SSL_set_fd(ssl_, fd_);
    EXPECT_EQ(SSL_connect(ssl_), 1);
  }
  ~RawTls() {
    SSL_free(ssl_);
    SSL_CTX_free(ctx_);
    close(fd_);
  }
  void send(const std::string& text) {
    EXPECT_EQ(SSL_write(ssl_, text.data(), static_cast<int>(text.size())),
              static_cast<int>(text.size()));
  }
  // Reads until `pred(all read so far)` or EOF/timeout; returns what it read.
  std::string readUntil(const std::function<bool(const std::string&)>& pred) {
    char buf[4096];
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!pred(got_) && std::chrono::steady_clock::now() < end) {
      const int n = SSL_read(ssl_, buf, sizeof(buf));
      if (n <= 0) {
        closed_ = true;
        break;
      }
      got_.append(buf, static_cast<size_t>(n));
    }
    return got_;
  }
  bool closed() const { return closed_; }

 private:
  int fd_ = -1;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  std::string got_;
  bool closed_ = false;
};

// SSE events in a chunked body: {id, event} pairs in order.
std::vector<std::pair<std::string, std::string>> events(const std::string& raw) {
  std::vector<std::pair<std::string, std::string>> out;
  std::string id;
  size_t start = raw.find("\r\n\r\n");
  while (start != std::string::npos && start < raw.size()) {
    size_t nl = raw.find('\n', start);
    if (nl == std::string::npos) break;
    std::string line = raw.substr(start, nl - start);
    start = nl + 1;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.rfind("id: ", 0) == 0) id = line.substr(4);
    if (line.rfind("event: ", 0) == 0) out.emplace_back(id, line.substr(7));
  }
  return out;
}

size_t count(const std::string& raw, const std::string& what) {
  size_t n = 0;
  for (size_t at = raw.find(what); at != std::string::npos; at = raw.find(what, at + 1)) ++n;
  return n;
}

class WebLoopbackTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "sg-webl-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
    std::ofstream(root_ / "index.html") << "<!doctype html><title>SYN Guard</title>";
    WebOptions o;
    o.web_root = root_.string();
    o.events.alive_check = std::chrono::milliseconds(100);
    web_ = std::make_unique<WebConsole>(
        fake_, clock_, [] { return int64_t{1'800'000'000'000}; }, o);
    net::Router router;
    addApiRoutes(router, fake_, nullptr, &web_->sessions());
    web_->addRoutes(router);
    auto s = net::Server::start(io_.ioc(), net::test::serverOptions(pki_), std::move(router),
                                std::nullopt, clock_);
    ASSERT_TRUE(s.ok());
    server_ = *s;
  }
  void TearDown() override {
    if (web_) web_->stop();
    server_->stop();
    fs::remove_all(root_);
  }
  void publish(int from, int to) {
    for (int i = from; i <= to; ++i) {
      fake_.live_.push_back(LiveEvent{"flood", json{{"id", i}}.dump()});
    }
    web_->pump();
  }
  std::unique_ptr<RawTls> stream(const std::string& extra) {
    auto c = std::make_unique<RawTls>(server_->port());
    c->send("GET /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\n" + extra + "\r\n");
    return c;
  }

  net::test::IoThreads io_;
  MonotonicClock clock_;
  net::test::TestPki pki_ = net::test::makeTestPki();
  test::FakeConsoleService fake_;
  std::unique_ptr<WebConsole> web_;
  std::shared_ptr<net::Server> server_;
  fs::path root_;
};

TEST_F(WebLoopbackTest, StreamResumesAfterADisconnectWithoutAGap) {
  std::string last_id;
  {
    auto c = stream("Authorization: Bearer sgA_viewer\r\n");
    std::string raw = c->readUntil(
        [](const std::string& r) { return r.find("event: hello") != std::string::npos; });
    ASSERT_NE(raw.find("HTTP/1.1 200"), std::string::npos) << raw;
    EXPECT_NE(raw.find("Content-Type: text/event-stream"), std::string::npos);
    EXPECT_NE(raw.find("Transfer-Encoding: chunked"), std::string::npos);
    publish(1, 3);
    raw = c->readUntil([](const std::string& r) { return count(r, "event: flood") >= 3; });
    auto got = events(raw);
    ASSERT_EQ(got.size(), 4u) << raw;
    EXPECT_EQ(got[0].second, "hello");
    last_id = got[3].first;
  }  // disconnected
  publish(4, 6);
  // The server forgets the old stream once a write to it fails.
  EXPECT_TRUE(net::test::waitFor([&] { return web_->hub().streams() == 0; }));
  auto c = stream("Authorization: Bearer sgA_viewer\r\nLast-Event-ID: " + last_id + "\r\n");
  std::string raw =
      c->readUntil([](const std::string& r) { return count(r, "event: flood") >= 3; });
  auto got = events(raw);
  ASSERT_EQ(got.size(), 3u) << raw;
  const std::string epoch = web_->hub().epochText();
  EXPECT_EQ(got[0].first, epoch + ":4");
  EXPECT_EQ(got[1].first, epoch + ":5");
  EXPECT_EQ(got[2].first, epoch + ":6");
  publish(7, 7);
  raw = c->readUntil([](const std::string& r) { return count(r, "event: flood") >= 4; });
  got = events(raw);
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got[3].first, epoch + ":7");
  // The query parameter works as the header does; a stale id gets a reset.
  auto q = std::make_unique<RawTls>(server_->port());
  q->send(
      "GET /v1/events?last_event_id=00000000:1 HTTP/1.1\r\nHost: x\r\n"
      "Authorization: Bearer sgA_viewer\r\n\r\n");
  EXPECT_NE(q->readUntil([](const std::string& r) {
               return r.find("event: reset") != std::string::npos;
             }).find("event: reset"),
            std::string::npos);
}

TEST_F(WebLoopbackTest, CookieStreamEndsWhenTheTokenIsRevoked) {
  RawTls login(server_->port());
  const std::string body = R"({"token":"sgA_operator"})";
  login.send(
      "POST /v1/session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      "Content-Length: " +
      std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body);
  std::string reply = login.readUntil([](const std::string&) { return false; });
  const size_t at = reply.find("sg_session=");
  ASSERT_NE(at, std::string::npos) << reply;
  const std::string cookie = reply.substr(at, reply.find(';', at) - at);
  auto c = stream("Cookie: " + cookie + "\r\n");
  EXPECT_NE(c->readUntil([](const std::string& r) {
               return r.find("event: hello") != std::string::npos;
             }).find("event: hello"),
            std::string::npos);
  EXPECT_FALSE(c->closed());
  fake_.revoke("hash-operator");
  std::string raw = c->readUntil(
      [](const std::string& r) { return r.find("\r\n0\r\n\r\n") != std::string::npos; });
  EXPECT_NE(raw.find("\r\n0\r\n\r\n"), std::string::npos) << raw;  // the last chunk: ended
  EXPECT_TRUE(net::test::waitFor([&] { return web_->hub().streams() == 0; }));
  // No token, no stream.
  auto none = stream("");
  EXPECT_NE(
      none->readUntil([](const std::string& r) { return r.find("\r\n\r\n") != std::string::npos; })
          .find("HTTP/1.1 401"),
      std::string::npos);
}

// The server may outlive the WebConsole (a test, a shutdown order): its
// streams' alive checks capture the WebConsole, so destroying it must end
// them, and no check may run afterwards (review finding: the next check read
// the freed session table; visible under SYNGUARD_SANITIZE=ON).
TEST_F(WebLoopbackTest, DestroyingTheConsoleEndsItsStreams) {
  RawTls login(server_->port());
  const std::string body = R"({"token":"sgA_viewer"})";
  login.send(
      "POST /v1/session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      "Content-Length: " +
      std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body);
  std::string reply = login.readUntil([](const std::string&) { return false; });
  const size_t at = reply.find("sg_session=");
  ASSERT_NE(at, std::string::npos) << reply;
  const std::string cookie = reply.substr(at, reply.find(';', at) - at);
  auto c = stream("Cookie: " + cookie + "\r\n");
  auto b = stream("Authorization: Bearer sgA_viewer\r\n");
  for (auto* s : {c.get(), b.get()}) {
    EXPECT_NE(s->readUntil([](const std::string& r) {
                 return r.find("event: hello") != std::string::npos;
               }).find("event: hello"),
              std::string::npos);
  }
  web_.reset();
  // Several alive checks' time (100 ms each) with the server still running.
  for (auto* s : {c.get(), b.get()}) {
    std::string raw = s->readUntil(
        [](const std::string& r) { return r.find("\r\n0\r\n\r\n") != std::string::npos; });
    EXPECT_NE(raw.find("\r\n0\r\n\r\n"), std::string::npos) << raw;
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
}

TEST_F(WebLoopbackTest, ServesThePageWithItsHeadersOverTls) {
  RawTls c(server_->port());
  c.send("GET /floods HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  std::string raw = c.readUntil([](const std::string&) { return false; });
  EXPECT_NE(raw.find("HTTP/1.1 200"), std::string::npos) << raw;
  EXPECT_NE(raw.find("Content-Security-Policy: default-src 'self'"), std::string::npos);
  EXPECT_NE(raw.find("Cache-Control: no-cache"), std::string::npos);
  EXPECT_NE(raw.find("X-Frame-Options: DENY"), std::string::npos);
  EXPECT_NE(raw.find("<title>SYN Guard</title>"), std::string::npos);
  RawTls h(server_->port());
  h.send("HEAD / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  raw = h.readUntil([](const std::string&) { return false; });
  EXPECT_NE(raw.find("HTTP/1.1 200"), std::string::npos) << raw;
  EXPECT_NE(raw.find("Content-Length: 39"), std::string::npos) << raw;
  EXPECT_EQ(raw.find("<title>"), std::string::npos);
  RawTls t(server_->port());
  t.send("GET /%2e%2e/%2e%2e/etc/passwd HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  raw = t.readUntil([](const std::string&) { return false; });
  EXPECT_NE(raw.find("HTTP/1.1 404"), std::string::npos) << raw;
  EXPECT_EQ(raw.find("root:"), std::string::npos);
}

}  // namespace
}  // namespace sg::console
