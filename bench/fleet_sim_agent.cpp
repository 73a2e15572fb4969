#include "fleet_sim_agent.h"

#include <chrono>
#include <cstdlib>

#include "proto/codec.h"

namespace sg::bench {

int64_t nowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

SimAgent::SimAgent(std::string name) : name_(std::move(name)) {
  for (auto& t : block_seen_ns) t.store(0);
}

void SimAgent::onConnected() {
  proto::Hello h;
  h.name = name_;
  h.agent_version = "bench";
  h.platform = "linux";
  h.applied_version = applied.load();
  h.acked_report_seq = acked_seq_.load();
  client_->send(proto::encode(proto::AgentMessage{h}));
}

void SimAgent::onText(std::string text) {
  auto m = proto::parseConsoleMessage(text);
  if (!m) {
    parse_errors.fetch_add(1);
    return;
  }
  if (std::holds_alternative<proto::Welcome>(*m)) {
    welcomed_ns.store(nowNs());
    welcomes.fetch_add(1);
  } else if (const auto* s = std::get_if<proto::Snapshot>(&*m)) {
    for (const auto& b : s->blocks) noteBlock(b.source);
    ack(s->version);
  } else if (const auto* d = std::get_if<proto::Delta>(&*m)) {
    for (const auto& op : d->ops) {
      if (op.kind == proto::OpKind::kBlockAdd) noteBlock(op.block.source);
    }
    ack(d->version);
  } else if (const auto* p = std::get_if<proto::Ping>(&*m)) {
    client_->send(
        proto::encode(proto::AgentMessage{proto::Pong{p->nonce, p->time_ns, uint64_t(nowNs())}}));
  } else if (const auto* ra = std::get_if<proto::ReportAck>(&*m)) {
    uint64_t prev = acked_seq_.load();
    while (ra->seq > prev && !acked_seq_.compare_exchange_weak(prev, ra->seq)) {
    }
    reports_acked.fetch_add(1);
    if (ingest.load()) sendReport();
  }
}

void SimAgent::sendReport() {
  std::lock_guard<std::mutex> lock(send_mu_);
  proto::Report r;
  r.seq = ++next_seq_;
  for (uint32_t i = 0; i < 10; ++i) {
    proto::Event e;
    e.kind = proto::EventKind::kFloodDetected;
    uint32_t n = static_cast<uint32_t>((r.seq * 10 + i) % 2000);
    e.source =
        parsePrefix("10.99." + std::to_string(n / 250) + "." + std::to_string(1 + n % 250)).value();
    e.dst_port = 443;
    e.count = 250;
    e.window_ms = 5000;
    e.first_attempt_ns = uint64_t(nowNs()) - 1'000'000;
    e.detected_ns = uint64_t(nowNs());
    r.events.push_back(e);
  }
  client_->send(proto::encode(proto::AgentMessage{r}));
}

void SimAgent::ack(uint64_t version) {
  client_->send(proto::encode(proto::AgentMessage{proto::Ack{version}}));
  applied.store(version);
  acked_at_ns.store(nowNs());
}

void SimAgent::noteBlock(const Prefix& p) {
  std::string text = p.str();
  const std::string kPrefix = "198.51.100.";
  if (text.rfind(kPrefix, 0) != 0) return;
  int round = std::atoi(text.c_str() + kPrefix.size());
  if (round >= 0 && round <= kRounds && block_seen_ns[round].load() == 0) {
    block_seen_ns[round].store(nowNs());
  }
}

}  // namespace sg::bench
