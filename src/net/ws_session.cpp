#include "net/ws_session.h"

#include <algorithm>

namespace sg::net {

WsSession::WsSession(std::shared_ptr<ServerState> st, TlsStream stream, ConnectionSlot slot,
                     PeerInfo peer, uint64_t id)
    : st_(std::move(st)),
      ex_(stream.get_executor()),
      ws_(std::in_place, std::move(stream)),
      slot_(std::move(slot)),
      peer_(std::move(peer)),
      id_(id) {}

WsSession::~WsSession() { st_->untrack(id_); }

void WsSession::call(const std::function<void()>& fn) {
  try {
    fn();
  } catch (...) {
    st_->counters.add(NetCounter::kHandlerErrors);
  }
}

asio::awaitable<void> WsSession::run(http::request<http::string_body> req) {
  st_->track(id_, std::static_pointer_cast<ConnectionControl>(shared_from_this()));
  const ServerLimits& lim = st_->options.limits;
  beast::get_lowest_layer(*ws_).expires_never();  // the websocket stream keeps its own timers
  // Beast's timers cover the upgrade only: after it the link keeps its own.
  websocket::stream_base::timeout t{};
  t.handshake_timeout = lim.handshake_timeout;
  t.idle_timeout = websocket::stream_base::none();
  t.keep_alive_pings = false;
  ws_->set_option(t);
  ws_->set_option(websocket::stream_base::decorator(
      [](websocket::response_type& res) { res.set(http::field::server, "syn-guard"); }));
  auto [ec] = co_await ws_->async_accept(req, kTuple);
  req = {};  // not kept for the life of the link
  if (ec) {
    st_->counters.add(ec == beast::error::timeout ? NetCounter::kTimeouts
                                                  : NetCounter::kBadRequests);
    co_return;
  }
  WsLinkOptions o;
  o.server = true;
  o.max_message_bytes = lim.ws_max_message_bytes;
  o.send_queue = lim.ws_send_queue;
  o.idle_timeout = lim.ws_idle_timeout;
  o.close_timeout = lim.handshake_timeout;
  auto link = TlsWsLink::adopt(*ws_, o);
  ws_.reset();  // Beast's stream and Asio's SSL engine end here; the link holds the rest
  if (!link) {
    st_->counters.add(NetCounter::kBadRequests);
    co_return;  // the socket closes with the stream
  }
  st_->counters.add(NetCounter::kWsUpgrades);
  noteUpgrade(st_);
  link_ = std::move(*link);
  auto self = shared_from_this();
  const auto& handler = st_->ws->handler;
  call([&] { handler->onOpen(self); });
  link_->start(
      [self](std::string text) {
        self->st_->counters.add(NetCounter::kWsMessagesIn);
        self->call([&] { self->st_->ws->handler->onText(self, std::move(text)); });
      },
      [self](const WsLinkEnd& end) {
        std::string reason = self->endReason(end);
        self->st_->counters.add(NetCounter::kWsClosed);
        self->call([&] { self->st_->ws->handler->onClose(self, reason); });
      });
}

std::string WsSession::endReason(const WsLinkEnd& end) {
  switch (end.why) {
    case WsLinkEnd::Why::kTooLarge:
      st_->counters.add(NetCounter::kWsFrameTooLarge);
      return "message too large";
    case WsLinkEnd::Why::kTimeout:
      st_->counters.add(NetCounter::kTimeouts);
      return "idle timeout";
    case WsLinkEnd::Why::kBinary:
      st_->counters.add(NetCounter::kWsBinaryRefused);
      return "binary message refused";
    case WsLinkEnd::Why::kPeerClosed:
      return "closed by peer";
    case WsLinkEnd::Why::kClosed:
      return "closed: " + end.reason;
    case WsLinkEnd::Why::kProtocol:
      return "protocol error: " + end.reason;
    case WsLinkEnd::Why::kIo:
    case WsLinkEnd::Why::kAborted:
      break;
  }
  return end.reason;
}

size_t WsSession::pendingSends() const { return link_ ? link_->pendingSends() : 0; }

bool WsSession::send(std::string text) {
  return sendShared(std::make_shared<const std::string>(std::move(text)));
}

bool WsSession::sendShared(std::shared_ptr<const std::string> frame) {
  if (!link_) return false;
  switch (link_->send(std::move(frame))) {
    case TlsWsLink::SendResult::kQueued:
      st_->counters.add(NetCounter::kWsMessagesOut);
      return true;
    case TlsWsLink::SendResult::kQueueFull:
      st_->counters.add(NetCounter::kWsSendQueueFull);
      link_->abort();
      return false;
    case TlsWsLink::SendResult::kClosed:
      break;
  }
  return false;
}

// Never a normal closure without a reason: agents read that, before their
// welcome, as an older console refusing their protocol version.
void WsSession::close() { closeWith(kWsCloseNormal, "closed by the console"); }

void WsSession::closeWith(uint16_t code, const std::string& reason) {
  if (link_) link_->close(code, reason.substr(0, kWsMaxCloseReason));
}

void WsSession::abort() {
  asio::post(ex_, [self = shared_from_this()] {
    if (self->link_) {
      self->link_->abort();
    } else if (self->ws_) {
      beast::error_code ec;
      beast::get_lowest_layer(*self->ws_).socket().close(ec);
    }
  });
}

}  // namespace sg::net
