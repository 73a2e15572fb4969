// A TCP relay from inside a lab namespace to an address of the caller's
// namespace: `syn-guard demo` keeps its lab sealed (no routes out) yet lets the
// victim's agent reach the console on the host's 127.0.0.1. The listening
// socket is made by a thread that entered the namespace (a socket keeps the
// namespace it was made in); each accepted connection is piped, bytes only,
// to the target connected from the caller's namespace, so TLS stays end to
// end. Bounded: at most `max_connections` at once (more are closed at once,
// counted), and everything closes when the relay is destroyed.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "core/result.h"

namespace sg::lab {

struct RelayOptions {
  std::string listen_netns;               // namespace to listen in ("": the caller's)
  std::string listen_host = "127.0.0.1";  // an IPv4 or IPv6 address in that namespace
  uint16_t listen_port = 0;               // 0: one the kernel picks (see port())
  std::string target_host = "127.0.0.1";  // an address of the caller's namespace
  uint16_t target_port = 0;
  size_t max_connections = 16;  // relayed at once
};

class TcpRelay {
 public:
  static Result<std::unique_ptr<TcpRelay>> start(const RelayOptions& options);
  // Closes the listener and every relayed connection, joins the thread.
  ~TcpRelay();
  TcpRelay(const TcpRelay&) = delete;
  TcpRelay& operator=(const TcpRelay&) = delete;

  uint16_t port() const { return port_; }
  uint64_t accepted() const { return accepted_.load(); }  // relayed connections so far
  uint64_t refused() const { return refused_.load(); }    // over the limit or target down

 private:
  TcpRelay() = default;
  void run();

  RelayOptions options_;
  int listen_fd_ = -1;
  int wake_fd_ = -1;  // eventfd: the destructor's stop signal
  uint16_t port_ = 0;
  std::atomic<uint64_t> accepted_{0};
  std::atomic<uint64_t> refused_{0};
  std::thread thread_;
};

}  // namespace sg::lab
