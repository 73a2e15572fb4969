// ConsoleLink: the agent's live link to the console. One thread of its own
// runs an io_context with the reconnecting WebSocket client (net::WsClient:
// TLS against the CA saved at enrollment, the agent's client certificate,
// jittered backoff) and the heartbeat timer; the protocol is ConsoleLinkCore,
// which the agent's loop thread reaches through its eventfd (wakeFd).
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "agent/console_link_core.h"
#include "net/backoff.h"
#include "net/tls_config.h"
#include "net/ws_client.h"

namespace sg::agent {

struct ConsoleLinkOptions {
  std::string host;  // the console's name or address (its certificate names it)
  uint16_t port = 8443;
  std::string url;  // for status, as https://host:port
  net::TlsClientConfig tls;
  net::BackoffPolicy backoff;
  std::chrono::milliseconds heartbeat{5000};
  std::chrono::milliseconds connect_timeout{10'000};
  LinkCoreOptions core;
  // Called on the link's thread when the link comes up, and when it goes
  // down after having been up or at the first failed attempt (not on every
  // retry): (up, why it went down).
  std::function<void(bool up, const std::string& reason)> on_state;
};

class ConsoleLink {
 public:
  static Result<std::unique_ptr<ConsoleLink>> create(ConsoleLinkOptions options, Clock& mono);
  ~ConsoleLink();  // stops
  // Starts connecting (and the thread). Idempotent.
  void start();
  void stop();

  ConsoleLinkCore& core() { return *core_; }
  const ConsoleLinkOptions& options() const { return options_; }
  // Link status for `syn-guard status` and its Prometheus text.
  nlohmann::json statusJson() const;
  std::string metricsText() const;

 private:
  ConsoleLink(ConsoleLinkOptions options, std::unique_ptr<ConsoleLinkCore> core);
  void armHeartbeat();

  ConsoleLinkOptions options_;
  std::unique_ptr<ConsoleLinkCore> core_;
  boost::asio::io_context ioc_;
  std::unique_ptr<LinkTransport> transport_;
  std::unique_ptr<net::WsClient> client_;
  std::unique_ptr<boost::asio::steady_timer> heartbeat_;
  std::thread thread_;
  bool started_ = false;
};

}  // namespace sg::agent
