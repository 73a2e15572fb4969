// One upgraded WebSocket connection on the server (internal): Beast answers
// the upgrade, then the link runs on the connection's own transport
// (tls_ws_link.h), which reads text messages into the route's handler and
// writes what send() queued (bounded), batched, on the connection's strand.
// send() never writes in the caller's thread: a fan-out queues on every
// connection under the service's lock and the io threads write (TLS,
// syscalls) after, in parallel.
#pragma once

#include <optional>

#include "net/beast_types.h"
#include "net/server_state.h"
#include "net/tls_ws_link.h"

namespace sg::net {

class WsSession : public WsConnection,
                  public ConnectionControl,
                  public std::enable_shared_from_this<WsSession> {
 public:
  WsSession(std::shared_ptr<ServerState> st, TlsStream stream, ConnectionSlot slot, PeerInfo peer,
            uint64_t id);
  ~WsSession() override;
  asio::awaitable<void> run(http::request<http::string_body> req);

  bool send(std::string text) override;
  bool sendShared(std::shared_ptr<const std::string> frame) override;
  void close() override;
  void closeWith(uint16_t code, const std::string& reason) override;
  const PeerInfo& peer() const override { return peer_; }
  uint64_t id() const override { return id_; }
  size_t pendingSends() const override;
  void abort() override;

 private:
  // Counts why the link ended; the reason the handler's onClose gets.
  std::string endReason(const WsLinkEnd& end);
  // Runs a handler callback; a throw is counted (handler_errors), not propagated.
  void call(const std::function<void()>& fn);

  std::shared_ptr<ServerState> st_;
  asio::any_io_executor ex_;         // the connection's strand
  std::optional<WsStream> ws_;       // until the upgrade is answered (strand)
  std::shared_ptr<TlsWsLink> link_;  // after: set once, before onOpen
  ConnectionSlot slot_;
  PeerInfo peer_;
  uint64_t id_;
};

}  // namespace sg::net
