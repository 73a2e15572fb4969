#include "win/link_runner.h"

#include <algorithm>

namespace sg::win {

LinkRunner::LinkRunner(agent::ConsoleLinkCore* core, WsConnector* connector,
                       LinkRunnerOptions options)
    : core_(core), connector_(connector), options_(std::move(options)) {
  core_->setTransport(this);
}

LinkRunner::~LinkRunner() {
  stop();
  core_->setTransport(nullptr);
}

void LinkRunner::start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (thread_.joinable() || stopping_) return;
  thread_ = std::thread([this] { run(); });
  writer_ = std::thread([this] { writeLoop(); });
}

void LinkRunner::stop() {
  std::shared_ptr<WsConnection> conn;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    conn = conn_;
  }
  cv_.notify_all();
  out_cv_.notify_all();
  if (conn) conn->close();
  if (thread_.joinable()) thread_.join();
  if (writer_.joinable()) writer_.join();
}

bool LinkRunner::send(std::string text) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!conn_ || outbox_.size() >= options_.max_outbox) return false;
  outbox_.emplace_back(generation_, std::move(text));
  out_cv_.notify_one();
  return true;
}

void LinkRunner::writeLoop() {
  for (;;) {
    std::shared_ptr<WsConnection> conn;
    std::string text;
    {
      std::unique_lock<std::mutex> lock(mu_);
      out_cv_.wait(lock, [this] { return stopping_ || !outbox_.empty(); });
      if (stopping_) return;
      auto [gen, t] = std::move(outbox_.front());
      outbox_.pop_front();
      if (gen != generation_ || !conn_) continue;  // for a link that dropped
      conn = conn_;
      text = std::move(t);
    }
    if (!conn->sendText(text).ok()) {
      ++send_errors_;
      conn->close();  // the receiving thread sees it and reconnects
    }
  }
}

bool LinkRunner::waitBackoff(std::chrono::milliseconds delay) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, delay, [this] { return stopping_; });
  return !stopping_;
}

void LinkRunner::run() {
  std::chrono::milliseconds backoff = options_.backoff_min;
  bool reported_down = false;  // the state callback says a failure once per outage
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return;
    }
    ++attempts_;
    auto conn = connector_->connect();
    if (!conn.ok()) {
      core_->onDisconnected(conn.error().message());
      if (!reported_down && options_.on_state) options_.on_state(false, conn.error().message());
      reported_down = true;
      if (!waitBackoff(backoff)) return;
      backoff = std::min(backoff * 2, options_.backoff_max);
      continue;
    }
    std::shared_ptr<WsConnection> live = std::move(conn).value();
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) {
        live->close();
        return;
      }
      conn_ = live;
      ++generation_;
    }
    backoff = options_.backoff_min;
    reported_down = false;
    core_->onConnected();
    if (options_.on_state) options_.on_state(true, "");
    std::string reason;
    for (;;) {
      auto message = live->receive();
      if (!message.ok()) {
        reason = message.error().message();
        break;
      }
      core_->onText(*message);
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      conn_.reset();
      outbox_.clear();
    }
    live->close();
    // The console's close frame (a refused hello's version) before the drop,
    // as the Linux link does: the core steps the next hello's version down.
    if (auto closed = live->peerClose()) core_->onConsoleClosed(closed->code, closed->reason);
    core_->onDisconnected(reason);
    if (options_.on_state) options_.on_state(false, reason);
    reported_down = true;
    if (!waitBackoff(options_.backoff_min)) return;
  }
}

}  // namespace sg::win
