// Legitimate traffic for the lab: a tiny TCP server (accept, read a request,
// answer a fixed reply, close) and a client loop (connect + request/response
// + close, N per second) that counts successes, failures and latency.
// Both run on their own thread inside a namespace (see startThreadIn).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "core/result.h"

namespace sg::lab {

inline constexpr const char* kReply = "syn-guard-lab-ok\n";

class TcpServer {
 public:
  // Listens on addr:port inside `netns` and serves until destroyed.
  static Result<std::unique_ptr<TcpServer>> start(const std::string& netns, const std::string& addr,
                                                  uint16_t port);
  ~TcpServer();
  TcpServer(const TcpServer&) = delete;
  TcpServer& operator=(const TcpServer&) = delete;
  uint64_t served() const { return served_.load(); }
  // Connections closed unserved: no request arrived while the server waited.
  uint64_t gaveUp() const { return gave_up_.load(); }

 private:
  TcpServer() = default;
  void serve();
  int listen_fd_ = -1;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> served_{0};
  std::atomic<uint64_t> gave_up_{0};
  std::thread thread_;
};

// One connect + request + reply + close with a timeout on the whole exchange.
// Returns the latency, or an error saying which step failed. `think`: a pause
// between the connection's opening and the request (a slow or starved client,
// or a lost segment's retransmission, as the server sees it).
Result<std::chrono::microseconds> probeOnce(
    const std::string& addr, uint16_t port, std::chrono::milliseconds timeout,
    std::chrono::milliseconds think = std::chrono::milliseconds(0));

struct ClientStats {
  uint64_t ok = 0;
  uint64_t failed = 0;
  uint64_t latency_us_sum = 0;  // over successes
  uint64_t latency_us_max = 0;
  double successRate() const {
    return ok + failed == 0 ? 1.0 : static_cast<double>(ok) / static_cast<double>(ok + failed);
  }
  ClientStats operator-(const ClientStats& earlier) const;
};

class ClientLoop {
 public:
  // Starts `per_second` exchanges a second against addr:port from inside `netns`.
  static Result<std::unique_ptr<ClientLoop>> start(
      const std::string& netns, const std::string& addr, uint16_t port, unsigned per_second,
      std::chrono::milliseconds timeout = std::chrono::milliseconds(1000));
  ~ClientLoop();
  ClientLoop(const ClientLoop&) = delete;
  ClientLoop& operator=(const ClientLoop&) = delete;
  ClientStats stats() const;
  void stop();

 private:
  ClientLoop() = default;
  void run();
  std::string addr_;
  uint16_t port_ = 0;
  unsigned per_second_ = 10;
  std::chrono::milliseconds timeout_{1000};
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> ok_{0}, failed_{0}, lat_sum_{0}, lat_max_{0};
  std::thread thread_;
};

}  // namespace sg::lab
