// block_scope: anyone can forge 201 SYNs in a client's name. With the default
// scope ("attempts") the block drops only that address's connection attempts,
// so the client's established long-lived stream keeps working; with "all" it
// is cut (every packet of the source is dropped).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>

#include "lab_fixture.h"

namespace sg::lab::test {
namespace {

constexpr uint16_t kStreamPort = 9090;

// One accepted connection echoed back until `stop` (bounded by poll timeouts).
class EchoServer {
 public:
  static Result<std::unique_ptr<EchoServer>> start(const std::string& netns) {
    std::unique_ptr<EchoServer> s(new EchoServer);
    auto t = startThreadIn(netns, [p = s.get()] { p->run(); });
    if (!t.ok()) return t.error();
    s->thread_ = std::move(*t);
    for (int i = 0; i < 100 && !s->listening_.load(); i++) std::this_thread::sleep_for(10ms);
    if (!s->listening_.load()) return makeError(Errc::kIo, "echo server did not listen");
    return s;
  }
  ~EchoServer() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }

 private:
  EchoServer() = default;
  void run() {
    const int l = socket(AF_INET, SOCK_STREAM, 0);
    const int one = 1;
    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(kStreamPort);
    inet_pton(AF_INET, kVictim.v4, &a.sin_addr);
    if (bind(l, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 || listen(l, 4) != 0) {
      close(l);
      return;
    }
    listening_ = true;
    int c = -1;
    for (int i = 0; i < 3000 && !stop_ && c < 0; i++) {  // <= 30 s
      pollfd p{l, POLLIN, 0};
      if (poll(&p, 1, 10) == 1) c = accept(l, nullptr, nullptr);
    }
    char buf[256];
    while (c >= 0 && !stop_) {
      pollfd p{c, POLLIN, 0};
      if (poll(&p, 1, 10) != 1) continue;
      const ssize_t n = read(c, buf, sizeof(buf));
      if (n <= 0) break;
      if (write(c, buf, static_cast<size_t>(n)) != n) break;
    }
    if (c >= 0) close(c);
    close(l);
  }
  std::thread thread_;
  std::atomic<bool> listening_{false}, stop_{false};
};

class BlockScopeTest : public LabTest {
 protected:
  // Connects from the client's namespace; the fd works from any thread.
  int connectStream() {
    int fd = -1;
    auto t = startThreadIn(lab_->client().name(), [&] {
      fd = socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_port = htons(kStreamPort);
      inet_pton(AF_INET, kVictim.v4, &a.sin_addr);
      if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
        close(fd);
        fd = -1;
      }
    });
    if (!t.ok()) return -1;
    t->join();
    if (fd >= 0) {
      timeval tv{1, 0};  // an exchange must come back within 1 s
      setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
      const int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    return fd;
  }
  static bool echoes(int fd, const std::string& msg) {
    if (write(fd, msg.data(), msg.size()) != static_cast<ssize_t>(msg.size())) return false;
    std::string got;
    char buf[256];
    while (got.size() < msg.size()) {
      const ssize_t n = read(fd, buf, sizeof(buf));
      if (n <= 0) return false;
      got.append(buf, static_cast<size_t>(n));
    }
    return got == msg;
  }

  // Runs the agent (with `extra` flags), opens the client's stream, floods
  // 2,000 SYNs forged in the client's name, waits for the client's block and
  // returns whether the stream still echoes.
  void run(const std::vector<std::string>& extra, bool* stream_works) {
    auto echo = EchoServer::start(lab_->victim().name());
    ASSERT_OK(echo);
    AgentOptions o = agentOptions("xdp", 200, "30s");
    o.extra = extra;
    auto agent = AgentProcess::start(o);
    ASSERT_OK(agent);
    const int fd = connectStream();
    ASSERT_GE(fd, 0) << "the client's stream did not connect";
    ASSERT_TRUE(echoes(fd, "before the flood"));

    auto flood =
        runFloodIn(lab_->attacker().name(), singleSource(kClient.v4, kVictim.v4, 2000, 20000));
    ASSERT_OK(flood);
    auto added = (*agent)->waitFor("block_added", 3s, srcIs(kClient.v4));
    ASSERT_TRUE(added.has_value()) << "the forged flood did not block the client's address";

    // Several exchanges over ~1 s: the block is in place the whole time.
    bool ok = true;
    for (int i = 0; i < 3 && ok; i++) ok = echoes(fd, "during the block " + std::to_string(i));
    *stream_works = ok;
    close(fd);
    EXPECT_EQ((*agent)->stop(), 0) << (*agent)->process().stderrText();
  }
};

TEST_F(BlockScopeTest, DefaultScopeKeepsTheForgedClientsEstablishedStream) {
  bool works = false;
  run({}, &works);
  EXPECT_TRUE(works) << "the client's established stream was cut by a block forged in its name";
}

TEST_F(BlockScopeTest, AllScopeCutsTheForgedClientsStream) {
  bool works = true;
  run({"--block-scope", "all"}, &works);
  EXPECT_FALSE(works) << "block_scope all must drop every packet of the blocked address";
}

}  // namespace
}  // namespace sg::lab::test
