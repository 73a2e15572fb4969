#include "net/ws_client.h"

#include <openssl/ssl.h>

#include <atomic>
#include <mutex>
#include <random>

#include "net/beast_types.h"
#include "net/tls_context.h"
#include "net/tls_ws_link.h"

namespace sg::net {

class WsClientImpl : public std::enable_shared_from_this<WsClientImpl> {
 public:
  WsClientImpl(asio::io_context& ioc, WsClientOptions o, std::shared_ptr<WsClientHandler> h,
               std::shared_ptr<ClientTlsContext> tls, Backoff::Random random)
      : strand_(asio::make_strand(ioc)),
        options_(std::move(o)),
        handler_(std::move(h)),
        tls_(std::move(tls)),
        backoff_(options_.backoff, std::move(random)),
        timer_(strand_) {}

  void start() {
    asio::co_spawn(
        strand_, [self = shared_from_this()] { return self->loop(); },
        [](const std::exception_ptr&) {});
  }

  void stop() {
    stopped_ = true;
    asio::post(strand_, [self = shared_from_this()] {
      self->timer_.cancel();
      std::shared_ptr<WsStream> ws;
      std::shared_ptr<TlsWsLink> link;
      {
        std::lock_guard<std::mutex> lock(self->mu_);
        ws = self->pending_;
        link = self->link_;
      }
      if (link) link->abort();
      if (ws) {
        beast::error_code ignored;
        beast::get_lowest_layer(*ws).socket().close(ignored);
      }
    });
  }

  bool send(std::string text) {
    std::shared_ptr<TlsWsLink> link;
    {
      std::lock_guard<std::mutex> lock(mu_);
      link = link_;
    }
    return link && link->send(std::make_shared<const std::string>(std::move(text))) ==
                       TlsWsLink::SendResult::kQueued;
  }

  bool connected() const {
    std::lock_guard<std::mutex> lock(mu_);
    return link_ != nullptr;
  }
  uint64_t connects() const { return connects_.load(); }

 private:
  template <typename Fn>
  void call(Fn&& fn) {
    try {
      fn();
    } catch (...) {
      // A handler bug must not kill the link loop.
    }
  }

  asio::awaitable<void> loop() {
    while (!stopped_) {
      bool was_connected = false;
      std::string reason = co_await session(was_connected);
      {
        std::lock_guard<std::mutex> lock(mu_);
        link_.reset();
        pending_.reset();
      }
      if (stopped_) break;
      if (was_connected) backoff_.reset();
      auto delay = backoff_.next();
      call([&] { handler_->onDisconnected(reason, delay); });
      timer_.expires_after(delay);
      auto [ec] = co_await timer_.async_wait(kTuple);
      (void)ec;  // cancelled by stop(): the loop condition ends it
    }
  }

  // TCP, TLS and the upgrade through Beast; then the link on its own
  // transport (tls_ws_link.h) until it ends.
  asio::awaitable<std::string> session(bool& connected) {
    tcp::resolver resolver(strand_);
    auto [rec, results] =
        co_await resolver.async_resolve(options_.host, std::to_string(options_.port), kTuple);
    if (rec) co_return "resolve " + options_.host + ": " + rec.message();
    auto ws = std::make_shared<WsStream>(strand_, tls_->context());
    {
      std::lock_guard<std::mutex> lock(mu_);
      pending_ = ws;  // so stop() during the handshake is not lost
    }
    auto& lowest = beast::get_lowest_layer(*ws);
    lowest.expires_after(options_.connect_timeout);
    auto [cec, ep] = co_await lowest.async_connect(results, kTuple);
    if (cec) co_return "connect: " + cec.message();
    if (stopped_) co_return "stopped";
    beast::error_code nodelay_ignored;  // see server.cpp: no 40 ms delayed-ACK stalls
    lowest.socket().set_option(tcp::no_delay(true), nodelay_ignored);
    SSL* ssl = ws->next_layer().native_handle();
    if (auto r = tls_->prepare(ssl, options_.host); !r) co_return r.error().message();
    auto [hec] = co_await ws->next_layer().async_handshake(asio::ssl::stream_base::client, kTuple);
    if (hec) {
      long verify = SSL_get_verify_result(ssl);  // NOLINT(google-runtime-int)
      std::string why = verify != X509_V_OK ? X509_verify_cert_error_string(verify) : hec.message();
      co_return "TLS handshake: " + why;
    }
    lowest.expires_never();
    websocket::stream_base::timeout t{};  // the upgrade only: then the link keeps its own
    t.handshake_timeout = options_.connect_timeout;
    t.idle_timeout = websocket::stream_base::none();
    t.keep_alive_pings = false;
    ws->set_option(t);
    std::string host_header = options_.host + ":" + std::to_string(options_.port);
    auto [wec] = co_await ws->async_handshake(host_header, options_.path, kTuple);
    if (wec) co_return "WebSocket upgrade: " + wec.message();
    if (stopped_) co_return "stopped";
    WsLinkOptions o;
    o.server = false;
    o.max_message_bytes = options_.max_message_bytes;
    o.send_queue = options_.send_queue;
    o.idle_timeout = options_.idle_timeout;
    o.close_timeout = options_.connect_timeout;
    o.refuse_binary = false;  // the protocol is text; anything else is ignored
    auto adopted = TlsWsLink::adopt(*ws, o);
    {
      std::lock_guard<std::mutex> lock(mu_);
      pending_.reset();
    }
    ws.reset();  // Beast's stream and Asio's SSL engine end here
    if (!adopted) co_return "WebSocket upgrade: " + adopted.error().message();
    std::shared_ptr<TlsWsLink> link = std::move(*adopted);
    {
      std::lock_guard<std::mutex> lock(mu_);
      link_ = link;
    }
    if (stopped_) link->abort();
    connected = true;
    connects_.fetch_add(1);
    call([&] { handler_->onConnected(); });
    // The link's end wakes this coroutine through a timer that never expires.
    struct Ending {
      explicit Ending(const asio::any_io_executor& ex)
          : wake(ex, asio::steady_timer::time_point::max()) {}
      asio::steady_timer wake;
      WsLinkEnd end;
      bool done = false;
    };
    auto ending = std::make_shared<Ending>(strand_);
    auto self = shared_from_this();
    link->start(
        [self](std::string text) { self->call([&] { self->handler_->onText(std::move(text)); }); },
        [ending](const WsLinkEnd& e) {
          ending->end = e;
          ending->done = true;
          ending->wake.cancel();
        });
    while (!ending->done) {
      auto [tec] = co_await ending->wake.async_wait(kTuple);
      (void)tec;
    }
    const WsLinkEnd end = ending->end;
    if (end.why == WsLinkEnd::Why::kPeerClosed) {
      const uint16_t code = end.code == kWsCloseNoStatus ? 0 : end.code;
      call([&] { handler_->onPeerClosed(code, end.reason); });
      co_return "closed by the console (" + std::to_string(code) +
          (end.reason.empty() ? "" : ": " + end.reason) + ")";
    }
    co_return end.reason;
  }

  asio::strand<asio::io_context::executor_type> strand_;
  WsClientOptions options_;
  std::shared_ptr<WsClientHandler> handler_;
  std::shared_ptr<ClientTlsContext> tls_;
  Backoff backoff_;
  asio::steady_timer timer_;
  std::atomic<bool> stopped_{false};
  std::atomic<uint64_t> connects_{0};
  mutable std::mutex mu_;              // link_, pending_
  std::shared_ptr<TlsWsLink> link_;    // the live link, else null
  std::shared_ptr<WsStream> pending_;  // the link being set up
};

Result<std::unique_ptr<WsClient>> WsClient::create(asio::io_context& ioc, WsClientOptions options,
                                                   std::shared_ptr<WsClientHandler> handler,
                                                   Backoff::Random random) {
  if (options.host.empty()) return Error(Errc::kInvalidArgument, "no console host");
  if (!handler) return Error(Errc::kInvalidArgument, "no handler");
  SG_TRY(options.backoff.validate());
  auto tls = ClientTlsContext::create(options.tls);
  if (!tls) return tls.error().context("console TLS");
  if (!random) {
    auto gen = std::make_shared<std::mt19937_64>(std::random_device{}());
    random = [gen] { return std::uniform_real_distribution<double>(0.0, 1.0)(*gen); };
  }
  auto impl = std::make_shared<WsClientImpl>(ioc, std::move(options), std::move(handler),
                                             std::move(*tls), std::move(random));
  return std::unique_ptr<WsClient>(new WsClient(std::move(impl)));
}

WsClient::~WsClient() { stop(); }
void WsClient::start() { impl_->start(); }
void WsClient::stop() { impl_->stop(); }
bool WsClient::send(std::string text) { return impl_->send(std::move(text)); }
bool WsClient::connected() const { return impl_->connected(); }
uint64_t WsClient::connects() const { return impl_->connects(); }

}  // namespace sg::net
