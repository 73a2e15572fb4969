#include "lab/tcp_relay.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "lab/netns.h"

namespace sg::lab {

namespace {

constexpr int kPollMs = 100;  // how soon a stop is noticed

Result<sockaddr_in> ipv4(const std::string& addr, uint16_t port) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  if (inet_pton(AF_INET, addr.c_str(), &sa.sin_addr) != 1) {
    return makeError(Errc::kInvalidArgument, "not an IPv4 address: " + addr);
  }
  return sa;
}

Error errnoError(const std::string& what) {
  return makeError(Errc::kIo, what + ": " + std::strerror(errno));
}

}  // namespace

Result<std::unique_ptr<TcpRelay>> TcpRelay::start(const std::string& netns,
                                                  const std::string& listen_addr,
                                                  const std::string& target_addr,
                                                  uint16_t target_port) {
  SG_READ(sa, ipv4(listen_addr, 0));
  SG_TRY(ipv4(target_addr, target_port));
  // The socket belongs to the namespace it is made in: a helper thread
  // enters the lab namespace just to make it.
  Result<int> fd = makeError(Errc::kIo, "not created");
  auto t = startThreadIn(netns, [&] {
    const int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0) {
      fd = errnoError("relay socket");
      return;
    }
    if (bind(s, reinterpret_cast<const sockaddr*>(&*sa), sizeof(*sa)) != 0 || listen(s, 64) != 0) {
      fd = errnoError("relay bind/listen " + listen_addr);
      close(s);
      return;
    }
    fd = s;
  });
  if (!t.ok()) return t.error();
  t->join();
  if (!fd.ok()) return fd.error();
  std::unique_ptr<TcpRelay> relay(new TcpRelay());
  relay->listen_fd_ = *fd;
  sockaddr_in bound{};
  socklen_t len = sizeof(bound);
  getsockname(*fd, reinterpret_cast<sockaddr*>(&bound), &len);
  relay->port_ = ntohs(bound.sin_port);
  relay->target_addr_ = target_addr;
  relay->target_port_ = target_port;
  relay->acceptor_ = std::thread([r = relay.get()] { r->acceptLoop(); });
  return relay;
}

TcpRelay::~TcpRelay() {
  stop_ = true;
  if (acceptor_.joinable()) acceptor_.join();
  std::vector<std::thread> pumps;
  {
    std::lock_guard<std::mutex> lock(mu_);
    pumps.swap(pumps_);
  }
  for (auto& p : pumps) p.join();
  if (listen_fd_ >= 0) close(listen_fd_);
}

void TcpRelay::acceptLoop() {
  while (!stop_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (poll(&p, 1, kPollMs) <= 0) continue;
    const int in = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (in < 0) continue;
    const int out = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    auto target = ipv4(target_addr_, target_port_);
    if (out < 0 ||
        connect(out, reinterpret_cast<const sockaddr*>(&*target), sizeof(*target)) != 0) {
      if (out >= 0) close(out);
      close(in);
      continue;
    }
    ++relayed_;
    std::lock_guard<std::mutex> lock(mu_);
    pumps_.emplace_back([this, in, out] { pump(in, out); });
  }
}

// Copies both ways until either side closes or the relay stops.
void TcpRelay::pump(int a, int b) {
  char buf[16384];
  pollfd fds[2] = {{a, POLLIN, 0}, {b, POLLIN, 0}};
  bool open = true;
  while (open && !stop_) {
    if (poll(fds, 2, kPollMs) <= 0) continue;
    for (int i = 0; i < 2 && open; ++i) {
      if ((fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
      const ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n <= 0) {
        open = false;
        break;
      }
      const int to = fds[1 - i].fd;
      for (ssize_t done = 0; done < n && open;) {
        const ssize_t w = write(to, buf + done, static_cast<size_t>(n - done));
        if (w <= 0) {
          open = false;
        } else {
          done += w;
        }
      }
    }
  }
  close(a);
  close(b);
}

}  // namespace sg::lab
