// lab::TcpRelay: a client inside a sealed namespace reaches a TCP echo server
// on this namespace's 127.0.0.1 only through the relay; bytes pass both ways
// unchanged (more than the relay's buffer), a half-close passes through, the
// connection limit holds, and destroying the relay closes what it relays.
#include "lab/relay.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "lab/netns.h"
#include "test_helpers.h"

namespace sg::lab {
namespace {

using namespace std::chrono_literals;

sockaddr_in loopback(uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

// Echoes every connection until its FIN, then closes it; one thread per
// connection, everything bounded by 100 ms polls on a stop flag.
class EchoServer {
 public:
  EchoServer() {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a = loopback(0);
    bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    listen(fd_, 8);
    socklen_t len = sizeof a;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    accept_thread_ = std::thread([this] { acceptLoop(); });
  }
  ~EchoServer() {
    stop_ = true;
    accept_thread_.join();
    for (auto& t : conns_) t.join();
    close(fd_);
  }
  uint16_t port() const { return port_; }

 private:
  bool wait(int fd) {
    pollfd p{fd, POLLIN, 0};
    while (!stop_) {
      if (poll(&p, 1, 100) > 0) return true;
    }
    return false;
  }
  void acceptLoop() {
    while (wait(fd_)) {
      int c = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      conns_.emplace_back([this, c] {
        char buf[4096];
        while (wait(c)) {
          ssize_t n = recv(c, buf, sizeof buf, 0);
          if (n <= 0) break;
          if (send(c, buf, static_cast<size_t>(n), MSG_NOSIGNAL) != n) break;
        }
        close(c);
      });
    }
  }
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread accept_thread_;
  std::vector<std::thread> conns_;
};

// A connected socket to 127.0.0.1:port made inside `ns`, or -1 (errno kept).
int connectIn(const Netns& ns, uint16_t port) {
  int fd = -1;
  auto t = startThreadIn(ns.name(), [&] {
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a = loopback(port);
    if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      close(fd);
      fd = -1;
    }
  });
  if (!t.ok()) return -1;
  t->join();
  if (fd >= 0) {
    timeval tv{5, 0};  // every read below is bounded
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  return fd;
}

// Reads until EOF (true) or an error/timeout (false).
bool readToEof(int fd, std::string* out) {
  char buf[8192];
  for (;;) {
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n == 0) return true;
    if (n < 0) return false;
    out->append(buf, static_cast<size_t>(n));
  }
}

class RelayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SG_REQUIRE_ROOT();
    auto ns = Netns::create("relay");
    ASSERT_OK(ns);
    ns_ = std::make_unique<Netns>(std::move(*ns));
  }
  std::unique_ptr<TcpRelay> startRelay(size_t max_connections) {
    RelayOptions o;
    o.listen_netns = ns_->name();
    o.target_port = echo_.port();
    o.max_connections = max_connections;
    auto r = TcpRelay::start(o);
    EXPECT_OK(r);
    return r.ok() ? std::move(*r) : nullptr;
  }
  EchoServer echo_;
  std::unique_ptr<Netns> ns_;
};

TEST_F(RelayTest, PipesBytesBothWaysAndPassesTheHalfClose) {
  // Sealed: from the namespace, this namespace's server is not reachable.
  ASSERT_LT(connectIn(*ns_, echo_.port()), 0);
  auto relay = startRelay(4);
  ASSERT_NE(relay, nullptr);
  int fd = connectIn(*ns_, relay->port());
  ASSERT_GE(fd, 0);
  std::string sent;
  for (int i = 0; sent.size() < 300 * 1024; ++i) sent += "line " + std::to_string(i) + "\n";
  std::string got;
  bool eof = false;
  std::thread reader([&] { eof = readToEof(fd, &got); });
  ASSERT_EQ(send(fd, sent.data(), sent.size(), MSG_NOSIGNAL), static_cast<ssize_t>(sent.size()));
  shutdown(fd, SHUT_WR);  // the echo server ends when this FIN reaches it
  reader.join();
  close(fd);
  EXPECT_TRUE(eof) << "the echo server's FIN did not come back through the relay";
  EXPECT_EQ(got.size(), sent.size());
  EXPECT_TRUE(got == sent);
  EXPECT_EQ(relay->accepted(), 1u);
  EXPECT_EQ(relay->refused(), 0u);
}

TEST_F(RelayTest, RefusesOverTheLimitAndClosesEverythingWhenDestroyed) {
  auto relay = startRelay(1);
  ASSERT_NE(relay, nullptr);
  int first = connectIn(*ns_, relay->port());
  ASSERT_GE(first, 0);
  ASSERT_EQ(send(first, "ping", 4, MSG_NOSIGNAL), 4);
  char buf[8];
  ASSERT_EQ(recv(first, buf, sizeof buf, 0), 4);  // relayed, and counted before the next
  int second = connectIn(*ns_, relay->port());
  ASSERT_GE(second, 0);  // the kernel accepts; the relay closes it at once
  std::string rest;
  EXPECT_TRUE(readToEof(second, &rest));
  EXPECT_TRUE(rest.empty());
  close(second);
  EXPECT_EQ(relay->refused(), 1u);
  relay.reset();
  EXPECT_TRUE(readToEof(first, &rest));  // closed by the relay's end, not left hanging
  close(first);
}

}  // namespace
}  // namespace sg::lab
