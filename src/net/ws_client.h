// The agent's end of the link: one WebSocket over TLS to the console, opened
// by the agent (NAT-friendly), verifying the console against a pinned CA or a
// CA file and presenting the agent's client certificate. When the link drops
// it reconnects after a jittered exponential backoff (reset once connected).
// Runs on the caller's io_context; the handler's callbacks run on one strand,
// one at a time.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "core/result.h"
#include "net/backoff.h"
#include "net/tls_config.h"

namespace sg::net {

struct WsClientOptions {
  std::string host;  // the console's name or address (also the name its certificate must carry)
  uint16_t port = 8443;
  std::string path = "/v1/agent";
  TlsClientConfig tls;
  BackoffPolicy backoff;
  std::chrono::milliseconds connect_timeout{10'000};  // TCP + TLS + upgrade
  // A console silent this long is dropped and redialled; a ping at half of it.
  std::chrono::milliseconds idle_timeout{60'000};
  size_t max_message_bytes = 4 * 1024 * 1024;
  size_t send_queue = 1024;  // messages; beyond, send() refuses (the caller keeps its own queue)
};

class WsClientHandler {
 public:
  virtual ~WsClientHandler() = default;
  virtual void onConnected() = 0;  // the link is up: say hello, resume
  virtual void onText(std::string text) = 0;
  // The server ended the link with a close frame: its code and reason (just
  // before onDisconnected). A link that broke without one does not call it.
  virtual void onPeerClosed(uint16_t code, const std::string& reason) {
    (void)code;
    (void)reason;
  }
  // The link is down (or could not come up): why, and when the next attempt is.
  virtual void onDisconnected(const std::string& reason, std::chrono::milliseconds retry_in) = 0;
};

class WsClientImpl;

class WsClient {
 public:
  // `random` is uniform in [0, 1) (injectable for tests); empty: a seeded PRNG.
  static Result<std::unique_ptr<WsClient>> create(boost::asio::io_context& ioc,
                                                  WsClientOptions options,
                                                  std::shared_ptr<WsClientHandler> handler,
                                                  Backoff::Random random = {});
  ~WsClient();  // stops
  void start();
  // Closes the link and ends the reconnect loop; no callback after the
  // in-flight one. Idempotent.
  void stop();
  // Queues a text message on the live link. False when there is no link or
  // the queue is full; nothing is kept across links (the protocol resumes).
  bool send(std::string text);
  bool connected() const;
  uint64_t connects() const;  // successful connections so far

 private:
  explicit WsClient(std::shared_ptr<WsClientImpl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<WsClientImpl> impl_;
};

}  // namespace sg::net
