#include "lab/relay.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <vector>

#include "lab/netns.h"

namespace sg::lab {
namespace {

constexpr size_t kBufferBytes = 64 * 1024;

struct SockAddr {
  sockaddr_storage storage{};
  socklen_t len = 0;
};

Result<SockAddr> makeAddr(const std::string& host, uint16_t port) {
  SockAddr a;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&a.storage);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&a.storage);
  if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    a.len = sizeof *v4;
  } else if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    a.len = sizeof *v6;
  } else {
    return makeError(Errc::kInvalidArgument, "not an IP address: " + host);
  }
  return a;
}

Result<int> listenOn(const SockAddr& addr) {
  int fd = socket(addr.storage.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return makeError(Errc::kIo, std::string("socket: ") + strerror(errno));
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(fd, reinterpret_cast<const sockaddr*>(&addr.storage), addr.len) != 0 ||
      listen(fd, 16) != 0) {
    std::string why = strerror(errno);
    close(fd);
    return makeError(Errc::kIo, "bind/listen: " + why);
  }
  return fd;
}

// One relayed connection: side 0 the accepted client, side 1 the target.
// buf[i] holds bytes read from side i not yet written to side 1-i.
struct Pipe {
  std::array<int, 2> fd{-1, -1};
  std::array<std::vector<char>, 2> buf;
  std::array<size_t, 2> len{0, 0};
  std::array<bool, 2> eof{false, false};   // side i sent FIN (or failed)
  std::array<bool, 2> shut{false, false};  // FIN passed on to side 1-i
  bool connecting = true;                  // the target's connect() is under way
  bool dead = false;

  Pipe() {
    buf[0].resize(kBufferBytes);
    buf[1].resize(kBufferBytes);
  }
  ~Pipe() {
    for (int f : fd) {
      if (f >= 0) close(f);
    }
  }
  Pipe(const Pipe&) = delete;
  Pipe& operator=(const Pipe&) = delete;

  short events(int side) const {
    short ev = 0;
    if (!eof[side] && len[side] < kBufferBytes && !(side == 1 && connecting)) ev |= POLLIN;
    if (side == 1 && connecting) return POLLOUT;
    if (len[1 - side] > 0) ev |= POLLOUT;
    return ev;
  }

  void readFrom(int side) {
    ssize_t n = recv(fd[side], buf[side].data() + len[side], kBufferBytes - len[side], 0);
    if (n > 0) {
      len[side] += static_cast<size_t>(n);
    } else if (n == 0) {
      eof[side] = true;
    } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      dead = true;
    }
  }

  void writeTo(int side) {
    int from = 1 - side;
    if (len[from] == 0) return;
    ssize_t n = send(fd[side], buf[from].data(), len[from], MSG_NOSIGNAL);
    if (n > 0) {
      memmove(buf[from].data(), buf[from].data() + n, len[from] - static_cast<size_t>(n));
      len[from] -= static_cast<size_t>(n);
    } else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      dead = true;
    }
  }

  void step(int side, short revents) {
    if (side == 1 && connecting) {
      if (!(revents & (POLLOUT | POLLERR | POLLHUP))) return;
      int err = 0;
      socklen_t len_err = sizeof err;
      getsockopt(fd[1], SOL_SOCKET, SO_ERROR, &err, &len_err);
      if (err != 0) {
        dead = true;
        return;
      }
      connecting = false;
      return;
    }
    if (revents & POLLERR) {
      dead = true;
      return;
    }
    if ((revents & (POLLIN | POLLHUP)) && !eof[side] && len[side] < kBufferBytes) readFrom(side);
    if (revents & POLLOUT) writeTo(side);
  }

  // Passes each side's FIN on once its bytes are through; done when both are.
  bool finished() {
    if (dead) return true;
    if (connecting) return false;
    for (int side = 0; side < 2; ++side) {
      if (eof[side] && len[side] == 0 && !shut[side]) {
        shutdown(fd[1 - side], SHUT_WR);
        shut[side] = true;
      }
    }
    return shut[0] && shut[1];
  }
};

}  // namespace

Result<std::unique_ptr<TcpRelay>> TcpRelay::start(const RelayOptions& options) {
  if (options.max_connections == 0) {
    return makeError(Errc::kInvalidArgument, "relay: max_connections must be at least 1");
  }
  SG_READ(listen_addr, makeAddr(options.listen_host, options.listen_port));
  SG_TRY(makeAddr(options.target_host, options.target_port));
  std::unique_ptr<TcpRelay> r(new TcpRelay());
  r->options_ = options;
  Result<int> fd = makeError(Errc::kIo, "not run");
  if (options.listen_netns.empty()) {
    fd = listenOn(*listen_addr);
  } else {
    SG_READ(t, startThreadIn(options.listen_netns, [&] { fd = listenOn(*listen_addr); }));
    t->join();
  }
  if (!fd) return fd.error().context("relay listening in " + options.listen_netns);
  r->listen_fd_ = *fd;
  sockaddr_storage bound{};
  socklen_t bound_len = sizeof bound;
  getsockname(r->listen_fd_, reinterpret_cast<sockaddr*>(&bound), &bound_len);
  r->port_ = ntohs(bound.ss_family == AF_INET ? reinterpret_cast<sockaddr_in*>(&bound)->sin_port
                                              : reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port);
  r->wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (r->wake_fd_ < 0) return makeError(Errc::kIo, std::string("eventfd: ") + strerror(errno));
  r->thread_ = std::thread([p = r.get()] { p->run(); });
  return r;
}

TcpRelay::~TcpRelay() {
  if (thread_.joinable()) {
    uint64_t one = 1;
    ssize_t n = write(wake_fd_, &one, sizeof one);
    (void)n;
    thread_.join();
  }
  if (listen_fd_ >= 0) close(listen_fd_);
  if (wake_fd_ >= 0) close(wake_fd_);
}

void TcpRelay::run() {
  auto target = makeAddr(options_.target_host, options_.target_port);  // checked in start()
  std::vector<std::unique_ptr<Pipe>> pipes;
  std::vector<pollfd> fds;
  for (;;) {
    fds.clear();
    fds.push_back({wake_fd_, POLLIN, 0});
    fds.push_back({listen_fd_, POLLIN, 0});
    for (auto& p : pipes) {
      fds.push_back({p->fd[0], p->events(0), 0});
      fds.push_back({p->fd[1], p->events(1), 0});
    }
    if (poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[0].revents != 0) return;  // stopping: the pipes close with `pipes`
    for (size_t i = 0; i < pipes.size(); ++i) {
      for (int side = 0; side < 2; ++side) {
        short rev = fds[2 + 2 * i + static_cast<size_t>(side)].revents;
        if (rev != 0 && !pipes[i]->dead) pipes[i]->step(side, rev);
      }
    }
    std::erase_if(pipes, [](const std::unique_ptr<Pipe>& p) { return p->finished(); });
    if (fds[1].revents & POLLIN) {
      int client = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (client < 0) continue;
      if (pipes.size() >= options_.max_connections) {
        ++refused_;  // counted before the client can see the close
        close(client);
        continue;
      }
      auto p = std::make_unique<Pipe>();
      p->fd[0] = client;
      p->fd[1] = socket(target->storage.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      if (p->fd[1] < 0 || (connect(p->fd[1], reinterpret_cast<const sockaddr*>(&target->storage),
                                   target->len) != 0 &&
                           errno != EINPROGRESS)) {
        ++refused_;
        continue;  // `p` closes both
      }
      ++accepted_;
      pipes.push_back(std::move(p));
    }
  }
}

}  // namespace sg::lab
