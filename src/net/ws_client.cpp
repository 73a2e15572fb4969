#include "net/ws_client.h"

#include <openssl/ssl.h>

#include <atomic>
#include <deque>
#include <mutex>
#include <random>

#include "net/beast_types.h"
#include "net/tls_context.h"

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
      {
        std::lock_guard<std::mutex> lock(self->mu_);
        ws = self->ws_ ? self->ws_ : self->pending_;
      }
      if (ws) {
        beast::error_code ignored;
        beast::get_lowest_layer(*ws).socket().close(ignored);
      }
    });
  }

  bool send(std::string text) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!ws_ || queue_.size() >= options_.send_queue) return false;
      queue_.push_back(std::move(text));
      if (writing_) return true;
      writing_ = true;
    }
    // A callback chain, not a coroutine per burst: an agent sends one ack per
    // delta, and a coroutine's frame and spawn cost more than the write.
    asio::dispatch(strand_, [self = shared_from_this()] { self->writeNext(); });
    return true;
  }

  bool connected() const {
    std::lock_guard<std::mutex> lock(mu_);
    return ws_ != nullptr;
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
        ws_.reset();
        pending_.reset();
        queue_.clear();
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
    websocket::stream_base::timeout t{};
    t.handshake_timeout = options_.connect_timeout;
    t.idle_timeout = options_.idle_timeout;
    t.keep_alive_pings = true;
    ws->set_option(t);
    ws->read_message_max(options_.max_message_bytes);
    std::string host_header = options_.host + ":" + std::to_string(options_.port);
    auto [wec] = co_await ws->async_handshake(host_header, options_.path, kTuple);
    if (wec) co_return "WebSocket upgrade: " + wec.message();
    if (stopped_) co_return "stopped";
    {
      std::lock_guard<std::mutex> lock(mu_);
      ws_ = ws;
    }
    connected = true;
    connects_.fetch_add(1);
    call([&] { handler_->onConnected(); });
    for (;;) {
      std::string text;  // read straight into what the handler takes
      auto buf = asio::dynamic_buffer(text, options_.max_message_bytes);
      auto [ec, n] = co_await ws->async_read(buf, kTuple);
      if (ec == websocket::error::closed) {
        const websocket::close_reason& why = ws->reason();
        const std::string text(why.reason.data(), why.reason.size());
        call([&] { handler_->onPeerClosed(why.code, text); });
        co_return "closed by the console (" + std::to_string(why.code) +
            (text.empty() ? "" : ": " + text) + ")";
      }
      if (ec) co_return ec.message();
      if (!ws->got_text()) continue;  // the protocol is text; ignore anything else
      call([&] { handler_->onText(std::move(text)); });
    }
  }

  // On the strand: writes the queue's front on the live link, then the next
  // from its completion. After a failed write it goes on with whatever link
  // is live then (none: it stops; the next send starts it again).
  void writeNext() {
    std::shared_ptr<WsStream> ws;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (queue_.empty() || !ws_) {
        writing_ = false;
        return;
      }
      ws = ws_;
      writing_text_ = std::move(queue_.front());
      queue_.pop_front();
    }
    ws->text(true);
    ws->async_write(
        asio::buffer(writing_text_),
        [self = shared_from_this(), ws](const beast::error_code&, size_t) { self->writeNext(); });
  }

  asio::strand<asio::io_context::executor_type> strand_;
  WsClientOptions options_;
  std::shared_ptr<WsClientHandler> handler_;
  std::shared_ptr<ClientTlsContext> tls_;
  Backoff backoff_;
  asio::steady_timer timer_;
  std::atomic<bool> stopped_{false};
  std::atomic<uint64_t> connects_{0};
  mutable std::mutex mu_;              // ws_, pending_, queue_, writing_
  std::shared_ptr<WsStream> ws_;       // the live link, else null
  std::shared_ptr<WsStream> pending_;  // the link being set up
  std::deque<std::string> queue_;
  bool writing_ = false;
  std::string writing_text_;  // the message being written (strand)
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
