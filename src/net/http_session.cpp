#include "net/http_session.h"

#include <boost/asio/this_coro.hpp>

#include "net/ws_session.h"

namespace sg::net {

namespace {

// Not a coroutine (nor a lambda inside one: g++ 12 destroyed an init-capture
// of the request twice there): the link's coroutine is created here.
void startLink(const asio::any_io_executor& ex, const std::shared_ptr<ServerState>& st,
               const std::shared_ptr<WsSession>& ws, http::request<http::string_body> req) {
  // The function object (and so `ws`) lives as long as the link's coroutine.
  auto request = std::make_shared<http::request<http::string_body>>(std::move(req));
  asio::co_spawn(
      ex, [ws, request] { return ws->run(std::move(*request)); },
      [st](const std::exception_ptr& e) {
        if (e) st->counters.add(NetCounter::kHandlerErrors);
      });
}

}  // namespace

HttpSession::HttpSession(std::shared_ptr<ServerState> st, tcp::socket socket, ConnectionSlot slot)
    : st_(std::move(st)),
      stream_(std::move(socket), *st_->tls),
      slot_(std::move(slot)),
      id_(st_->next_id.fetch_add(1)) {
  beast::error_code ec;
  auto ep = beast::get_lowest_layer(stream_).socket().remote_endpoint(ec);
  if (!ec) peer_.remote_ip = ep.address().to_string();
}

HttpSession::~HttpSession() {
  if (!upgraded_) st_->untrack(id_);
}

void HttpSession::abort() {
  asio::post(stream_.get_executor(), [self = shared_from_this()] {
    if (self->upgraded_) return;
    self->aborted_ = true;
    if (self->stream_timer_) self->stream_timer_->cancel();
    beast::error_code ec;
    beast::get_lowest_layer(self->stream_).socket().close(ec);
  });
}

asio::awaitable<void> HttpSession::run() {
  st_->track(id_, weak_from_this());
  if (st_->stopped.load()) co_return;
  if (!co_await handshake()) co_return;
  bool first = true;
  while (co_await serveOne(first)) first = false;
  if (!upgraded_) co_await shutdown();
}

asio::awaitable<bool> HttpSession::handshake() {
  beast::get_lowest_layer(stream_).expires_after(st_->options.limits.handshake_timeout);
  auto [ec] = co_await stream_.async_handshake(asio::ssl::stream_base::server, kTuple);
  if (ec) {
    st_->counters.add(ec == beast::error::timeout ? NetCounter::kTimeouts
                                                  : NetCounter::kTlsHandshakeFailed);
    co_return false;
  }
  fillPeerCert(stream_.native_handle(), peer_);
  co_return true;
}

asio::awaitable<bool> HttpSession::serveOne(bool first) {
  const ServerLimits& lim = st_->options.limits;
  http::request_parser<http::string_body> parser;
  parser.header_limit(static_cast<uint32_t>(lim.max_header_bytes));
  parser.body_limit(lim.max_body_bytes);
  // The first request shares the handshake's deadline: a client that says
  // nothing after connecting is cut off after handshake_timeout.
  if (!first) beast::get_lowest_layer(stream_).expires_after(lim.idle_timeout);
  auto [ec, n] = co_await http::async_read(stream_, buffer_, parser, kTuple);
  if (ec) {
    co_await refuseRead(ec);
    co_return false;
  }
  Request req = parser.release();
  st_->counters.add(NetCounter::kRequests);
  bool keep_alive = req.keep_alive();
  // Per address (IPv6: per /64), except that an enrolled agent's current
  // certificate has a budget of its own: a fleet behind one NAT address, or
  // reconnecting all at once after a console restart, is not throttled as
  // one client. A revoked or superseded certificate counts as its address.
  const bool own_budget = !peer_.cert_sha256.empty() && st_->ws && st_->ws->own_rate_budget &&
                          st_->ws->own_rate_budget(peer_);
  const std::string rate_key =
      own_budget ? "cert:" + peer_.cert_sha256 : rateKeyForAddress(peer_.remote_ip);
  if (!st_->limiter.allow(rate_key)) {
    st_->counters.add(NetCounter::kRateLimited);
    co_return co_await respond(&req, errorResponse(429, "rate_limited", "too many requests"),
                               keep_alive);
  }
  HttpRequest in = toRequest(req);
  if (st_->ws && websocket::is_upgrade(req) && in.path == st_->ws->path) {
    const WsRoute& route = *st_->ws;
    if (route.require_client_cert && peer_.cert_cn.empty()) {
      st_->counters.add(NetCounter::kWsRefused);
      co_return co_await respond(
          &req, errorResponse(401, "unauthenticated", "a client certificate is required"), false);
    }
    std::optional<HttpResponse> refusal;
    try {
      if (route.authorize) refusal = route.authorize(in);
    } catch (...) {
      st_->counters.add(NetCounter::kHandlerErrors);
      refusal = errorResponse(500, "internal", "the authorizer failed");
    }
    if (refusal) {
      st_->counters.add(NetCounter::kWsRefused);
      co_return co_await respond(&req, std::move(*refusal), false);
    }
    upgraded_ = true;
    buffer_ = beast::flat_buffer();
    auto ws = std::make_shared<WsSession>(st_, std::move(stream_), std::move(*slot_), peer_, id_);
    slot_.reset();
    // The link runs as a coroutine of its own, on this strand: this session
    // and its frames (request parser, request copies: ~3 KB) end now
    // instead of living as long as the link.
    const asio::any_io_executor ex = co_await asio::this_coro::executor;
    startLink(ex, st_, ws, std::move(req));
    co_return false;
  }
  bool threw = false;
  HttpResponse resp = st_->router.route(std::move(in), &threw);
  if (threw) st_->counters.add(NetCounter::kHandlerErrors);
  if (resp.stream) co_return co_await streamOut(req, std::move(resp));
  co_return co_await respond(&req, std::move(resp), keep_alive);
}

asio::awaitable<void> HttpSession::refuseRead(const beast::error_code& ec) {
  if (ec == beast::error::timeout) {
    st_->counters.add(NetCounter::kTimeouts);
  } else if (ec == http::error::body_limit) {
    st_->counters.add(NetCounter::kBodyTooLarge);
    co_await respond(nullptr, errorResponse(413, "body_too_large", "the request body is too large"),
                     false);
  } else if (ec == http::error::header_limit) {
    st_->counters.add(NetCounter::kHeaderTooLarge);
    co_await respond(nullptr, errorResponse(431, "header_too_large", "the header is too large"),
                     false);
  } else if (ec.category() == beast::error_code(http::error::bad_target).category() &&
             ec != http::error::end_of_stream && ec != http::error::partial_message) {
    st_->counters.add(NetCounter::kBadRequests);
    co_await respond(nullptr, errorResponse(400, "bad_request", "malformed HTTP request"), false);
  }
}

asio::awaitable<bool> HttpSession::respond(const Request* req, HttpResponse resp, bool keep_alive) {
  http::response<http::string_body> res{static_cast<http::status>(resp.status),
                                        req != nullptr ? req->version() : 11};
  res.set(http::field::server, "syn-guard");
  res.set(http::field::content_type, resp.content_type);
  res.set(http::field::cache_control, "no-store");
  for (auto& [name, value] : resp.headers) res.set(name, value);
  res.keep_alive(keep_alive);
  if (req != nullptr && req->method() == http::verb::head) {
    res.content_length(resp.body.size());  // the length GET would send, no body
  } else {
    res.body() = std::move(resp.body);
    res.prepare_payload();
  }
  beast::get_lowest_layer(stream_).expires_after(st_->options.limits.idle_timeout);
  auto [ec, n] = co_await http::async_write(stream_, res, kTuple);
  if (ec == beast::error::timeout) st_->counters.add(NetCounter::kTimeouts);
  co_return !ec && keep_alive;
}

HttpRequest HttpSession::toRequest(const Request& req) const {
  HttpRequest in;
  in.method = std::string(req.method_string());
  std::string target(req.target());
  size_t q = target.find('?');
  in.path = target.substr(0, q);
  if (q != std::string::npos) in.query = target.substr(q + 1);
  in.body = req.body();
  auto header = [&req](auto field) {
    auto it = req.find(field);
    return it == req.end() ? std::string() : std::string(it->value());
  };
  in.authorization = header(http::field::authorization);
  in.cookie = header(http::field::cookie);
  in.origin = header(http::field::origin);
  in.content_type = header(http::field::content_type);
  in.host = header(http::field::host);
  in.csrf_token = header("X-CSRF-Token");
  in.accept_encoding = header(http::field::accept_encoding);
  in.last_event_id = header("Last-Event-ID");
  in.peer = peer_;
  return in;
}

asio::awaitable<void> HttpSession::shutdown() {
  beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(1));
  auto [ec] = co_await stream_.async_shutdown(kTuple);
  (void)ec;  // a peer that does not answer close_notify is closed anyway
  beast::error_code ignored;
  beast::get_lowest_layer(stream_).socket().close(ignored);
}

}  // namespace sg::net
