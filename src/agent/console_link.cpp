#include "agent/console_link.h"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>

namespace sg::agent {
namespace {

class Handler final : public net::WsClientHandler {
 public:
  using OnState = std::function<void(bool, const std::string&)>;
  Handler(ConsoleLinkCore& core, OnState on_state) : core_(core), on_state_(std::move(on_state)) {}
  void onConnected() override {
    core_.onConnected();
    if (on_state_) on_state_(true, "");
    announced_down_ = false;
  }
  void onText(std::string text) override { core_.onText(text); }
  void onPeerClosed(uint16_t code, const std::string& reason) override {
    core_.onConsoleClosed(code, reason);
  }
  void onDisconnected(const std::string& reason, std::chrono::milliseconds) override {
    core_.onDisconnected(reason);
    if (on_state_ && !announced_down_) on_state_(false, reason);
    announced_down_ = true;
  }

 private:
  ConsoleLinkCore& core_;
  OnState on_state_;
  bool announced_down_ = false;  // callbacks run one at a time (the client's strand)
};

class ClientTransport final : public LinkTransport {
 public:
  explicit ClientTransport(net::WsClient* client) : client_(client) {}
  bool send(std::string text) override { return client_->send(std::move(text)); }

 private:
  net::WsClient* client_;
};

void counter(std::string& out, const char* name, const char* type, const char* help,
             uint64_t value) {
  out += std::string("# HELP syn_guard_") + name + " " + help + "\n# TYPE syn_guard_" + name + " " +
         type + "\nsyn_guard_" + name + " " + std::to_string(value) + "\n";
}

}  // namespace

Result<std::unique_ptr<ConsoleLink>> ConsoleLink::create(ConsoleLinkOptions options, Clock& mono) {
  SG_READ(core, ConsoleLinkCore::open(options.core, mono));
  std::unique_ptr<ConsoleLink> link(new ConsoleLink(std::move(options), std::move(*core)));
  net::WsClientOptions o;
  o.host = link->options_.host;
  o.port = link->options_.port;
  o.tls = link->options_.tls;
  o.backoff = link->options_.backoff;
  o.connect_timeout = link->options_.connect_timeout;
  auto client = net::WsClient::create(
      link->ioc_, o, std::make_shared<Handler>(*link->core_, link->options_.on_state));
  if (!client) return client.error();
  link->client_ = std::move(*client);
  return link;
}

ConsoleLink::ConsoleLink(ConsoleLinkOptions options, std::unique_ptr<ConsoleLinkCore> core)
    : options_(std::move(options)), core_(std::move(core)) {}

ConsoleLink::~ConsoleLink() { stop(); }

void ConsoleLink::start() {
  if (started_) return;
  started_ = true;
  transport_ = std::make_unique<ClientTransport>(client_.get());
  core_->setTransport(transport_.get());
  heartbeat_ = std::make_unique<boost::asio::steady_timer>(ioc_);
  armHeartbeat();
  client_->start();
  thread_ = std::thread([this] {
    auto guard = boost::asio::make_work_guard(ioc_);
    ioc_.run();
  });
}

void ConsoleLink::armHeartbeat() {
  heartbeat_->expires_after(options_.heartbeat);
  heartbeat_->async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    core_->heartbeatDue();
    armHeartbeat();
  });
}

void ConsoleLink::stop() {
  if (!started_) return;
  started_ = false;
  client_->stop();
  boost::asio::post(ioc_, [this] { heartbeat_->cancel(); });
  ioc_.stop();
  if (thread_.joinable()) thread_.join();
  core_->setTransport(nullptr);
}

nlohmann::json ConsoleLink::statusJson() const {
  const LinkCounters c = core_->counters();
  nlohmann::json j{{"url", options_.url},
                   {"name", options_.core.name},
                   {"connected", core_->connected()},
                   {"applied_version", core_->appliedVersion()},
                   {"queue_depth", core_->queueDepth()},
                   {"dropped", core_->droppedReports()},
                   {"connects", c.connects},
                   {"messages_in", c.messages_in},
                   {"messages_out", c.messages_out},
                   {"rejected", c.rejected},
                   {"protocol_version", core_->protocolVersion()},
                   {"port_floods_waiting", core_->portFloodsWaiting()},
                   {"port_floods_dropped", core_->portFloodsDropped()}};
  if (std::string e = core_->lastError(); !e.empty()) j["last_error"] = e;
  return j;
}

std::string ConsoleLink::metricsText() const {
  const LinkCounters c = core_->counters();
  std::string out;
  counter(out, "console_connected", "gauge", "1 while the link to the console is up",
          core_->connected() ? 1 : 0);
  counter(out, "console_messages_in_total", "counter", "Messages received from the console",
          c.messages_in);
  counter(out, "console_messages_out_total", "counter", "Messages sent to the console",
          c.messages_out);
  counter(out, "console_messages_rejected_total", "counter",
          "Console messages refused by the parser", c.rejected);
  counter(out, "console_version_fallbacks_total", "counter",
          "Hellos the console refused (its version): the next offered one protocol version less",
          c.version_fallbacks);
  counter(out, "console_port_floods_dropped_total", "counter",
          "Port floods dropped from the full queue (oldest first)", core_->portFloodsDropped());
  counter(out, "console_port_floods_waiting", "gauge",
          "Port floods waiting for the console (cut off, or a version-1 link)",
          core_->portFloodsWaiting());
  counter(out, "console_reconnects_total", "counter", "Connections to the console after the first",
          c.connects > 0 ? c.connects - 1 : 0);
  counter(out, "console_reports_dropped_total", "counter",
          "Report events dropped from the full queue (oldest first)", core_->droppedReports());
  counter(out, "console_report_queue_depth", "gauge", "Report events not yet acknowledged",
          core_->queueDepth());
  return out;
}

}  // namespace sg::agent
