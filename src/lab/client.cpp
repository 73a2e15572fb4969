#include "lab/client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <future>
#include <vector>

#include "lab/netns.h"

namespace sg::lab {
namespace {

using Clock = std::chrono::steady_clock;

Result<sockaddr_storage> makeSockaddr(const std::string& addr, uint16_t port, socklen_t* len) {
  sockaddr_storage ss{};
  if (addr.find(':') != std::string::npos) {
    auto* s6 = reinterpret_cast<sockaddr_in6*>(&ss);
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons(port);
    if (inet_pton(AF_INET6, addr.c_str(), &s6->sin6_addr) != 1) {
      return makeError(Errc::kInvalidArgument, "bad IPv6 address '" + addr + "'");
    }
    *len = sizeof(sockaddr_in6);
  } else {
    auto* s4 = reinterpret_cast<sockaddr_in*>(&ss);
    s4->sin_family = AF_INET;
    s4->sin_port = htons(port);
    if (inet_pton(AF_INET, addr.c_str(), &s4->sin_addr) != 1) {
      return makeError(Errc::kInvalidArgument, "bad IPv4 address '" + addr + "'");
    }
    *len = sizeof(sockaddr_in);
  }
  return ss;
}

Error sysError(const std::string& what) {
  return makeError(Errc::kIo, what + ": " + std::strerror(errno));
}

// Waits for `events` on fd until the deadline; false on timeout.
bool waitFor(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, events, 0};
    int r = poll(&p, 1, static_cast<int>(left.count()));
    if (r > 0) return true;
    if (r < 0 && errno != EINTR) return false;
  }
}

struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) close(fd);
  }
};

}  // namespace

Result<std::unique_ptr<TcpServer>> TcpServer::start(const std::string& netns,
                                                    const std::string& addr, uint16_t port) {
  socklen_t len = 0;
  auto sa = makeSockaddr(addr, port, &len);
  if (!sa.ok()) return sa.error();
  // The listening socket belongs to the namespace it is created in; a helper
  // thread enters the namespace just to create it.
  Result<int> fd = makeError(Errc::kIo, "not created");
  auto t = startThreadIn(netns, [&] {
    int s = socket(sa->ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (s < 0) {
      fd = sysError("server socket");
      return;
    }
    int one = 1;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(s, reinterpret_cast<const sockaddr*>(&*sa), len) != 0 || listen(s, 4096) != 0) {
      fd = sysError("server bind/listen " + addr + ":" + std::to_string(port));
      close(s);
      return;
    }
    fd = s;
  });
  if (!t.ok()) return t.error();
  t->join();
  if (!fd.ok()) return fd.error();
  std::unique_ptr<TcpServer> server(new TcpServer());
  server->listen_fd_ = *fd;
  server->thread_ = std::thread([s = server.get()] { s->serve(); });
  return server;
}

// Every accepted connection waits for its request on its own (polled
// together), up to kRequestWait: a request that is slow to come (a lost
// segment's retransmission, SYNPROXY's window update late, a client starved of
// CPU under a flood) is still answered, and never holds up the next client.
void TcpServer::serve() {
  constexpr auto kRequestWait = std::chrono::seconds(10);  // past every client's timeout
  constexpr size_t kMaxOpen = 1024;                        // past that, the oldest is dropped
  struct Open {
    int fd;
    Clock::time_point deadline;
  };
  std::vector<Open> open;
  auto drop = [&](size_t i, bool unserved) {
    if (unserved) gave_up_.fetch_add(1);
    close(open[i].fd);
    open.erase(open.begin() + static_cast<std::ptrdiff_t>(i));
  };
  while (!stop_.load()) {
    std::vector<pollfd> fds{{listen_fd_, POLLIN, 0}};
    for (const Open& o : open) fds.push_back({o.fd, POLLIN, 0});
    if (poll(fds.data(), fds.size(), 100) < 0) continue;
    // Answered (or gone) first, from the back so that indices hold.
    for (size_t i = open.size(); i-- > 0;) {
      if ((fds[i + 1].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
      char buf[256];
      const ssize_t n = read(open[i].fd, buf, sizeof(buf));
      if (n < 0 && errno == EAGAIN) continue;
      const size_t reply_len = std::strlen(kReply);
      const bool served =
          n > 0 && write(open[i].fd, kReply, reply_len) == static_cast<ssize_t>(reply_len);
      if (served) served_.fetch_add(1);
      drop(i, !served);
    }
    const auto now = Clock::now();
    for (size_t i = open.size(); i-- > 0;) {
      if (open[i].deadline <= now) drop(i, true);
    }
    if ((fds[0].revents & POLLIN) == 0) continue;
    for (int k = 0; k < 64; k++) {  // the listener is non-blocking
      const int c = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
      if (c < 0) break;
      if (open.size() >= kMaxOpen) drop(0, true);
      open.push_back(Open{c, Clock::now() + kRequestWait});
    }
  }
  for (const Open& o : open) close(o.fd);
}

TcpServer::~TcpServer() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
  if (listen_fd_ >= 0) close(listen_fd_);
}

Result<std::chrono::microseconds> probeOnce(const std::string& addr, uint16_t port,
                                            std::chrono::milliseconds timeout,
                                            std::chrono::milliseconds think) {
  socklen_t len = 0;
  auto sa = makeSockaddr(addr, port, &len);
  if (!sa.ok()) return sa.error();
  auto start = Clock::now();
  auto deadline = start + timeout;
  Fd s{socket(sa->ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)};
  if (s.fd < 0) return sysError("client socket");
  if (connect(s.fd, reinterpret_cast<const sockaddr*>(&*sa), len) != 0 && errno != EINPROGRESS) {
    return sysError("connect");
  }
  if (!waitFor(s.fd, POLLOUT, deadline)) return makeError(Errc::kUnavailable, "connect timed out");
  int err = 0;
  socklen_t elen = sizeof(err);
  getsockopt(s.fd, SOL_SOCKET, SO_ERROR, &err, &elen);
  if (err != 0) return makeError(Errc::kUnavailable, std::string("connect: ") + std::strerror(err));
  if (think.count() > 0) std::this_thread::sleep_for(think);
  const char req[] = "ping\n";
  if (send(s.fd, req, sizeof(req) - 1, MSG_NOSIGNAL) != sizeof(req) - 1) return sysError("send");
  std::string got;
  const std::string want = kReply;
  while (got.size() < want.size()) {
    if (!waitFor(s.fd, POLLIN, deadline)) return makeError(Errc::kUnavailable, "reply timed out");
    char buf[64];
    ssize_t n = read(s.fd, buf, sizeof(buf));
    if (n < 0 && errno == EAGAIN) continue;
    if (n <= 0) return makeError(Errc::kUnavailable, "connection closed before the reply");
    got.append(buf, static_cast<size_t>(n));
  }
  if (got != want) return makeError(Errc::kIo, "unexpected reply '" + got + "'");
  return std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start);
}

ClientStats ClientStats::operator-(const ClientStats& e) const {
  return ClientStats{ok - e.ok, failed - e.failed, latency_us_sum - e.latency_us_sum,
                     latency_us_max};
}

Result<std::unique_ptr<ClientLoop>> ClientLoop::start(const std::string& netns,
                                                      const std::string& addr, uint16_t port,
                                                      unsigned per_second,
                                                      std::chrono::milliseconds timeout) {
  if (per_second == 0 || per_second > 10000) {
    return makeError(Errc::kInvalidArgument, "client rate must be 1..10000 per second");
  }
  std::unique_ptr<ClientLoop> loop(new ClientLoop());
  loop->addr_ = addr;
  loop->port_ = port;
  loop->per_second_ = per_second;
  loop->timeout_ = timeout;
  auto t = startThreadIn(netns, [l = loop.get()] { l->run(); });
  if (!t.ok()) return t.error();
  loop->thread_ = std::move(*t);
  return loop;
}

void ClientLoop::run() {
  auto interval = std::chrono::nanoseconds(1'000'000'000 / per_second_);
  auto next = Clock::now();
  while (!stop_.load()) {
    auto r = probeOnce(addr_, port_, timeout_);
    if (r.ok()) {
      auto us = static_cast<uint64_t>(r->count());
      ok_.fetch_add(1);
      lat_sum_.fetch_add(us);
      if (us > lat_max_.load()) lat_max_.store(us);
    } else {
      failed_.fetch_add(1);
    }
    next += interval;
    auto now = Clock::now();
    if (next < now) next = now;  // no catch-up bursts after a slow exchange
    while (!stop_.load() && Clock::now() < next) {
      std::this_thread::sleep_for(
          std::min<std::chrono::nanoseconds>(next - Clock::now(), std::chrono::milliseconds(50)));
    }
  }
}

ClientStats ClientLoop::stats() const {
  return ClientStats{ok_.load(), failed_.load(), lat_sum_.load(), lat_max_.load()};
}

void ClientLoop::stop() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
}

ClientLoop::~ClientLoop() { stop(); }

}  // namespace sg::lab
