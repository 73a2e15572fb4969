// TLS session resumption against the real server on 127.0.0.1 (label net).
// A browser resumes the session of its first connection on the next ones;
// the server, which asks for client certificates, must then either resume or
// do a full handshake, never fail it (it sent an internal_error alert: the
// dashboard lost a stylesheet or an API answer now and then).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "net/loopback_fixture.h"

namespace sg::net {
namespace {

class TlsResumeLoopbackTest : public ::testing::TestWithParam<int> {
 protected:
  void SetUp() override {
    Router router;
    router.add("GET", "/v1/hello", [](const HttpRequest&) { return HttpResponse{200, "{}"}; });
    auto s = Server::start(io_.ioc(), test::serverOptions(pki_), std::move(router), std::nullopt,
                           clock_);
    ASSERT_OK(s);
    server_ = *s;
    ctx_ = SSL_CTX_new(TLS_client_method());
    ASSERT_NE(ctx_, nullptr);
    SSL_CTX_set_min_proto_version(ctx_, GetParam());
    SSL_CTX_set_max_proto_version(ctx_, GetParam());
    SSL_CTX_set_session_cache_mode(ctx_, SSL_SESS_CACHE_CLIENT);
  }
  void TearDown() override { SSL_CTX_free(ctx_); }

  // One GET over a new connection, offering `resume` if given. Returns the
  // session to resume next (nullptr on failure); `reused` tells whether this
  // one was resumed; `error` what failed.
  SSL_SESSION* get(SSL_SESSION* resume, bool& reused, std::string& error) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(server_->port());
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    timeval tv{5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
      error = "connect";
      close(fd);
      return nullptr;
    }
    SSL* ssl = SSL_new(ctx_);
    SSL_set_fd(ssl, fd);
    if (resume != nullptr) SSL_set_session(ssl, resume);
    SSL_SESSION* next = nullptr;
    std::string request = "GET /v1/hello HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    if (SSL_connect(ssl) != 1 ||
        SSL_write(ssl, request.data(), static_cast<int>(request.size())) <= 0) {
      char buf[256];
      ERR_error_string_n(ERR_get_error(), buf, sizeof(buf));
      error = buf;
    } else {
      std::string reply;
      char buf[4096];
      int n;
      // The whole answer ("{}" ends its body), the connection kept open.
      while (reply.find("{}") == std::string::npos && (n = SSL_read(ssl, buf, sizeof(buf))) > 0) {
        reply.append(buf, static_cast<size_t>(n));
      }
      if (reply.rfind("HTTP/1.1 200", 0) != 0) error = "no 200: " + reply.substr(0, 80);
      reused = SSL_session_reused(ssl) == 1;
      next = SSL_get1_session(ssl);  // after the reply: TLS 1.3 tickets came with it
      SSL_shutdown(ssl);             // a clean close keeps the session resumable
    }
    SSL_free(ssl);
    close(fd);
    return next;
  }

  test::IoThreads io_;
  MonotonicClock clock_;
  test::TestPki pki_ = test::makeTestPki();
  std::shared_ptr<Server> server_;
  SSL_CTX* ctx_ = nullptr;
};

TEST_P(TlsResumeLoopbackTest, AClientResumingItsSessionIsServed) {
  bool reused = false;
  std::string error;
  SSL_SESSION* first = get(nullptr, reused, error);
  ASSERT_NE(first, nullptr) << error;
  for (int i = 0; i < 3; ++i) {
    error.clear();
    SSL_SESSION* next = get(first, reused, error);
    EXPECT_TRUE(error.empty()) << "connection " << i + 2
                               << " offering the first's session: " << error;
    // The first offer resumes (TLS 1.3 tickets are meant for one use: later
    // offers of the same one may get a full handshake, but never a failure).
    if (i == 0) {
      EXPECT_TRUE(reused) << "the session was not resumed";
    }
    SSL_SESSION_free(next);
  }
  SSL_SESSION_free(first);
}

INSTANTIATE_TEST_SUITE_P(Versions, TlsResumeLoopbackTest,
                         ::testing::Values(TLS1_2_VERSION, TLS1_3_VERSION), [](const auto& info) {
                           return info.param == TLS1_3_VERSION ? "Tls13" : "Tls12";
                         });

}  // namespace
}  // namespace sg::net
