// In-memory WsConnector / WsConnection for LinkRunner's tests: the test plays
// the console, pushing messages (or errors) into the connection and reading
// what the agent sent.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "win/ws_transport.h"

namespace sg::win::test {

class FakeWsConnection final : public WsConnection {
 public:
  Result<std::string> receive() override {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return closed_ || !inbound_.empty(); });
    if (inbound_.empty()) return Error(Errc::kUnavailable, "the console closed the link");
    Inbound next = std::move(inbound_.front());
    inbound_.pop_front();
    if (auto* frame = std::get_if<WsClose>(&next)) {
      peer_close_ = *frame;
      return Error(Errc::kUnavailable,
                   "the console closed the link (status " + std::to_string(frame->code) + ")");
    }
    return std::get<Result<std::string>>(std::move(next));
  }
  std::optional<WsClose> peerClose() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return peer_close_;
  }
  Result<void> sendText(const std::string& text) override {
    std::unique_lock<std::mutex> lock(mu_);
    ++in_send_;
    cv_.notify_all();
    cv_.wait(lock, [this] { return !held_ || closed_; });
    --in_send_;
    if (closed_) return Error(Errc::kUnavailable, "closed");
    sent_.push_back(text);
    cv_.notify_all();
    return Ok{};
  }
  void close() override {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
    cv_.notify_all();
  }

  // ---- the test's side
  void push(Result<std::string> message) {
    std::lock_guard<std::mutex> lock(mu_);
    inbound_.emplace_back(std::move(message));
    cv_.notify_all();
  }
  // The console's close frame: the agent's receive() fails on it.
  void pushClose(uint16_t code, std::string reason) {
    std::lock_guard<std::mutex> lock(mu_);
    inbound_.emplace_back(WsClose{code, std::move(reason)});
    cv_.notify_all();
  }
  // Waits (bounded) until the agent has sent at least n messages.
  std::vector<std::string> waitSent(
      size_t n, std::chrono::milliseconds limit = std::chrono::milliseconds(5000)) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, limit, [&] { return sent_.size() >= n; });
    return sent_;
  }
  // A console that does not read: sendText waits until released (or closed).
  void holdSends(bool held) {
    std::lock_guard<std::mutex> lock(mu_);
    held_ = held;
    cv_.notify_all();
  }
  // Waits (bounded) until a sender waits in a held sendText.
  bool waitSenderHeld(std::chrono::milliseconds limit = std::chrono::milliseconds(5000)) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, limit, [this] { return in_send_ > 0; });
  }
  bool closed() {
    std::lock_guard<std::mutex> lock(mu_);
    return closed_;
  }

 private:
  using Inbound = std::variant<Result<std::string>, WsClose>;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Inbound> inbound_;
  std::optional<WsClose> peer_close_;
  std::vector<std::string> sent_;
  bool closed_ = false;
  bool held_ = false;
  int in_send_ = 0;
};

// Hands out the scripted results in order; after them, refuses every attempt.
class FakeWsConnector final : public WsConnector {
 public:
  void add(std::shared_ptr<FakeWsConnection> conn) {
    std::lock_guard<std::mutex> lock(mu_);
    script_.push_back(std::move(conn));
  }
  void addFailure(std::string why) {
    std::lock_guard<std::mutex> lock(mu_);
    script_.push_back(std::move(why));
  }
  Result<std::unique_ptr<WsConnection>> connect() override {
    std::lock_guard<std::mutex> lock(mu_);
    ++attempts_;
    if (script_.empty()) return Error(Errc::kUnavailable, "no console (script done)");
    Step step = std::move(script_.front());
    script_.pop_front();
    if (auto* why = std::get_if<std::string>(&step)) return Error(Errc::kUnavailable, *why);
    // The test keeps its shared_ptr; the runner gets a forwarding handle.
    return std::unique_ptr<WsConnection>(new Handle(std::get<0>(std::move(step))));
  }
  int attempts() {
    std::lock_guard<std::mutex> lock(mu_);
    return attempts_;
  }

 private:
  class Handle final : public WsConnection {
   public:
    explicit Handle(std::shared_ptr<FakeWsConnection> c) : c_(std::move(c)) {}
    Result<std::string> receive() override { return c_->receive(); }
    Result<void> sendText(const std::string& t) override { return c_->sendText(t); }
    void close() override { c_->close(); }
    std::optional<WsClose> peerClose() const override { return c_->peerClose(); }

   private:
    std::shared_ptr<FakeWsConnection> c_;
  };
  using Step = std::variant<std::shared_ptr<FakeWsConnection>, std::string>;
  std::mutex mu_;
  std::deque<Step> script_;
  int attempts_ = 0;
};

}  // namespace sg::win::test
