// Small socket helpers for the control socket (server: ControlServer; client:
// `syn-guard status|blocks|block|unblock`).
// Every function returns a Result whose message names the address and errno.
#pragma once

#include <chrono>
#include <string>

#include "core/result.h"

namespace sg::agent {

// Owns a file descriptor.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(o.release()) {}
  Fd& operator=(Fd&& o) noexcept;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd();
  int get() const { return fd_; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  bool valid() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

// Listens on a unix stream socket at `path`, mode 0600, creating the parent
// directory (0700) if needed. A socket file left by a dead agent is replaced;
// one that still answers means another agent runs: kAlreadyExists.
Result<Fd> listenUnix(const std::string& path);
Result<Fd> connectUnix(const std::string& path);

// Reads until '\n' (not included) or EOF, at most max_bytes, giving up after
// `timeout` (blocking: for clients, never for the agent's loop). Errors: too
// long, timeout, I/O.
Result<std::string> readLine(int fd, size_t max_bytes, std::chrono::milliseconds timeout);
Result<void> writeAll(int fd, const std::string& data);

}  // namespace sg::agent
