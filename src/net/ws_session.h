// One upgraded WebSocket connection on the server (internal): reads text
// messages into the route's handler; send() queues (bounded) and one writer
// drains the queue on the connection's strand. send() never writes in the
// caller's thread: a fan-out queues on every connection under the service's
// lock and the io threads write (TLS, syscalls) after, in parallel.
#pragma once

#include <deque>
#include <mutex>

#include "net/beast_types.h"
#include "net/server_state.h"

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
  // On the strand: writes the queue's front, then the next from its completion.
  void writeNext();
  std::string readLoopEnd(const beast::error_code& ec);
  // Runs a handler callback; a throw is counted (handler_errors), not propagated.
  void call(const std::function<void()>& fn);

  std::shared_ptr<ServerState> st_;
  WsStream ws_;
  ConnectionSlot slot_;
  PeerInfo peer_;
  uint64_t id_;
  mutable std::mutex mu_;  // queue_, writing_, closed_
  std::deque<std::shared_ptr<const std::string>> queue_;
  std::shared_ptr<const std::string> writing_frame_;  // held until its write completes (strand)
  bool writing_ = false;
  bool closed_ = false;
};

}  // namespace sg::net
