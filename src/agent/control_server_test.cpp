#include "agent/control_server.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>

#include "scratch_dir.h"
#include "test_helpers.h"

namespace sg::agent {
namespace {

using namespace std::chrono_literals;

class ControlServerTest : public ::testing::Test {
 protected:
  void TearDown() override { server_.reset(); }
  std::string path() const { return (dir_.path() / "c.sock").string(); }

  void open(ControlServerOptions o, ControlServer::Handler h = nullptr) {
    if (!h) h = [](const std::string& line) { return "echo:" + line; };
    auto s = ControlServer::open(path(), std::move(h), o);
    ASSERT_OK(s);
    server_ = std::make_unique<ControlServer>(std::move(*s));
  }
  // Drives the server as the loop would, for `total`; returns once `until` holds.
  template <typename Until>
  bool serveUntil(std::chrono::milliseconds total, Until until) {
    auto end = std::chrono::steady_clock::now() + total;
    while (std::chrono::steady_clock::now() < end) {
      pollfd p{server_->fd(), POLLIN, 0};
      if (::poll(&p, 1, 10) > 0) server_->onReady();
      if (until()) return true;
    }
    return false;
  }
  Fd client() {
    auto fd = connectUnix(path());
    return fd.ok() ? std::move(*fd) : Fd();
  }
  // Everything the server sent before closing (or "" if still open).
  static std::string drained(int fd) {
    std::string all;
    char buf[65536];
    for (;;) {
      ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
      if (n > 0) {
        all.append(buf, static_cast<size_t>(n));
        continue;
      }
      return all;
    }
  }
  static bool closedByPeer(int fd) {
    char c;
    return ::recv(fd, &c, 1, MSG_DONTWAIT | MSG_PEEK) == 0;
  }

  sg::test::ScratchDir dir_{"sg-control"};
  std::unique_ptr<ControlServer> server_;
};

TEST_F(ControlServerTest, AnswersOneLineAndCloses) {
  open({});
  Fd c = client();
  ASSERT_OK(writeAll(c.get(), "{\"cmd\":\"status\"}\nignored"));
  std::string got;
  ASSERT_TRUE(serveUntil(2s, [&] {
    got += drained(c.get());
    return closedByPeer(c.get());
  }));
  EXPECT_EQ(got, "echo:{\"cmd\":\"status\"}\n");
  EXPECT_EQ(server_->counters().served, 1u);
  EXPECT_EQ(server_->clients(), 0u);
}

TEST_F(ControlServerTest, RequestWithoutNewlineIsAnsweredAtEof) {
  open({});
  Fd c = client();
  ASSERT_OK(writeAll(c.get(), "{\"cmd\":\"blocks\"}"));
  ::shutdown(c.get(), SHUT_WR);
  std::string got;
  ASSERT_TRUE(serveUntil(2s, [&] {
    got += drained(c.get());
    return closedByPeer(c.get());
  }));
  EXPECT_EQ(got, "echo:{\"cmd\":\"blocks\"}\n");
}

TEST_F(ControlServerTest, SilentClientIsCutOffAtTheDeadline) {
  open({.max_clients = 4, .deadline = 100ms});
  Fd silent = client();
  auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(serveUntil(3s, [&] { return closedByPeer(silent.get()); }));
  EXPECT_GE(std::chrono::steady_clock::now() - start, 90ms);
  EXPECT_EQ(server_->counters().timed_out, 1u);
  EXPECT_EQ(server_->clients(), 0u);
}

TEST_F(ControlServerTest, ClientThatNeverReadsIsCutOffAndNeverBlocksOnReady) {
  const std::string big(8 << 20, 'x');  // far more than a socket buffer
  // A long deadline, so that "returns at once" has room for a preempted
  // thread (ctest runs suites in parallel): 175 ms was seen against 200 ms.
  open({.max_clients = 4, .deadline = 1000ms}, [&](const std::string&) { return big; });
  Fd lazy = client();
  ASSERT_OK(writeAll(lazy.get(), "{}\n"));
  // Each onReady() returns at once even though the client reads nothing.
  std::chrono::nanoseconds longest{0};
  auto end = std::chrono::steady_clock::now() + 3s;
  while (server_->counters().timed_out == 0 && std::chrono::steady_clock::now() < end) {
    pollfd p{server_->fd(), POLLIN, 0};
    if (::poll(&p, 1, 10) <= 0) continue;
    auto t0 = std::chrono::steady_clock::now();
    server_->onReady();
    longest = std::max(longest, std::chrono::steady_clock::now() - t0);
  }
  EXPECT_EQ(server_->counters().timed_out, 1u);
  EXPECT_EQ(server_->counters().served, 0u);
  // A blocking write would take the whole deadline.
  EXPECT_LT(longest, 500ms);
}

TEST_F(ControlServerTest, OverlongRequestGetsAnErrorAndClientsBeyondTheLimitAreRefused) {
  open({.max_clients = 2, .deadline = 2000ms, .max_line = 1024});
  Fd a = client();
  Fd b = client();
  ASSERT_TRUE(serveUntil(1s, [&] { return server_->clients() == 2; }));
  Fd refused = client();
  ASSERT_TRUE(serveUntil(1s, [&] { return closedByPeer(refused.get()); }));
  EXPECT_EQ(server_->counters().refused, 1u);

  ASSERT_OK(writeAll(a.get(), std::string(2000, 'y')));
  std::string got;
  ASSERT_TRUE(serveUntil(2s, [&] {
    got += drained(a.get());
    return closedByPeer(a.get());
  }));
  EXPECT_NE(got.find("request longer than 1024 bytes"), std::string::npos) << got;
  EXPECT_EQ(server_->clients(), 1u);
}

}  // namespace
}  // namespace sg::agent
