// The link's own WebSocket transport (tls_ws_link.h) against a client it did
// not write: Beast's, as agents from before it and other clients (WinHTTP)
// speak the protocol. Fragmented messages, pings, binary refusal (1007, the
// code the console sent before), the
// client's close, and keep-alive both ways (label net).
#include <boost/asio/ssl.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include "net/loopback_fixture.h"
#include "net/ws_client.h"

namespace sg::net {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;
using asio::ip::tcp;
using test::waitFor;

class Echo : public WsHandler {
 public:
  void onOpen(const std::shared_ptr<WsConnection>&) override { ++opened; }
  void onText(const std::shared_ptr<WsConnection>& c, std::string text) override {
    c->send("echo:" + text);
  }
  void onClose(const std::shared_ptr<WsConnection>&, const std::string& why) override {
    std::lock_guard<std::mutex> lock(mu);
    reasons.push_back(why);
    ++closed;
  }
  std::string lastReason() {
    std::lock_guard<std::mutex> lock(mu);
    return reasons.empty() ? "" : reasons.back();
  }
  std::atomic<int> opened{0};
  std::atomic<int> closed{0};
  std::mutex mu;
  std::vector<std::string> reasons;
};

using BeastWs = websocket::stream<asio::ssl::stream<tcp::socket>>;

class WsInteropTest : public ::testing::Test {
 protected:
  void startServer(ServerLimits limits = {}) {
    ServerOptions o = test::serverOptions(pki_);
    limits.handshake_timeout = o.limits.handshake_timeout;
    o.limits = limits;
    WsRoute route;
    route.handler = echo_;
    auto s = Server::start(io_.ioc(), std::move(o), Router{}, route, clock_);
    ASSERT_OK(s);
    server_ = *s;
  }
  // A blocking Beast client with the agent's certificate, upgraded.
  std::unique_ptr<BeastWs> beastClient() {
    tls_.add_certificate_authority(asio::buffer(pki_.ca_pem));
    tls_.use_certificate_chain(asio::buffer(pki_.agent.cert));
    tls_.use_private_key(asio::buffer(pki_.agent.key), asio::ssl::context::pem);
    tls_.set_verify_mode(asio::ssl::verify_peer);
    auto ws = std::make_unique<BeastWs>(client_ioc_, tls_);
    beast::get_lowest_layer(*ws).connect(
        tcp::endpoint(asio::ip::make_address("127.0.0.1"), server_->port()));
    ws->next_layer().handshake(asio::ssl::stream_base::client);
    ws->handshake("127.0.0.1", "/v1/agent");
    return ws;
  }
  std::string readText(BeastWs& ws) {
    beast::flat_buffer buf;
    ws.read(buf);
    return beast::buffers_to_string(buf.data());
  }

  test::IoThreads io_;
  MonotonicClock clock_;
  test::TestPki pki_ = test::makeTestPki();
  std::shared_ptr<Echo> echo_ = std::make_shared<Echo>();
  std::shared_ptr<Server> server_;
  asio::io_context client_ioc_;
  asio::ssl::context tls_{asio::ssl::context::tls_client};
};

TEST_F(WsInteropTest, FragmentedMessagesAndPingsFromABeastClient) {
  startServer();
  auto ws = beastClient();
  std::atomic<int> pongs{0};
  ws->control_callback([&](websocket::frame_type kind, beast::string_view) {
    if (kind == websocket::frame_type::pong) ++pongs;
  });
  // Eight-byte frames: one message in many continuation frames.
  ws->auto_fragment(true);
  ws->write_buffer_bytes(8);
  ws->text(true);
  const std::string long_text(300, 'f');
  ws->write(asio::buffer(long_text));
  EXPECT_EQ(readText(*ws), "echo:" + long_text);
  ws->ping("are you there");
  ws->write(asio::buffer(std::string("after the ping")));
  EXPECT_EQ(readText(*ws), "echo:after the ping");  // the pong came before it
  EXPECT_EQ(pongs.load(), 1);
  // The client's close is answered with its code; the handler hears of it.
  ws->close(websocket::close_reason(websocket::close_code::normal, "bye"));
  ASSERT_TRUE(waitFor([&] { return echo_->closed.load() == 1; }));
  EXPECT_EQ(echo_->lastReason(), "closed by peer");
  EXPECT_EQ(server_->counters().get(NetCounter::kWsMessagesIn), 2u);
}

TEST_F(WsInteropTest, ABinaryMessageIsRefusedWith1007AsBefore) {
  startServer();
  auto ws = beastClient();
  ws->binary(true);
  ws->write(asio::buffer(std::string("\x00\x01", 2)));
  beast::flat_buffer buf;
  beast::error_code ec;
  ws->read(buf, ec);
  EXPECT_EQ(ec, websocket::error::closed) << ec.message();
  EXPECT_EQ(ws->reason().code, websocket::close_code::bad_payload);
  ASSERT_TRUE(waitFor([&] { return echo_->closed.load() == 1; }));
  EXPECT_EQ(server_->counters().get(NetCounter::kWsBinaryRefused), 1u);
}

TEST_F(WsInteropTest, AMalformedFrameIsClosedWith1002) {
  startServer();
  auto ws = beastClient();
  // An unmasked frame from a client, written under Beast's TLS layer.
  const std::string raw = {'\x81', '\x02', 'h', 'i'};
  asio::write(ws->next_layer(), asio::buffer(raw));
  beast::flat_buffer buf;
  beast::error_code ec;
  ws->read(buf, ec);
  EXPECT_EQ(ec, websocket::error::closed) << ec.message();
  EXPECT_EQ(ws->reason().code, websocket::close_code::protocol_error);
  EXPECT_EQ(std::string(ws->reason().reason.data(), ws->reason().reason.size()), "unmasked frame");
  ASSERT_TRUE(waitFor([&] { return echo_->closed.load() == 1; }));
  EXPECT_NE(echo_->lastReason().find("protocol error"), std::string::npos) << echo_->lastReason();
}

TEST_F(WsInteropTest, ASilentPeerIsPingedAndDroppedAnAnsweringOneStays) {
  ServerLimits limits;
  limits.ws_idle_timeout = std::chrono::milliseconds(300);
  startServer(limits);
  // A Beast client that never reads never answers the server's ping.
  auto silent = beastClient();
  ASSERT_TRUE(waitFor([&] { return echo_->closed.load() == 1; }, std::chrono::seconds(3)));
  EXPECT_EQ(echo_->lastReason(), "idle timeout");
  EXPECT_EQ(server_->counters().get(NetCounter::kTimeouts), 1u);
  // The link's own client answers pings (and pings a silent server): with
  // no message either way it outlives several idle timeouts.
  class Quiet : public WsClientHandler {
   public:
    void onConnected() override {}
    void onText(std::string) override {}
    void onDisconnected(const std::string&, std::chrono::milliseconds) override { ++drops; }
    std::atomic<int> drops{0};
  };
  auto quiet = std::make_shared<Quiet>();
  WsClientOptions o;
  o.host = "127.0.0.1";
  o.port = server_->port();
  o.tls = test::pinnedClient(pki_, &pki_.agent);
  o.idle_timeout = std::chrono::milliseconds(300);
  auto client = WsClient::create(io_.ioc(), o, quiet, [] { return 0.5; });
  ASSERT_OK(client);
  (*client)->start();
  ASSERT_TRUE(waitFor([&] { return (*client)->connected(); }));
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  EXPECT_TRUE((*client)->connected());
  EXPECT_EQ(quiet->drops.load(), 0);
  EXPECT_EQ(echo_->closed.load(), 1);
  (*client)->stop();
}

}  // namespace
}  // namespace sg::net
