#include "net/https_client.h"

#include <openssl/ssl.h>

#include "net/beast_types.h"
#include "net/tls_context.h"

namespace sg::net {
namespace {

struct Exchange {
  const HttpsTarget& target;
  http::request<http::string_body> req;
  HttpsReply reply;
  std::string error;
};

asio::awaitable<void> run(Exchange& x, std::shared_ptr<ClientTlsContext> tls) {
  auto ex = co_await asio::this_coro::executor;
  tcp::resolver resolver(ex);
  auto [rec, results] =
      co_await resolver.async_resolve(x.target.host, std::to_string(x.target.port), kTuple);
  if (rec) {
    x.error = "resolve " + x.target.host + ": " + rec.message();
    co_return;
  }
  TlsStream stream(ex, tls->context());
  auto& lowest = beast::get_lowest_layer(stream);
  lowest.expires_after(x.target.timeout);
  auto [cec, ep] = co_await lowest.async_connect(results, kTuple);
  if (cec) {
    x.error = "connect: " + cec.message();
    co_return;
  }
  beast::error_code nodelay_ignored;  // see server.cpp: no 40 ms delayed-ACK stalls
  lowest.socket().set_option(tcp::no_delay(true), nodelay_ignored);
  if (auto r = tls->prepare(stream.native_handle(), x.target.host); !r) {
    x.error = r.error().message();
    co_return;
  }
  auto [hec] = co_await stream.async_handshake(asio::ssl::stream_base::client, kTuple);
  if (hec) {
    long verify = SSL_get_verify_result(stream.native_handle());  // NOLINT(google-runtime-int)
    x.error =
        "TLS handshake: " +
        (verify != X509_V_OK ? std::string(X509_verify_cert_error_string(verify)) : hec.message());
    co_return;
  }
  auto [wec, wn] = co_await http::async_write(stream, x.req, kTuple);
  if (wec) {
    x.error = "write: " + wec.message();
    co_return;
  }
  beast::flat_buffer buf;
  http::response_parser<http::string_body> parser;
  parser.body_limit(x.target.max_response_bytes);
  auto [ec, n] = co_await http::async_read(stream, buf, parser, kTuple);
  if (ec) {
    x.error = "read: " + ec.message();
    co_return;
  }
  auto res = parser.release();
  x.reply.status = static_cast<int>(res.result_int());
  x.reply.body = std::move(res.body());
  auto ct = res.find(http::field::content_type);
  if (ct != res.end()) x.reply.content_type = std::string(ct->value());
  auto [sec] = co_await stream.async_shutdown(kTuple);
  (void)sec;  // the reply is complete either way
}

}  // namespace

Result<HttpsReply> httpsRequest(const HttpsTarget& target, const std::string& method,
                                const std::string& path, const std::string& body,
                                const std::string& authorization) {
  auto tls = ClientTlsContext::create(target.tls);
  if (!tls) return tls.error();
  Exchange x{target, {}, {}, {}};
  x.req.method_string(method);
  x.req.target(path);
  x.req.version(11);
  x.req.set(http::field::host, target.host + ":" + std::to_string(target.port));
  x.req.set(http::field::user_agent, "syn-guard");
  if (!authorization.empty()) x.req.set(http::field::authorization, authorization);
  if (!body.empty()) x.req.set(http::field::content_type, "application/json");
  x.req.body() = body;
  x.req.keep_alive(false);
  x.req.prepare_payload();
  asio::io_context ioc;
  bool done = false;
  asio::co_spawn(ioc, run(x, *tls), [&](const std::exception_ptr& e) {
    done = true;
    if (e) x.error = "internal error";
  });
  ioc.run_for(target.timeout + std::chrono::milliseconds(100));
  if (!done) return Error(Errc::kUnavailable, "no reply within the timeout");
  if (!x.error.empty()) return Error(Errc::kUnavailable, x.error);
  return std::move(x.reply);
}

}  // namespace sg::net
