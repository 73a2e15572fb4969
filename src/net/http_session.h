// One accepted TLS connection: handshake, then HTTP requests through the
// router until it closes, or an upgrade to the WebSocket route (internal).
#pragma once

#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <optional>

#include "net/beast_types.h"
#include "net/server_state.h"

namespace sg::net {

class HttpSession : public ConnectionControl, public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(std::shared_ptr<ServerState> st, tcp::socket socket, ConnectionSlot slot);
  ~HttpSession() override;
  asio::awaitable<void> run();
  void abort() override;

 private:
  using Request = http::request<http::string_body>;
  asio::awaitable<bool> handshake();
  // False: the connection must end (after the error response, if any).
  asio::awaitable<bool> serveOne(bool first);
  asio::awaitable<bool> respond(const Request* req, HttpResponse resp, bool keep_alive);
  // resp.stream: the header, then chunks as the body produces them (http_stream.cpp).
  asio::awaitable<bool> streamOut(const Request& req, HttpResponse resp);
  asio::awaitable<void> refuseRead(const beast::error_code& ec);
  HttpRequest toRequest(const Request& req) const;
  asio::awaitable<void> shutdown();

  std::shared_ptr<ServerState> st_;
  TlsStream stream_;
  std::optional<ConnectionSlot> slot_;
  beast::flat_buffer buffer_;
  PeerInfo peer_;
  uint64_t id_;
  bool upgraded_ = false;
  // While a response streams: its wake-up timer, and whether abort() ran.
  std::optional<asio::steady_timer> stream_timer_;
  bool aborted_ = false;
};

}  // namespace sg::net
