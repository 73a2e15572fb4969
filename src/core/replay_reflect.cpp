#include "core/replay_reflect.h"

#include <algorithm>

#include "core/port_flood_options.h"

namespace sg {

namespace {

constexpr size_t kMaxStarted = 1 << 20;                       // handshakes remembered at once
constexpr size_t kMaxSeen = ReflectionDetector::kMaxTracked;  // reflectors per sample
const uint64_t kInterval = static_cast<uint64_t>(kDstSampleInterval.count());

// (a, a_port) -> (b, b_port) as one key.
std::string flowKey(const sg_addr& a, uint16_t ap, const sg_addr& b, uint16_t bp) {
  std::string k(reinterpret_cast<const char*>(a.b), 16);
  k.append(reinterpret_cast<const char*>(b.b), 16);
  k.append(reinterpret_cast<const char*>(&ap), 2);
  k.append(reinterpret_cast<const char*>(&bp), 2);
  return k;
}

}  // namespace

void ReflectionReplay::sampleUntil(uint64_t t_ns) {
  if (!sampled_) {
    sampled_ = true;
    (void)detector_.onSample(0, 0, {});
    next_sample_ns_ = kInterval;
  }
  while (next_sample_ns_ <= t_ns) {
    // Idle (nothing seen, nothing on): skip to the packet, as the agent's
    // idle harvest does; a gap in the capture's clock is not stepped through.
    if (seen_.empty() && !detector_.active()) {
      next_sample_ns_ = std::max(next_sample_ns_, t_ns - t_ns % kInterval);
    }
    auto e = detector_.onSample(next_sample_ns_, story_.unmatched, seen_);
    seen_.clear();
    seen_at_.clear();
    if (e && e->kind == ReflectionEvent::Kind::kDetected) {
      story_.reflections.push_back({e->reflection, false});
    } else if (e && !story_.reflections.empty()) {
      story_.reflections.back() = {e->reflection, true};
    }
    next_sample_ns_ += kInterval;
  }
}

void ReflectionReplay::onPacket(const sg_pkt& pkt, uint64_t t_ns) {
  sampleUntil(t_ns);
  if (pkt.kind != SG_PKT_TCP) return;
  const uint8_t f = pkt.tcp_flags & (SG_TCP_SYN | SG_TCP_ACK | SG_TCP_RST);
  if (f == SG_TCP_SYN) {
    if (started_.size() < kMaxStarted) {
      started_.insert(flowKey(pkt.src, pkt.src_port, pkt.dst, pkt.dst_port));
    }
    return;
  }
  if (f != (SG_TCP_SYN | SG_TCP_ACK)) return;
  story_.synacks++;
  // The SYN it would answer went the other way.
  if (started_.count(flowKey(pkt.dst, pkt.dst_port, pkt.src, pkt.src_port)) != 0) return;
  story_.unmatched++;
  std::string who(reinterpret_cast<const char*>(pkt.src.b), 16);
  who.append(reinterpret_cast<const char*>(&pkt.src_port), 2);
  if (auto it = seen_at_.find(who); it != seen_at_.end()) {
    seen_[it->second].count++;
  } else if (seen_.size() < kMaxSeen) {
    Address src;
    src.raw = pkt.src;
    seen_at_.emplace(std::move(who), seen_.size());
    seen_.push_back({src, pkt.src_port, 1});
  }
}

ReflectionStory ReflectionReplay::finish(uint64_t t_ns) {
  sampleUntil(t_ns + kInterval);  // the last packets' harvest
  if (const auto& on = detector_.active(); on && !story_.reflections.empty()) {
    story_.reflections.back().reflection = *on;
    story_.reflections.back().ended = false;
  }
  return story_;
}

}  // namespace sg
