#include "core/replay_ports.h"

#include <algorithm>
#include <cstring>

namespace sg {

namespace {

constexpr size_t kMaxPending = 1 << 20;  // handshakes awaited at once
const uint64_t kInterval = static_cast<uint64_t>(kDstSampleInterval.count());

std::string tupleKey(const sg_pkt& p) {
  std::string k(reinterpret_cast<const char*>(p.src.b), 16);
  k.append(reinterpret_cast<const char*>(p.dst.b), 16);
  k.append(reinterpret_cast<const char*>(&p.src_port), 2);
  k.append(reinterpret_cast<const char*>(&p.dst_port), 2);
  return k;
}

double concentrationOf(const PortFlood& f, uint32_t max_prefixes) {
  double share = 0;
  for (size_t i = 0; i < f.top_prefixes.size() && i < max_prefixes; i++) {
    share += f.top_prefixes[i].share;
  }
  return share;
}

}  // namespace

PortReplay::PortReplay(const PortFloodOptions& options, const sg_hash_key& key,
                       uint8_t v6_prefix_len, std::vector<Prefix> allow)
    : options_(options),
      allow_(std::move(allow)),
      table_(options.max_dsts, key, v6_prefix_len),
      detector_(options, /*handshakes_visible=*/true),
      next_sample_ns_(kInterval) {}

void PortReplay::record(const PortFloodEvent& e) {
  const std::string target = formatTarget(e.flood.dst, e.flood.dst_port);
  if (e.kind == PortFloodEvent::Kind::kDetected) {
    ReplayPortFlood r;
    r.flood = e.flood;
    r.first_packet_ns = e.flood.first_ns;
    for (const auto& [tick, first] : first_attempts_[target]) {
      if (first >= e.flood.first_ns) {
        r.first_packet_ns = first;
        break;
      }
    }
    r.response = planResponse(e.flood, options_, allow_);
    r.flood.response = r.response.kind();
    r.flood.response_prefixes = r.response.prefixes;
    open_[target] = floods_.size();
    floods_.push_back(r);
    return;
  }
  auto it = open_.find(target);
  if (it == open_.end()) return;
  ReplayPortFlood& r = floods_[it->second];
  const PortFlood detected = r.flood;
  r.flood = e.flood;
  r.flood.response = detected.response;
  r.flood.response_prefixes = detected.response_prefixes;
  r.ended = true;
  open_.erase(it);
}

void PortReplay::sampleUntil(uint64_t t_ns) {
  while (next_sample_ns_ <= t_ns) {
    if (idle_) next_sample_ns_ = std::max(next_sample_ns_, t_ns - t_ns % kInterval);
    const std::vector<DstSample> samples = table_.harvest();
    for (const PortFloodEvent& e : detector_.onSamples(next_sample_ns_, samples)) {
      record(e);
    }
    idle_ = detector_.active().empty() &&
            std::all_of(samples.begin(), samples.end(),
                        [](const DstSample& s) { return s.bank_attempts == 0; });
    next_sample_ns_ += kInterval;
  }
}

void PortReplay::onPacket(const sg_pkt& pkt, uint64_t t_ns) {
  sampleUntil(t_ns);
  if (sg_pkt_is_attempt(&pkt)) {
    table_.onAttempt(pkt);
    if (pending_.size() < kMaxPending) pending_.emplace(tupleKey(pkt), true);
    auto& firsts = first_attempts_[formatTarget(pkt.dst, pkt.dst_port)];
    firsts.emplace(t_ns / kInterval, t_ns);  // keeps the first of each interval
    const uint64_t keep = static_cast<uint64_t>(options_.rate_window.count()) / kInterval + 2;
    while (firsts.size() > keep) firsts.erase(firsts.begin());
    return;
  }
  // The client's ACK of a handshake this capture saw begin.
  if (pkt.kind == SG_PKT_TCP &&
      (pkt.tcp_flags & (SG_TCP_SYN | SG_TCP_ACK | SG_TCP_RST)) == SG_TCP_ACK) {
    if (pending_.erase(tupleKey(pkt)) != 0) table_.onCompletion(pkt.dst, pkt.dst_port);
  }
}

std::vector<ReplayPortFlood> PortReplay::finish(uint64_t t_ns) {
  sampleUntil(t_ns);
  // Floods still on at the end: their latest figures.
  for (const PortFlood& f : detector_.active()) {
    auto it = open_.find(formatTarget(f.dst, f.dst_port));
    if (it == open_.end()) continue;
    ReplayPortFlood& r = floods_[it->second];
    const PortFlood detected = r.flood;
    r.flood = f;
    r.flood.completion_ratio =
        f.attempts ? std::min(1.0, static_cast<double>(f.completions) / f.attempts) : 1.0;
    r.flood.response = detected.response;
    r.flood.response_prefixes = detected.response_prefixes;
  }
  for (ReplayPortFlood& r : floods_) {
    r.concentration = concentrationOf(r.flood, options_.max_prefixes);
  }
  return floods_;
}

}  // namespace sg
