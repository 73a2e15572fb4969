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
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "agent/console_link_core.h"
#include "win/ws_transport.h"

namespace sg::win {

struct LinkRunnerOptions {
  std::chrono::milliseconds backoff_min{250};    // after the first failed attempt
  std::chrono::milliseconds backoff_max{15000};  // the cap of the doubling
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
  void stop();   // closes the link and joins the thread

  bool send(std::string text) override;
  uint64_t attempts() const { return attempts_.load(); }

 private:
  void run();
  bool waitBackoff(std::chrono::milliseconds delay);  // false: stopping

  agent::ConsoleLinkCore* core_;
  WsConnector* connector_;
  LinkRunnerOptions options_;
  std::mutex mu_;  // conn_, and the stop flag's waits
  std::condition_variable cv_;
  std::shared_ptr<WsConnection> conn_;
  bool stopping_ = false;
  std::atomic<uint64_t> attempts_{0};
  std::thread thread_;
};

}  // namespace sg::win
