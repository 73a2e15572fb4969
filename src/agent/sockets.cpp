#include "agent/sockets.h"

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
