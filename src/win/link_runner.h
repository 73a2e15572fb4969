// LinkRunner: the Windows agent's console link, the counterpart of the Linux
// ConsoleLink with WinHTTP in place of Boost.Beast. One thread connects
// through a WsConnector (backoff between failed attempts, doubling up to a
// cap), hands every message to the shared protocol state machine
// (ConsoleLinkCore: hello, welcome, reports and their acks, pings) and is its
// LinkTransport for sending. A link that drops is reported to the core (the
// report in flight is sent again after the next welcome) and retried; the
// agent keeps protecting on local decisions meanwhile. Plain C++ over the
// seam: link_runner_test.cpp runs it on Linux and under Wine.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

#include "agent/console_link_core.h"
#include "win/ws_transport.h"

namespace sg::win {

struct LinkRunnerOptions {
  std::chrono::milliseconds backoff_min{250};    // after the first failed attempt
  std::chrono::milliseconds backoff_max{15000};  // the cap of the doubling
  size_t max_outbox = 1024;                      // messages waiting to be written
  // Called on the link's thread when the link comes up, and when it goes
  // down after having been up or at the first failed attempt (not on every
  // retry): (up, why it went down).
  std::function<void(bool up, const std::string& reason)> on_state;
};

class LinkRunner final : public agent::LinkTransport {
 public:
  LinkRunner(agent::ConsoleLinkCore* core, WsConnector* connector, LinkRunnerOptions options);
  ~LinkRunner() override;  // stops

  void start();  // idempotent
  void stop();   // closes the link and joins the threads

  bool send(std::string text) override;
  uint64_t attempts() const { return attempts_.load(); }
  uint64_t sendErrors() const { return send_errors_.load(); }

 private:
  void run();
  void writeLoop();
  bool waitBackoff(std::chrono::milliseconds delay);  // false: stopping

  agent::ConsoleLinkCore* core_;
  WsConnector* connector_;
  LinkRunnerOptions options_;
  std::mutex mu_;                   // everything below but the atomics and threads
  std::condition_variable cv_;      // stopping_ (backoff waits)
  std::condition_variable out_cv_;  // outbox_ or stopping_
  std::shared_ptr<WsConnection> conn_;
  uint64_t generation_ = 0;  // of conn_
  std::deque<std::pair<uint64_t, std::string>> outbox_;
  bool stopping_ = false;
  std::atomic<uint64_t> attempts_{0};
  std::atomic<uint64_t> send_errors_{0};
  std::thread thread_;
  std::thread writer_;
};

}  // namespace sg::win
