#include "agent/metrics_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "agent/metrics.h"
#include "agent/sockets.h"
#include "test_helpers.h"

namespace sg::agent {
namespace {

using namespace std::chrono_literals;

Fd connectTo(const std::string& bound) {
  auto colon = bound.rfind(':');
  std::string host = bound.substr(0, colon);
  uint16_t port = static_cast<uint16_t>(std::stoi(bound.substr(colon + 1)));
  sockaddr_storage ss{};
  socklen_t len;
  if (host.front() == '[') {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(port);
    inet_pton(AF_INET6, host.substr(1, host.size() - 2).c_str(), &a->sin6_addr);
    len = sizeof *a;
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    a->sin_family = AF_INET;
    a->sin_port = htons(port);
    inet_pton(AF_INET, host.c_str(), &a->sin_addr);
    len = sizeof *a;
  }
  Fd fd(::socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0) return Fd();
  return fd;
}

// Sends `request` and reads until the server closes (at most 5 s).
std::string roundTrip(const std::string& bound, const std::string& request) {
  Fd fd = connectTo(bound);
  if (!fd.valid()) return "connect failed";
  timeval tv{5, 0};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (!writeAll(fd.get(), request).ok()) return "write failed";
  std::string all;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd.get(), buf, sizeof buf)) > 0) all.append(buf, static_cast<size_t>(n));
  return all;
}

bool closedByPeer(int fd) {
  char c;
  return ::recv(fd, &c, 1, MSG_DONTWAIT | MSG_PEEK) == 0;
}

TEST(MetricsServer, ServesMetricsAnd404) {
  auto s = MetricsServer::start("127.0.0.1:0", [] { return std::string("syn_guard_x 1\n"); });
  ASSERT_OK(s);
  const std::string bound = (*s)->bound();
  EXPECT_EQ(bound.rfind("127.0.0.1:", 0), 0u) << bound;
  std::string ok = roundTrip(bound, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(ok.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << ok;
  EXPECT_NE(ok.find("text/plain; version=0.0.4"), std::string::npos) << ok;
  EXPECT_NE(ok.find("\r\n\r\nsyn_guard_x 1\n"), std::string::npos) << ok;
  std::string missing = roundTrip(bound, "GET /other HTTP/1.0\r\n\r\n");
  EXPECT_NE(missing.find(" 404 "), std::string::npos) << missing;
}

TEST(MetricsServer, ListensOnIpv6AndRejectsNames) {
  auto s = MetricsServer::start("[::1]:0", [] { return std::string("v6\n"); });
  ASSERT_OK(s);
  EXPECT_EQ((*s)->bound().rfind("[::1]:", 0), 0u) << (*s)->bound();
  EXPECT_NE(roundTrip((*s)->bound(), "GET / HTTP/1.1\r\n\r\n").find("\r\n\r\nv6\n"),
            std::string::npos);
  EXPECT_ERROR(MetricsServer::start("localhost:0", [] { return std::string(); }),
               Errc::kInvalidArgument);
}

TEST(MetricsServer, StalledClientsAreCutOffAndDelayNoOne) {
  auto s = MetricsServer::start("127.0.0.1:0", [] { return std::string("fine\n"); },
                                {.max_connections = 64, .deadline = 300ms});
  ASSERT_OK(s);
  std::vector<Fd> stalled;
  for (int i = 0; i < 20; i++) {  // more than any worker pool would have
    stalled.push_back(connectTo((*s)->bound()));
    ASSERT_OK(writeAll(stalled.back().get(), "GET /metrics HTTP/1.1\r\n"));
  }
  std::string ok = roundTrip((*s)->bound(), "GET /metrics HTTP/1.1\r\n\r\n");
  EXPECT_NE(ok.find("\r\n\r\nfine\n"), std::string::npos) << ok;
  for (auto& fd : stalled) EXPECT_FALSE(closedByPeer(fd.get())) << "cut off before its deadline";
  // Every stalled one is closed at its deadline, without an answer.
  auto end = std::chrono::steady_clock::now() + 5s;
  for (auto& fd : stalled) {
    while (!closedByPeer(fd.get()) && std::chrono::steady_clock::now() < end) {
      std::this_thread::sleep_for(5ms);
    }
    EXPECT_TRUE(closedByPeer(fd.get()));
  }
}

TEST(MetricsServer, ConnectionsBeyondTheLimitAreClosed) {
  auto s = MetricsServer::start("127.0.0.1:0", [] { return std::string("fine\n"); },
                                {.max_connections = 2, .deadline = 5000ms});
  ASSERT_OK(s);
  Fd a = connectTo((*s)->bound());
  Fd b = connectTo((*s)->bound());
  std::this_thread::sleep_for(100ms);
  Fd c = connectTo((*s)->bound());
  auto end = std::chrono::steady_clock::now() + 3s;
  while (!closedByPeer(c.get()) && std::chrono::steady_clock::now() < end) {
    std::this_thread::sleep_for(5ms);
  }
  EXPECT_TRUE(closedByPeer(c.get()));
  EXPECT_FALSE(closedByPeer(a.get()));
}

TEST(MetricsExchange, ScrapeGetsWhatTheLoopPublishesAfterItAsks) {
  MetricsExchange ex;
  MetricsValues v;
  v.gauges.active_blocks = 1;
  ex.publish(v);
  std::atomic<bool> stop{false};
  std::thread loop([&] {  // the loop: answers each request with a newer count
    size_t n = 1;
    while (!stop) {
      uint64_t pending = 0;
      if (::read(ex.requestFd(), &pending, sizeof pending) == sizeof pending) {
        MetricsValues next;
        next.gauges.active_blocks = ++n;
        ex.publish(next);
      }
      std::this_thread::sleep_for(1ms);
    }
  });
  // The loop's read above cleared the request; publish() reads the eventfd
  // again, harmlessly (non-blocking).
  EXPECT_GE(ex.fresh(2s).gauges.active_blocks, 2u);
  stop = true;
  loop.join();
}

TEST(MetricsExchange, ServesThePreviousSnapshotWhenTheLoopDoesNotAnswer) {
  MetricsExchange ex;
  MetricsValues v;
  v.gauges.sources = 42;
  ex.publish(v);
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(ex.fresh(50ms).gauges.sources, 42u);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 45ms);
}

}  // namespace
}  // namespace sg::agent
