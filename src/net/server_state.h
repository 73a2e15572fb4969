// Internal to the server: what every connection of one Server shares.
#pragma once

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>  // SSL
#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "net/server.h"

namespace sg::net {

// A connection the server can end from outside (stop()).
class ConnectionControl {
 public:
  virtual ~ConnectionControl() = default;
  virtual void abort() = 0;
};

struct ServerState {
  ServerState(ServerOptions o, Router r, std::optional<WsRoute> w,
              std::shared_ptr<boost::asio::ssl::context> tls_ctx, Clock& clock)
      : options(std::move(o)),
        router(std::move(r)),
        ws(std::move(w)),
        tls(std::move(tls_ctx)),
        limiter(options.limits.rate, clock) {}

  void track(uint64_t id, std::weak_ptr<ConnectionControl> c);
  void untrack(uint64_t id);
  void abortAll();
  // noteUpgrade() runs after each WebSocket upgrade. The handshakes'
  // buffers (Asio's SSL engine, about 70 KB a connection until the link
  // takes over) are freed, but glibc keeps the pages of a burst (a fleet
  // reconnecting after a restart) as free heap: kTrimAfter after an upgrade
  // they are given back (malloc_trim; so every kTrimAfter during a burst and
  // once after its last upgrade), and the console's RSS is what its links hold.
  static constexpr std::chrono::milliseconds kTrimAfter{500};

  const ServerOptions options;
  const Router router;
  const std::optional<WsRoute> ws;
  std::shared_ptr<boost::asio::ssl::context> tls;
  NetCounters counters;
  RateLimiter limiter;
  std::atomic<size_t> active{0};
  std::atomic<uint64_t> next_id{1};
  std::atomic<bool> stopped{false};
  std::unique_ptr<boost::asio::ip::tcp::acceptor> acceptor;
  std::unique_ptr<boost::asio::steady_timer> trim_timer;  // armed by noteUpgrade()
  std::atomic<bool> trim_armed{false};

 private:
  std::mutex mu_;
  std::unordered_map<uint64_t, std::weak_ptr<ConnectionControl>> live_;
};

// Holds one of max_connections while alive; moves from the HTTP session to
// the WebSocket session on upgrade.
class ConnectionSlot {
 public:
  explicit ConnectionSlot(std::shared_ptr<ServerState> st) : st_(std::move(st)) {}
  ConnectionSlot(ConnectionSlot&& o) noexcept : st_(std::move(o.st_)) {}
  ConnectionSlot& operator=(ConnectionSlot&&) = delete;
  ConnectionSlot(const ConnectionSlot&) = delete;
  ~ConnectionSlot() {
    if (st_) st_->active.fetch_sub(1);
  }

 private:
  std::shared_ptr<ServerState> st_;
};

void noteUpgrade(const std::shared_ptr<ServerState>& st);

// The verified client certificate's CN and fingerprint, if any.
void fillPeerCert(SSL* ssl, PeerInfo& peer);

}  // namespace sg::net
