// The link's own WebSocket transport (tls_ws_link.h) against a client it did
// not write: Beast's, as agents from before it and other clients (WinHTTP)
// speak the protocol. Fragmented messages, pings, binary refusal (1007, the
// code the console sent before), the
// client's close, and keep-alive both ways; messages past one TLS record, a
// close behind a long queue, and peers that do not read (label net).
#include <openssl/ssl.h>

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

// Echoes; "flood:N:S" sends N messages of S bytes, "burst-close:N:S" the
// same numbered and then closes.
class Echo : public WsHandler {
 public:
  void onOpen(const std::shared_ptr<WsConnection>&) override { ++opened; }
  void onText(const std::shared_ptr<WsConnection>& c, std::string text) override {
    {
      std::lock_guard<std::mutex> lock(mu);
      texts.push_back(text.substr(0, 64));
    }
    const bool flood = text.rfind("flood:", 0) == 0;
    if (flood || text.rfind("burst-close:", 0) == 0) {
      const size_t start = text.find(':') + 1;
      const size_t colon = text.find(':', start);
      const int n = std::stoi(text.substr(start, colon - start));
      const size_t size = std::stoul(text.substr(colon + 1));
      for (int i = 0; i < n; ++i) c->send(std::to_string(i) + ":" + std::string(size, 'b'));
      if (!flood) c->close();
      ++commands;
      return;
    }
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
  bool received(const std::string& t) {
    std::lock_guard<std::mutex> lock(mu);
    return std::find(texts.begin(), texts.end(), t) != texts.end();
  }
  std::atomic<int> opened{0};
  std::atomic<int> closed{0};
  std::atomic<int> commands{0};
  std::mutex mu;
  std::vector<std::string> reasons;
  std::vector<std::string> texts;  // the first 64 bytes of each
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
  // A blocking Beast client with the agent's certificate, upgraded; `rcvbuf`
  // > 0 sets a small receive buffer before the connect (a peer that reads
  // late: the server's writes back up as soon as it stops reading).
  std::unique_ptr<BeastWs> beastClient(int rcvbuf = 0) {
    tls_.add_certificate_authority(asio::buffer(pki_.ca_pem));
    tls_.use_certificate_chain(asio::buffer(pki_.agent.cert));
    tls_.use_private_key(asio::buffer(pki_.agent.key), asio::ssl::context::pem);
    tls_.set_verify_mode(asio::ssl::verify_peer);
    auto ws = std::make_unique<BeastWs>(client_ioc_, tls_);
    auto& sock = beast::get_lowest_layer(*ws);
    sock.open(tcp::v4());
    if (rcvbuf > 0) sock.set_option(asio::socket_base::receive_buffer_size(rcvbuf));
    sock.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), server_->port()));
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

// Review s18 H1: Asio's engine left SSL_MODE_ENABLE_PARTIAL_WRITE on the
// SSL object the link adopts, so any TLS write past one record (16 KB) came
// back short and ended the link. A 1 MiB message each way, and a burst of
// small ones the server batches past one record.
TEST_F(WsInteropTest, AMessageOfOneMibGoesEachWayAndABurstPastOneRecordArrives) {
  ServerLimits limits;
  limits.ws_max_message_bytes = 2 * 1024 * 1024;
  startServer(limits);
  auto ws = beastClient();
  ws->text(true);
  const std::string big(1024 * 1024, 'x');
  ws->write(asio::buffer(big));
  beast::flat_buffer buf;
  beast::error_code ec;
  ws->read(buf, ec);
  ASSERT_FALSE(ec) << ec.message() << " / server: " << echo_->lastReason();
  EXPECT_EQ(beast::buffers_to_string(buf.data()), "echo:" + big);
  ws->write(asio::buffer(std::string("flood:400:200")));
  for (int i = 0; i < 400; ++i) {
    beast::flat_buffer m;
    ws->read(m, ec);
    ASSERT_FALSE(ec) << i << ": " << ec.message() << " / server: " << echo_->lastReason();
    EXPECT_EQ(beast::buffers_to_string(m.data()), std::to_string(i) + ":" + std::string(200, 'b'));
  }
  EXPECT_EQ(echo_->closed.load(), 0) << echo_->lastReason();
}

// Review s18 L1: close() sends its close frame after everything queued, also
// when the socket is backed up when it is called (it took at most one batch,
// and nothing while a write was pending). 1,000 messages of 8 KB then a
// close, to a client that reads only once the server has closed.
TEST_F(WsInteropTest, ACloseAfterABurstSendsEverythingQueuedFirst) {
  startServer();
  auto ws = beastClient(/*rcvbuf=*/4096);
  ws->text(true);
  ws->write(asio::buffer(std::string("burst-close:1000:8000")));
  ASSERT_TRUE(waitFor([&] { return echo_->commands.load() == 1; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the writer backs up, close runs
  int got = 0;
  beast::error_code ec;
  for (;;) {
    beast::flat_buffer buf;
    ws->read(buf, ec);
    if (ec) break;
    EXPECT_EQ(beast::buffers_to_string(buf.data()).rfind(std::to_string(got) + ":", 0), 0u);
    ++got;
  }
  EXPECT_EQ(got, 1000) << "server: " << echo_->lastReason();
  EXPECT_EQ(ec, websocket::error::closed) << ec.message();
  EXPECT_EQ(ws->reason().code, websocket::close_code::normal);
}

// Review s18 L2: the client's close reaches a server whose writes are backed
// up (the client has not read a flood yet). The echo and close_notify wait
// for the pending write; the FIN no longer cuts it, so the client's close
// handshake completes once it reads.
TEST_F(WsInteropTest, TheCloseEchoReachesAClientThatReadsLate) {
  startServer();
  auto ws = beastClient(/*rcvbuf=*/4096);
  ws->text(true);
  ws->write(asio::buffer(std::string("flood:8:1048576")));
  ASSERT_TRUE(waitFor([&] { return echo_->commands.load() == 1; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the server's writes back up
  beast::error_code ec;
  ws->close(websocket::close_reason(websocket::close_code::normal, "bye"), ec);
  EXPECT_FALSE(ec) << ec.message();
  ASSERT_TRUE(waitFor([&] { return echo_->closed.load() == 1; }));
  EXPECT_EQ(echo_->lastReason(), "closed by peer");
}

// Review s18 M1: pongs bypassed the send bound. A client that pings without
// reading had every pong kept while the server's writes were backed up; at
// most one is kept now (RFC 6455 5.5.3: the latest ping may be the only one
// answered).
TEST_F(WsInteropTest, APeerThatPingsWithoutReadingHasAtMostOnePongKept) {
  startServer();
  auto ws = beastClient(/*rcvbuf=*/4096);
  std::atomic<int> pongs{0};
  ws->control_callback([&](websocket::frame_type kind, beast::string_view) {
    if (kind == websocket::frame_type::pong) ++pongs;
  });
  ws->text(true);
  ws->write(asio::buffer(std::string("flood:8:1048576")));
  ASSERT_TRUE(waitFor([&] { return echo_->commands.load() == 1; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the server's writes back up
  for (int i = 0; i < 1000; ++i) ws->ping(websocket::ping_data(std::to_string(i)));
  ws->write(asio::buffer(std::string("mark")));
  ASSERT_TRUE(waitFor([&] { return echo_->received("mark"); }));  // every ping was read
  for (int i = 0; i < 9; ++i) {  // the flood, then the echo of the mark
    beast::flat_buffer buf;
    ws->read(buf);
  }
  EXPECT_GE(pongs.load(), 1);
  EXPECT_LE(pongs.load(), 1);
  EXPECT_EQ(echo_->closed.load(), 0) << echo_->lastReason();
}

// Review s18 M1, the TLS side: each TLS 1.3 KeyUpdate request is answered
// with a KeyUpdate written into the same buffer. A client that asks for key
// updates while it reads nothing is cut off once the answers pile up.
TEST_F(WsInteropTest, APeerThatAsksForKeyUpdatesWithoutReadingIsCutOff) {
  startServer();
  auto ws = beastClient(/*rcvbuf=*/4096);
  ASSERT_EQ(SSL_version(ws->next_layer().native_handle()), TLS1_3_VERSION);
  ws->text(true);
  ws->write(asio::buffer(std::string("flood:8:1048576")));
  ASSERT_TRUE(waitFor([&] { return echo_->commands.load() == 1; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the server's writes back up
  for (int i = 0; i < 3000 && echo_->closed.load() == 0; ++i) {
    if (SSL_key_update(ws->next_layer().native_handle(), SSL_KEY_UPDATE_REQUESTED) != 1) break;
    beast::error_code ec;
    ws->ping({}, ec);  // the KeyUpdate goes out ahead of it
    if (ec) break;
  }
  ASSERT_TRUE(waitFor([&] { return echo_->closed.load() == 1; }, std::chrono::seconds(2)));
  EXPECT_EQ(echo_->lastReason(), "the peer does not read");
}

}  // namespace
}  // namespace sg::net
