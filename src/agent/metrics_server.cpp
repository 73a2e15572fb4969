#include "agent/metrics_server.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <thread>

namespace sg::agent {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

struct MetricsServer::Impl {
  Impl(Render r, MetricsServerOptions o) : render(std::move(r)), options(o), acceptor(ioc) {}

  void accept();

  Render render;
  MetricsServerOptions options;
  size_t open = 0;          // connections alive (touched on the server thread only)
  asio::io_context ioc{1};  // destroyed after the acceptor, before `open`
  tcp::acceptor acceptor;
  std::string bound;
  std::thread thread;
};

namespace {

// One connection: read one request head, answer, close — all before the
// deadline set at accept.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, MetricsServer::Impl& server)
      : stream_(std::move(socket)), server_(server), buffer_(server.options.max_request) {
    server_.open++;
  }
  ~Session() { server_.open--; }

  void start() {
    stream_.expires_after(server_.options.deadline);
    parser_.header_limit(static_cast<uint32_t>(server_.options.max_request));
    parser_.body_limit(0);
    http::async_read(
        stream_, buffer_, parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->onRead(ec); });
  }

 private:
  void onRead(beast::error_code ec) {
    if (ec) return close();
    const auto& req = parser_.get();
    bool ok =
        req.method() == http::verb::get && (req.target() == "/metrics" || req.target() == "/");
    response_.version(11);
    response_.keep_alive(false);
    if (ok) {
      response_.result(http::status::ok);
      response_.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
      response_.body() = server_.render();
    } else {
      response_.result(http::status::not_found);
      response_.set(http::field::content_type, "text/plain");
      response_.body() = "not found: GET /metrics\n";
    }
    response_.prepare_payload();
    http::async_write(stream_, response_,
                      [self = shared_from_this()](beast::error_code, size_t) { self->close(); });
  }

  void close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.close();
  }

  beast::tcp_stream stream_;
  MetricsServer::Impl& server_;
  beast::flat_buffer buffer_;
  http::request_parser<http::empty_body> parser_;
  http::response<http::string_body> response_;
};

Result<tcp::endpoint> parseEndpoint(const std::string& host_port) {
  auto colon = host_port.rfind(':');
  if (colon == std::string::npos) {
    return Error(Errc::kInvalidArgument, "'" + host_port + "' is not host:port");
  }
  std::string host = host_port.substr(0, colon);
  std::string port_text = host_port.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  char* end = nullptr;
  long port = std::strtol(port_text.c_str(), &end, 10);
  if (port_text.empty() || *end != '\0' || port < 0 || port > 65535) {
    return Error(Errc::kInvalidArgument, "bad port in '" + host_port + "'");
  }
  beast::error_code ec;
  auto addr = asio::ip::make_address(host, ec);
  if (ec) {
    return Error(Errc::kInvalidArgument, "bad address in '" + host_port + "' (use an IP literal)");
  }
  return tcp::endpoint(addr, static_cast<uint16_t>(port));
}

std::string endpointText(const tcp::endpoint& e) {
  std::string host = e.address().to_string();
  if (e.address().is_v6()) host = "[" + host + "]";
  return host + ":" + std::to_string(e.port());
}

}  // namespace

void MetricsServer::Impl::accept() {
  acceptor.async_accept(ioc, [this](beast::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted) return;  // stopping
    if (!ec && open < options.max_connections) {
      std::make_shared<Session>(std::move(socket), *this)->start();
    }
    // Over the limit (or a failed accept): the socket closes here.
    accept();
  });
}

Result<std::unique_ptr<MetricsServer>> MetricsServer::start(const std::string& host_port,
                                                            Render render,
                                                            MetricsServerOptions options) {
  auto endpoint = parseEndpoint(host_port);
  if (!endpoint) return endpoint.error();
  auto impl = std::make_unique<Impl>(std::move(render), options);
  beast::error_code ec;
  auto fail = [&](const char* what) {
    Errc code = ec == asio::error::access_denied ? Errc::kPermissionDenied : Errc::kIo;
    return Error(code, std::string(what) + " " + host_port + ": " + ec.message());
  };
  impl->acceptor.open(endpoint->protocol(), ec);
  if (ec) return fail("socket");
  impl->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  impl->acceptor.bind(*endpoint, ec);
  if (ec) return fail("bind");
  impl->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return fail("listen");
  impl->bound = endpointText(impl->acceptor.local_endpoint(ec));
  impl->accept();
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] { raw->ioc.run(); });
  return std::unique_ptr<MetricsServer>(new MetricsServer(std::move(impl)));
}

MetricsServer::MetricsServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

MetricsServer::~MetricsServer() {
  impl_->ioc.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

const std::string& MetricsServer::bound() const { return impl_->bound; }

}  // namespace sg::agent
