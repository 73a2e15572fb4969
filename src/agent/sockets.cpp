#include "agent/sockets.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace sg::agent {

namespace {

Error sysError(const std::string& what) {
  int e = errno;
  Errc code = (e == EACCES || e == EPERM)          ? Errc::kPermissionDenied
              : (e == ENOENT || e == ECONNREFUSED) ? Errc::kUnavailable
                                                   : Errc::kIo;
  return Error(code, what + ": " + std::strerror(e));
}

Result<sockaddr_un> unixAddress(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof(addr.sun_path)) {
    return Error(Errc::kInvalidArgument,
                 "control socket path '" + path + "' is empty or longer than 107 bytes");
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  return addr;
}

}  // namespace

Fd& Fd::operator=(Fd&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.release();
  }
  return *this;
}

Fd::~Fd() {
  if (fd_ >= 0) ::close(fd_);
}

Result<Fd> connectUnix(const std::string& path) {
  auto addr = unixAddress(path);
  if (!addr) return addr.error();
  Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return sysError("socket");
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&*addr), sizeof(*addr)) != 0) {
    return sysError("connect " + path);
  }
  return fd;
}

Result<Fd> listenUnix(const std::string& path) {
  auto addr = unixAddress(path);
  if (!addr) return addr.error();
  auto slash = path.rfind('/');
  if (slash != std::string::npos && slash > 0) {
    std::string dir = path.substr(0, slash);
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return sysError("mkdir " + dir);
  }
  if (auto live = connectUnix(path); live.ok()) {
    return Error(Errc::kAlreadyExists,
                 "another syn-guard agent answers on " + path +
                     " (stop it first, or use "
                     "--control-socket to run a second agent on other interfaces)");
  }
  ::unlink(path.c_str());  // a socket file left by an agent that died
  Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return sysError("socket");
  mode_t old = ::umask(0177);
  int rc = ::bind(fd.get(), reinterpret_cast<const sockaddr*>(&*addr), sizeof(*addr));
  ::umask(old);
  if (rc != 0) return sysError("bind " + path);
  if (::listen(fd.get(), 16) != 0) return sysError("listen " + path);
  return fd;
}

Result<TcpListener> listenTcp(const std::string& host_port) {
  auto colon = host_port.rfind(':');
  if (colon == std::string::npos) {
    return Error(Errc::kInvalidArgument, "'" + host_port + "' is not host:port");
  }
  std::string host = host_port.substr(0, colon);
  std::string port_text = host_port.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  char* end = nullptr;
  long port = std::strtol(port_text.c_str(), &end, 10);
  if (port_text.empty() || *end != '\0' || port < 0 || port > 65535) {
    return Error(Errc::kInvalidArgument, "bad port in '" + host_port + "'");
  }
  sockaddr_storage ss{};
  socklen_t len = 0;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<uint16_t>(port));
    len = sizeof(*v4);
  } else if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<uint16_t>(port));
    len = sizeof(*v6);
  } else {
    return Error(Errc::kInvalidArgument, "bad address in '" + host_port + "' (use an IP literal)");
  }
  Fd fd(::socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return sysError("socket");
  int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    return sysError("bind " + host_port);
  }
  if (::listen(fd.get(), 16) != 0) return sysError("listen " + host_port);
  sockaddr_storage got{};
  socklen_t got_len = sizeof got;
  ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&got), &got_len);
  char text[INET6_ADDRSTRLEN] = {};
  uint16_t bound_port = 0;
  if (got.ss_family == AF_INET) {
    auto* a = reinterpret_cast<sockaddr_in*>(&got);
    inet_ntop(AF_INET, &a->sin_addr, text, sizeof text);
    bound_port = ntohs(a->sin_port);
    return TcpListener{std::move(fd), std::string(text) + ":" + std::to_string(bound_port)};
  }
  auto* a = reinterpret_cast<sockaddr_in6*>(&got);
  inet_ntop(AF_INET6, &a->sin6_addr, text, sizeof text);
  bound_port = ntohs(a->sin6_port);
  return TcpListener{std::move(fd), "[" + std::string(text) + "]:" + std::to_string(bound_port)};
}

namespace {

// Reads until `done(buffer)` is true, EOF, max_bytes or the deadline.
template <typename Done>
Result<std::string> readUntil(int fd, size_t max_bytes, std::chrono::milliseconds timeout,
                              Done done) {
  std::string buf;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  char chunk[1024];
  while (!done(buf)) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return Error(Errc::kUnavailable, "timed out reading request");
    pollfd p{fd, POLLIN, 0};
    int rc = ::poll(&p, 1, static_cast<int>(left.count()));
    if (rc < 0 && errno == EINTR) continue;
    if (rc < 0) return sysError("poll");
    if (rc == 0) continue;
    ssize_t n = ::read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return sysError("read");
    if (n == 0) break;
    buf.append(chunk, static_cast<size_t>(n));
    if (buf.size() > max_bytes) {
      return Error(Errc::kInvalidArgument,
                   "request longer than " + std::to_string(max_bytes) + " bytes");
    }
  }
  return buf;
}

}  // namespace

Result<std::string> readLine(int fd, size_t max_bytes, std::chrono::milliseconds timeout) {
  auto r = readUntil(fd, max_bytes, timeout,
                     [](const std::string& b) { return b.find('\n') != std::string::npos; });
  if (!r) return r.error();
  std::string s = std::move(*r);
  auto nl = s.find('\n');
  if (nl != std::string::npos) s.resize(nl);
  return s;
}

Result<std::string> readHttpHead(int fd, size_t max_bytes, std::chrono::milliseconds timeout) {
  return readUntil(fd, max_bytes, timeout, [](const std::string& b) {
    return b.find("\r\n\r\n") != std::string::npos || b.find("\n\n") != std::string::npos;
  });
}

Result<void> writeAll(int fd, const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return sysError("write");
    off += static_cast<size_t>(n);
  }
  return Ok{};
}

}  // namespace sg::agent
