// MetricsServer: the Prometheus endpoint, served with Boost.Beast on a thread
// of its own so that no scraper can delay the event loop. One asio thread
// serves every connection asynchronously: a connection that stalls (half a
// request, a response it never reads) holds no thread and no lock, only its
// socket, until its deadline cuts it off; at most `max_connections` are open
// at once. The response body comes from `render`, called on the server thread
// (the agent's render asks the loop for fresh figures through a
// MetricsExchange and never touches the loop's state itself).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "core/result.h"

namespace sg::agent {

struct MetricsServerOptions {
  // Connections open at once; more are closed at accept.
  size_t max_connections = 64;
  // From accept to the last byte of the response.
  std::chrono::milliseconds deadline{3000};
  // Longest request head.
  size_t max_request = 8192;
};

class MetricsServer {
 public:
  using Render = std::function<std::string()>;

  // "127.0.0.1:9469", "[::1]:9469", "0.0.0.0:0" (IP literals only). Serves
  // GET /metrics (and GET /) with render()'s text, 404 for anything else.
  static Result<std::unique_ptr<MetricsServer>> start(const std::string& host_port, Render render,
                                                      MetricsServerOptions options = {});
  ~MetricsServer();  // stops serving and joins the thread
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  // The address actually bound, with the OS-chosen port: "127.0.0.1:41234".
  const std::string& bound() const;

  struct Impl;

 private:
  explicit MetricsServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sg::agent
