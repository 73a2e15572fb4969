#include "agent/control_server.h"

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

namespace sg::agent {

namespace {

bool wouldBlock() { return errno == EAGAIN || errno == EWOULDBLOCK; }

}  // namespace

Result<ControlServer> ControlServer::open(const std::string& path, Handler handler,
                                          ControlServerOptions options) {
  auto listener = listenUnix(path);
  if (!listener) return listener.error();
  int flags = ::fcntl(listener->get(), F_GETFL);
  if (flags < 0 || ::fcntl(listener->get(), F_SETFL, flags | O_NONBLOCK) != 0) {
    return Error(Errc::kIo, std::string("control socket O_NONBLOCK: ") + std::strerror(errno));
  }
  Fd ep(::epoll_create1(EPOLL_CLOEXEC));
  Fd timer(::timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK));
  if (!ep.valid() || !timer.valid()) {
    return Error(Errc::kIo, std::string("control socket epoll: ") + std::strerror(errno));
  }
  for (int fd : {listener->get(), timer.get()}) {
    epoll_event e{EPOLLIN, {.fd = fd}};
    if (::epoll_ctl(ep.get(), EPOLL_CTL_ADD, fd, &e) != 0) {
      return Error(Errc::kIo, std::string("control socket epoll_ctl: ") + std::strerror(errno));
    }
  }
  return ControlServer(std::move(*listener), std::move(ep), std::move(timer), std::move(handler),
                       options);
}

ControlServer::ControlServer(Fd listener, Fd epoll, Fd timer, Handler handler,
                             ControlServerOptions options)
    : listener_(std::move(listener)),
      epoll_(std::move(epoll)),
      timer_(std::move(timer)),
      handler_(std::move(handler)),
      options_(options) {}

void ControlServer::onReady() {
  epoll_event evs[16];
  int n = ::epoll_wait(epoll_.get(), evs, 16, 0);
  for (int i = 0; i < n; i++) {
    int fd = evs[i].data.fd;
    if (fd == listener_.get()) {
      acceptAll();
    } else if (fd == timer_.get()) {
      uint64_t ticks;
      (void)!::read(timer_.get(), &ticks, sizeof ticks);
    } else if (auto it = clients_.find(fd); it != clients_.end()) {
      Client& c = it->second;
      if (c.answered || readFrom(c)) writeTo(c);
    }
  }
  expire();
}

void ControlServer::acceptAll() {
  for (;;) {
    Fd fd(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
    if (!fd.valid()) return;  // EAGAIN, or an error the next connection may not have
    if (clients_.size() >= options_.max_clients) {
      counters_.refused++;
      continue;  // closed by Fd
    }
    epoll_event e{EPOLLIN, {.fd = fd.get()}};
    if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd.get(), &e) != 0) continue;
    int key = fd.get();
    Client& c = clients_[key];
    c.fd = std::move(fd);
    c.deadline = std::chrono::steady_clock::now() + options_.deadline;
    armTimer();
  }
}

bool ControlServer::readFrom(Client& c) {
  char buf[4096];
  for (;;) {
    ssize_t n = ::recv(c.fd.get(), buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && wouldBlock()) return false;
    if (n <= 0) {
      // EOF (or an error): a request without its newline is still a request.
      if (n == 0 && !c.in.empty()) return respond(c, handler_(c.in));
      close(c.fd.get());
      return false;
    }
    size_t old = c.in.size();
    c.in.append(buf, static_cast<size_t>(n));
    auto nl = c.in.find('\n', old);
    if (nl != std::string::npos) return respond(c, handler_(c.in.substr(0, nl)));
    if (c.in.size() > options_.max_line) {
      std::string why = "request longer than " + std::to_string(options_.max_line) + " bytes";
      return respond(c, nlohmann::json{{"ok", false}, {"error", why}}.dump());
    }
  }
}

bool ControlServer::respond(Client& c, std::string response) {
  c.out = std::move(response);
  c.out += '\n';
  c.answered = true;
  c.in = std::string();
  epoll_event e{EPOLLOUT, {.fd = c.fd.get()}};
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, c.fd.get(), &e);
  return true;
}

void ControlServer::writeTo(Client& c) {
  while (c.sent < c.out.size()) {
    ssize_t n = ::send(c.fd.get(), c.out.data() + c.sent, c.out.size() - c.sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && wouldBlock()) return;
    if (n < 0) return close(c.fd.get());
    c.sent += static_cast<size_t>(n);
  }
  counters_.served++;
  close(c.fd.get());
}

void ControlServer::close(int fd) {
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
  clients_.erase(fd);  // closes it
}

void ControlServer::expire() {
  auto now = std::chrono::steady_clock::now();
  for (auto it = clients_.begin(); it != clients_.end();) {
    if (it->second.deadline <= now) {
      counters_.timed_out++;
      ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, it->first, nullptr);
      it = clients_.erase(it);
    } else {
      ++it;
    }
  }
  armTimer();
}

void ControlServer::armTimer() {
  itimerspec its{};
  if (!clients_.empty()) {
    auto first =
        std::min_element(clients_.begin(), clients_.end(), [](const auto& a, const auto& b) {
          return a.second.deadline < b.second.deadline;
        })->second.deadline;
    auto wait = std::chrono::duration_cast<std::chrono::nanoseconds>(
        first - std::chrono::steady_clock::now());
    if (wait.count() < 1'000'000) wait = std::chrono::nanoseconds(1'000'000);
    its.it_value.tv_sec = static_cast<time_t>(wait.count() / 1'000'000'000);
    its.it_value.tv_nsec = static_cast<long>(wait.count() % 1'000'000'000);
  }
  ::timerfd_settime(timer_.get(), 0, &its, nullptr);
}

}  // namespace sg::agent
