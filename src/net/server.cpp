#include "net/server.h"

#include <malloc.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>

#include "net/http_session.h"
#include "net/tls_context.h"
#include "pki/cert.h"
#include "pki/hex.h"

namespace sg::net {
namespace {

// Accepts until the acceptor closes; each connection gets a strand. A strand
// of the io_context's own executor, not of the acceptor's type-erased one: it
// fits in an any_io_executor's inline storage, so the handlers of every read
// and write neither allocate nor go through two layers of type erasure.
asio::awaitable<void> acceptLoop(std::shared_ptr<ServerState> st, asio::io_context& ioc) {
  for (;;) {
    auto [ec, socket] = co_await st->acceptor->async_accept(asio::make_strand(ioc), kTuple);
    if (st->stopped.load()) co_return;
    if (ec) {
      if (ec == asio::error::operation_aborted || ec == asio::error::bad_descriptor) co_return;
      continue;  // e.g. EMFILE: the next accept may work
    }
    if (st->active.load() >= st->options.limits.max_connections) {
      st->counters.add(NetCounter::kConnectionsRefused);
      beast::error_code ignored;
      socket.close(ignored);
      continue;
    }
    st->active.fetch_add(1);
    st->counters.add(NetCounter::kConnectionsAccepted);
    // No Nagle: a response goes out as TLS records in separate writes, and
    // the second would wait for the peer's delayed ACK (40 ms on Linux).
    beast::error_code nodelay_ignored;
    socket.set_option(tcp::no_delay(true), nodelay_ignored);
    auto ex = socket.get_executor();
    auto session = std::make_shared<HttpSession>(st, std::move(socket), ConnectionSlot(st));
    asio::co_spawn(
        ex, [session] { return session->run(); },
        [st](const std::exception_ptr& e) {
          if (e) st->counters.add(NetCounter::kHandlerErrors);
        });
  }
}

Result<void> bindAcceptor(ServerState& st, asio::io_context& ioc) {
  beast::error_code ec;
  auto addr = asio::ip::make_address(st.options.host, ec);
  if (ec)
    return Error(Errc::kInvalidArgument,
                 "listen address '" + st.options.host + "': " + ec.message());
  tcp::endpoint ep(addr, st.options.port);
  auto acc = std::make_unique<tcp::acceptor>(ioc);
  if (acc->open(ep.protocol(), ec); ec) return Error(Errc::kIo, "socket: " + ec.message());
  if (acc->set_option(asio::socket_base::reuse_address(true), ec); ec) {
    return Error(Errc::kIo, "SO_REUSEADDR: " + ec.message());
  }
  if (acc->bind(ep, ec); ec) {
    return Error(
        ec == asio::error::address_in_use ? Errc::kAlreadyExists : Errc::kIo,
        "bind " + st.options.host + ":" + std::to_string(st.options.port) + ": " + ec.message());
  }
  if (acc->listen(asio::socket_base::max_listen_connections, ec); ec) {
    return Error(Errc::kIo, "listen: " + ec.message());
  }
  st.acceptor = std::move(acc);
  return Ok{};
}

}  // namespace

Result<void> ServerLimits::validate() const {
  if (max_header_bytes < 512)
    return Error(Errc::kInvalidArgument, "max_header_bytes must be >= 512");
  if (max_body_bytes == 0) return Error(Errc::kInvalidArgument, "max_body_bytes must be > 0");
  if (max_connections == 0) return Error(Errc::kInvalidArgument, "max_connections must be > 0");
  if (handshake_timeout.count() <= 0 || idle_timeout.count() <= 0 || ws_idle_timeout.count() <= 0) {
    return Error(Errc::kInvalidArgument, "timeouts must be > 0");
  }
  if (!(rate.per_second > 0) || !(rate.burst >= 1) || rate.max_tracked == 0) {
    return Error(Errc::kInvalidArgument, "rate limit: per_second > 0, burst >= 1, max_tracked > 0");
  }
  if (ws_max_message_bytes == 0 || ws_send_queue == 0) {
    return Error(Errc::kInvalidArgument, "ws_max_message_bytes and ws_send_queue must be > 0");
  }
  return Ok{};
}

void ServerState::track(uint64_t id, std::weak_ptr<ConnectionControl> c) {
  std::lock_guard<std::mutex> lock(mu_);
  live_[id] = std::move(c);
}

void ServerState::untrack(uint64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  live_.erase(id);
}

void ServerState::abortAll() {
  std::vector<std::shared_ptr<ConnectionControl>> all;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [id, weak] : live_) {
      if (auto c = weak.lock()) all.push_back(std::move(c));
    }
  }
  for (auto& c : all) c->abort();
}

// One wait at a time, and only its owner touches the timer (never cancelled:
// after stop() the wait ends within kTrimAfter and trims nothing).
void noteUpgrade(const std::shared_ptr<ServerState>& st) {
  if (st->trim_armed.exchange(true)) return;
  st->trim_timer->expires_after(ServerState::kTrimAfter);
  st->trim_timer->async_wait([st](const beast::error_code& ec) {
    if (!ec && !st->stopped.load()) (void)malloc_trim(0);
    st->trim_armed.store(false);
  });
}

void fillPeerCert(SSL* ssl, PeerInfo& peer) {
  X509* cert = SSL_get0_peer_certificate(ssl);
  if (cert == nullptr || SSL_get_verify_result(ssl) != X509_V_OK) return;
  peer.cert_cn = pki::commonName(cert);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  if (X509_digest(cert, EVP_sha256(), md, &len) == 1) peer.cert_sha256 = pki::toHex(md, len);
}

Server::Server(std::shared_ptr<ServerState> state, uint16_t port)
    : state_(std::move(state)), port_(port) {}

Server::~Server() { stop(); }

Result<std::shared_ptr<Server>> Server::start(asio::io_context& ioc, ServerOptions options,
                                              Router router, std::optional<WsRoute> ws,
                                              Clock& clock) {
  SG_TRY(options.limits.validate());
  if (ws && !ws->handler)
    return Error(Errc::kInvalidArgument, "the WebSocket route has no handler");
  auto tls = makeServerTlsContext(options.tls);
  if (!tls) return tls.error().context("server TLS");
  auto st = std::make_shared<ServerState>(std::move(options), std::move(router), std::move(ws),
                                          *tls, clock);
  SG_TRY(bindAcceptor(*st, ioc));
  st->trim_timer = std::make_unique<asio::steady_timer>(ioc);
  uint16_t port = st->acceptor->local_endpoint().port();
  asio::co_spawn(ioc, acceptLoop(st, ioc), [st](const std::exception_ptr& e) {
    if (e) st->counters.add(NetCounter::kHandlerErrors);
  });
  return std::shared_ptr<Server>(new Server(st, port));
}

void Server::stop() {
  if (state_->stopped.exchange(true)) return;
  asio::post(state_->acceptor->get_executor(), [st = state_] {
    beast::error_code ignored;
    st->acceptor->close(ignored);
  });
  state_->abortAll();
}

const NetCounters& Server::counters() const { return state_->counters; }

size_t Server::activeConnections() const { return state_->active.load(); }

}  // namespace sg::net
