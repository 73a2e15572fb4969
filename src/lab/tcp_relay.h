// A TCP relay from inside a lab namespace to a server of this (the test's)
// namespace, e.g. the PostgreSQL test server on 127.0.0.1, without routing:
// the relay's listening socket is made inside the namespace (on its own
// loopback by default), and the test process copies bytes between the
// connections accepted there and new connections it opens here. The lab
// stays sealed: no route, no address leaves it; only what reaches the relay's
// port crosses, to the one target.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/result.h"

namespace sg::lab {

class TcpRelay {
 public:
  // Listens on listen_addr:0 inside `netns` (the OS picks the port) and relays
  // each connection to target_addr:target_port in this namespace.
  static Result<std::unique_ptr<TcpRelay>> start(const std::string& netns,
                                                 const std::string& listen_addr,
                                                 const std::string& target_addr,
                                                 uint16_t target_port);
  ~TcpRelay();  // closes every connection and joins the threads
  TcpRelay(const TcpRelay&) = delete;
  TcpRelay& operator=(const TcpRelay&) = delete;

  uint16_t port() const { return port_; }
  uint64_t relayed() const { return relayed_.load(); }  // connections accepted

 private:
  TcpRelay() = default;
  void acceptLoop();
  void pump(int a, int b);

  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::string target_addr_;
  uint16_t target_port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> relayed_{0};
  std::thread acceptor_;
  std::mutex mu_;
  std::vector<std::thread> pumps_;
};

}  // namespace sg::lab
