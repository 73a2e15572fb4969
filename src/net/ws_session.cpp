#include "net/ws_session.h"

#include <algorithm>

namespace sg::net {

WsSession::WsSession(std::shared_ptr<ServerState> st, TlsStream stream, ConnectionSlot slot,
                     PeerInfo peer, uint64_t id)
    : st_(std::move(st)),
      ws_(std::move(stream)),
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
  beast::get_lowest_layer(ws_).expires_never();  // the websocket stream keeps its own timers
  websocket::stream_base::timeout t{};
  t.handshake_timeout = lim.handshake_timeout;
  t.idle_timeout = lim.ws_idle_timeout;
  t.keep_alive_pings = true;
  ws_.set_option(t);
  ws_.set_option(websocket::stream_base::decorator(
      [](websocket::response_type& res) { res.set(http::field::server, "syn-guard"); }));
  auto [ec] = co_await ws_.async_accept(req, kTuple);
  req = {};  // not kept for the life of the link
  if (ec) {
    st_->counters.add(ec == beast::error::timeout ? NetCounter::kTimeouts
                                                  : NetCounter::kBadRequests);
    co_return;
  }
  st_->counters.add(NetCounter::kWsUpgrades);
  auto self = shared_from_this();
  const auto& handler = st_->ws->handler;
  call([&] { handler->onOpen(self); });
  std::string reason;
  for (;;) {
    // The buffer's max size is the message limit: a larger message fails the
    // read with buffer_overflow before more than the limit is held. (Beast's
    // read_message_max would answer 1009, but its error is then masked by the
    // TLS teardown's, so it could not be counted reliably.)
    // Read straight into the string the handler takes: no buffer of the
    // session's own to allocate, copy out of and free per message.
    std::string text;
    auto buf = asio::dynamic_buffer(text, lim.ws_max_message_bytes);
    auto [rec, n] = co_await ws_.async_read(buf, kTuple);
    if (rec) {
      reason = readLoopEnd(rec);
      break;
    }
    if (!ws_.got_text()) {
      st_->counters.add(NetCounter::kWsBinaryRefused);
      reason = "binary message refused";
      auto [cec] = co_await ws_.async_close(websocket::close_code::bad_payload, kTuple);
      (void)cec;
      break;
    }
    st_->counters.add(NetCounter::kWsMessagesIn);
    call([&] { handler->onText(self, std::move(text)); });
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
    queue_.clear();
  }
  st_->counters.add(NetCounter::kWsClosed);
  call([&] { handler->onClose(self, reason); });
  beast::error_code ignored;
  beast::get_lowest_layer(ws_).socket().close(ignored);
}

std::string WsSession::readLoopEnd(const beast::error_code& ec) {
  if (ec == websocket::error::buffer_overflow || ec == websocket::error::message_too_big) {
    st_->counters.add(NetCounter::kWsFrameTooLarge);
    return "message too large";
  }
  if (ec == beast::error::timeout) {
    st_->counters.add(NetCounter::kTimeouts);
    return "idle timeout";
  }
  if (ec == websocket::error::closed) return "closed by peer";
  return ec.message();
}

size_t WsSession::pendingSends() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queue_.size();
}

bool WsSession::send(std::string text) {
  return sendShared(std::make_shared<const std::string>(std::move(text)));
}

bool WsSession::sendShared(std::shared_ptr<const std::string> frame) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) return false;
    if (queue_.size() >= st_->options.limits.ws_send_queue) {
      closed_ = true;
      queue_.clear();
      st_->counters.add(NetCounter::kWsSendQueueFull);
      abort();
      return false;
    }
    queue_.push_back(std::move(frame));
    if (writing_) return true;
    writing_ = true;
  }
  // Posted, never run inline: the caller may hold a lock over many sends.
  asio::post(ws_.get_executor(), [self = shared_from_this()] { self->writeNext(); });
  return true;
}

void WsSession::writeNext() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (queue_.empty() || closed_) {
      writing_ = false;
      return;
    }
    writing_frame_ = std::move(queue_.front());
    queue_.pop_front();
  }
  ws_.text(true);
  ws_.async_write(asio::buffer(*writing_frame_),
                  [self = shared_from_this()](const beast::error_code& ec, size_t) {
                    self->writing_frame_.reset();
                    if (ec) {
                      std::lock_guard<std::mutex> lock(self->mu_);
                      self->writing_ = false;
                      return;
                    }
                    self->st_->counters.add(NetCounter::kWsMessagesOut);
                    self->writeNext();
                  });
}

// Never a normal closure without a reason: agents read that, before their
// welcome, as an older console refusing their protocol version.
void WsSession::close() { closeWith(websocket::close_code::normal, "closed by the console"); }

void WsSession::closeWith(uint16_t code, const std::string& reason) {
  constexpr size_t kMaxCloseReason = 123;  // RFC 6455: 125 bytes with the code
  websocket::close_reason why(code);
  why.reason.assign(reason.data(), std::min(reason.size(), kMaxCloseReason));
  asio::co_spawn(
      ws_.get_executor(),
      [self = shared_from_this(), why]() -> asio::awaitable<void> {
        if (!self->ws_.is_open()) co_return;
        auto [ec] = co_await self->ws_.async_close(why, kTuple);
        (void)ec;  // the read loop sees the end and reports it
      },
      [st = st_](const std::exception_ptr& e) {
        if (e) st->counters.add(NetCounter::kHandlerErrors);
      });
}

void WsSession::abort() {
  asio::post(ws_.get_executor(), [self = shared_from_this()] {
    beast::error_code ec;
    beast::get_lowest_layer(self->ws_).socket().close(ec);
  });
}

}  // namespace sg::net
