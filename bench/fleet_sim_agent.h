// fleet_bench's simulated agent: speaks the real agent protocol over a real
// WsClient (TLS, its own client certificate) and does the least an agent
// must: hello on connect, ack every snapshot and delta, answer pings, and
// (in the ingest phase) keep reports in flight. Times when it first saw each
// fan-out round's block (198.51.100.<round>).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>

#include "net/ws_client.h"
#include "proto/messages.h"

namespace sg::bench {

constexpr int kRounds = 250;  // fan-out rounds use 198.51.100.<round>

int64_t nowNs();  // steady clock

class SimAgent : public net::WsClientHandler {
 public:
  explicit SimAgent(std::string name);
  void attach(net::WsClient* client) { client_ = client; }

  void onConnected() override;
  void onText(std::string text) override;
  void onDisconnected(const std::string&, std::chrono::milliseconds) override {}

  // One report of 10 flood detections (2,000 distinct sources fleet-wide:
  // floods are updated, not only created).
  void sendReport();

  std::atomic<uint64_t> applied{0};
  std::atomic<int64_t> acked_at_ns{0};
  std::atomic<int64_t> welcomed_ns{0};
  std::atomic<uint64_t> welcomes{0};
  std::atomic<uint64_t> parse_errors{0};
  std::atomic<uint64_t> reports_acked{0};
  std::atomic<bool> ingest{false};  // each report acked sends the next
  std::array<std::atomic<int64_t>, kRounds + 1> block_seen_ns;

 private:
  void ack(uint64_t version);
  void noteBlock(const Prefix& p);

  std::string name_;
  net::WsClient* client_ = nullptr;
  std::atomic<uint64_t> acked_seq_{0};
  std::mutex send_mu_;
  uint64_t next_seq_ = 0;
};

}  // namespace sg::bench
