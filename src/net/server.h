// The console's HTTPS + WebSocket server on Boost.Beast. Runs on a caller's
// io_context (any number of threads); each connection on its own strand.
// Everything refused is counted (NetCounters); no exception leaves a handler.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "core/clock.h"
#include "core/result.h"
#include "net/net_counters.h"
#include "net/rate_limiter.h"
#include "net/router.h"
#include "net/tls_config.h"
#include "net/ws_connection.h"

namespace sg::net {

struct ServerLimits {
  size_t max_header_bytes = 8 * 1024;   // larger: 431
  size_t max_body_bytes = 1024 * 1024;  // larger: 413
  size_t max_connections = 20'000;      // beyond: accepted and closed at once
  // From accept to the end of the first request's header, TLS included.
  std::chrono::milliseconds handshake_timeout{10'000};
  // For each later request (header and body) and each response write.
  std::chrono::milliseconds idle_timeout{30'000};
  // HTTP requests per remote address (IPv6: per /64), or per verified client
  // certificate that WsRoute::own_rate_budget accepts.
  RateLimit rate;
  size_t ws_max_message_bytes = 1024 * 1024;  // larger: closed (1009)
  size_t ws_send_queue = 1024;                // messages queued per connection
  // A WebSocket peer silent this long is closed; a ping goes out at half of it.
  std::chrono::milliseconds ws_idle_timeout{60'000};

  Result<void> validate() const;
};

// The one WebSocket endpoint (the agent link).
struct WsRoute {
  std::string path = "/v1/agent";
  bool require_client_cert = true;  // no verified client certificate: 401
  // Before the upgrade: return a response to refuse it (e.g. 403 for a
  // revoked endpoint), nullopt to accept. Optional.
  std::function<std::optional<HttpResponse>(const HttpRequest&)> authorize;
  // For every request with a verified client certificate: true gives that
  // certificate a rate budget of its own (an enrolled agent's current
  // credential: a fleet behind one NAT address is not throttled as one
  // client); false, or unset, counts it against its address like any other
  // (a revoked or superseded certificate gets no budget of its own).
  std::function<bool(const PeerInfo&)> own_rate_budget;
  std::shared_ptr<WsHandler> handler;
};

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 0;  // 0: the OS picks; Server::port() tells which
  TlsServerConfig tls;
  ServerLimits limits;
};

struct ServerState;

class Server {
 public:
  // Binds and starts accepting on `ioc`; the caller runs ioc. `clock` (for
  // the rate limiter) must outlive the server.
  static Result<std::shared_ptr<Server>> start(boost::asio::io_context& ioc, ServerOptions options,
                                               Router router, std::optional<WsRoute> ws,
                                               Clock& clock);
  ~Server();
  uint16_t port() const { return port_; }
  // Stops accepting and closes every open connection (each WebSocket
  // handler's onClose runs). Idempotent.
  void stop();
  const NetCounters& counters() const;
  size_t activeConnections() const;

  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

 private:
  Server(std::shared_ptr<ServerState> state, uint16_t port);
  std::shared_ptr<ServerState> state_;
  uint16_t port_;
};

}  // namespace sg::net
