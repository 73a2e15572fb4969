#include "core/handshake_match.h"

#include <cstring>

#include "core/tracker.h"
#include "sg_track.h"

namespace sg {

namespace {

uint8_t handshakeFlags(const sg_pkt& p) {
  return static_cast<uint8_t>(p.tcp_flags & (SG_TCP_SYN | SG_TCP_ACK | SG_TCP_RST));
}

}  // namespace

bool HandshakeMatch::Tuple::operator==(const Tuple& o) const {
  return std::memcmp(this, &o, sizeof(Tuple)) == 0;
}

// Keyed (SipHash over both addresses with the process's random key, the
// second keyed by the first's hash and the ports): a capture's chosen tuples
// cannot be precomputed to pile into one bucket.
size_t HandshakeMatch::TupleHash::operator()(const Tuple& t) const {
  const sg_hash_key& key = processHashKey();
  sg_addr a{};
  std::memcpy(a.b, t.src, sizeof(a.b));
  const uint64_t h = sg_addr_hash(&a, &key);
  const sg_hash_key k{key.k0 ^ h, key.k1 ^ ((uint64_t{t.sport} << 16) | t.dport)};
  std::memcpy(a.b, t.dst, sizeof(a.b));
  return static_cast<size_t>(sg_addr_hash(&a, &k));
}

HandshakeMatch::Tuple HandshakeMatch::clientKey(const sg_addr& src, const sg_addr& dst,
                                                uint16_t sport, uint16_t dport) {
  Tuple t{};
  std::memcpy(t.src, src.b, sizeof(t.src));
  std::memcpy(t.dst, dst.b, sizeof(t.dst));
  t.sport = sport;
  t.dport = dport;
  return t;
}

void HandshakeMatch::popOldest() {
  const Aged& o = order_.front();
  if (auto it = pending_.find(o.key); it != pending_.end() && it->second.stamp == o.stamp) {
    pending_.erase(it);
    if (o.at_ns + kSynRecvLifetimeNs <= now_ns_) {
      ++expired_;
    } else {
      ++evicted_;
    }
  }
  order_.pop_front();
}

void HandshakeMatch::expire(uint64_t now_ns) {
  if (now_ns > now_ns_) now_ns_ = now_ns;
  while (!order_.empty() && order_.front().at_ns + kSynRecvLifetimeNs <= now_ns_) popOldest();
}

void HandshakeMatch::onAttempt(const sg_pkt& syn, uint64_t now_ns) {
  expire(now_ns);
  const Tuple key = clientKey(syn.src, syn.dst, syn.src_port, syn.dst_port);
  auto it = pending_.find(key);
  if (it != pending_.end()) {
    // A retransmission keeps what the host answered, and its age (the
    // kernel's request socket does not live longer for it); a new SYN
    // (another sequence number) on the same 4-tuple starts over.
    if (it->second.client_next == syn.tcp_seq + 1) return;
    pending_.erase(it);  // its order_ entry goes stale
  }
  // Room for one more: the oldest go first (stale entries included, so
  // order_ stays bounded too).
  while (!order_.empty() &&
         (pending_.size() >= max_pending_ || order_.size() >= 2 * max_pending_)) {
    popOldest();
  }
  const uint64_t stamp = next_stamp_++;
  pending_.emplace(key, Attempt{syn.tcp_seq + 1, 0, false, stamp});
  order_.push_back(Aged{now_ns_, stamp, key});
}

std::optional<HandshakeMatch::Tuple> HandshakeMatch::answeredKey(
    const sg_pkt& pkt, std::optional<uint32_t> ack) const {
  if (pkt.kind != SG_PKT_TCP || handshakeFlags(pkt) != (SG_TCP_SYN | SG_TCP_ACK)) {
    return std::nullopt;
  }
  // The host's SYN-ACK travels the other way: its destination is the client.
  const Tuple key = clientKey(pkt.dst, pkt.src, pkt.dst_port, pkt.src_port);
  auto it = pending_.find(key);
  if (it == pending_.end()) return std::nullopt;
  // It acknowledges the client's SYN (a SYN-ACK for an older attempt does not).
  if (ack && *ack != it->second.client_next) return std::nullopt;
  return key;
}

bool HandshakeMatch::isAnswer(const sg_pkt& pkt, std::optional<uint32_t> ack) const {
  return answeredKey(pkt, ack).has_value();
}

bool HandshakeMatch::onPacket(const sg_pkt& pkt, std::optional<uint32_t> ack, uint64_t now_ns) {
  if (pkt.kind != SG_PKT_TCP) return false;
  expire(now_ns);
  if (const auto key = answeredKey(pkt, ack)) {
    Attempt& a = pending_.at(*key);
    a.host_next = pkt.tcp_seq + 1;
    a.answered = true;
    return false;
  }
  if (handshakeFlags(pkt) != SG_TCP_ACK) return false;
  auto it = pending_.find(clientKey(pkt.src, pkt.dst, pkt.src_port, pkt.dst_port));
  if (it == pending_.end()) return false;
  const Attempt& a = it->second;
  const bool completes =
      pkt.tcp_seq == a.client_next && (!verify_ || (a.answered && ack && *ack == a.host_next));
  if (!completes) {
    // The kernel answers such an ACK with a reset and keeps awaiting the
    // real one: so does this.
    refused_acks_++;
    return false;
  }
  pending_.erase(it);  // its order_ entry goes stale
  return true;
}

}  // namespace sg
