#include "core/handshake_match.h"

namespace sg {

namespace {

// The 4-tuple from the client's side: source, destination, ports.
std::string clientKey(const sg_addr& src, const sg_addr& dst, uint16_t sport, uint16_t dport) {
  std::string k(reinterpret_cast<const char*>(src.b), 16);
  k.append(reinterpret_cast<const char*>(dst.b), 16);
  k.append(reinterpret_cast<const char*>(&sport), 2);
  k.append(reinterpret_cast<const char*>(&dport), 2);
  return k;
}

uint8_t handshakeFlags(const sg_pkt& p) {
  return static_cast<uint8_t>(p.tcp_flags & (SG_TCP_SYN | SG_TCP_ACK | SG_TCP_RST));
}

}  // namespace

void HandshakeMatch::onAttempt(const sg_pkt& syn) {
  const std::string key = clientKey(syn.src, syn.dst, syn.src_port, syn.dst_port);
  auto it = pending_.find(key);
  if (it != pending_.end()) {
    // A retransmission keeps what the host answered; a new SYN (another
    // sequence number) on the same 4-tuple starts over.
    if (it->second.client_next != syn.tcp_seq + 1) it->second = Attempt{syn.tcp_seq + 1};
    return;
  }
  if (pending_.size() < kMaxPending) pending_.emplace(key, Attempt{syn.tcp_seq + 1});
}

std::optional<std::string> HandshakeMatch::answeredKey(const sg_pkt& pkt,
                                                       std::optional<uint32_t> ack) const {
  if (pkt.kind != SG_PKT_TCP || handshakeFlags(pkt) != (SG_TCP_SYN | SG_TCP_ACK)) {
    return std::nullopt;
  }
  // The host's SYN-ACK travels the other way: its destination is the client.
  std::string key = clientKey(pkt.dst, pkt.src, pkt.dst_port, pkt.src_port);
  auto it = pending_.find(key);
  if (it == pending_.end()) return std::nullopt;
  // It acknowledges the client's SYN (a SYN-ACK for an older attempt does not).
  if (ack && *ack != it->second.client_next) return std::nullopt;
  return key;
}

bool HandshakeMatch::isAnswer(const sg_pkt& pkt, std::optional<uint32_t> ack) const {
  return answeredKey(pkt, ack).has_value();
}

bool HandshakeMatch::onPacket(const sg_pkt& pkt, std::optional<uint32_t> ack) {
  if (pkt.kind != SG_PKT_TCP) return false;
  if (const auto key = answeredKey(pkt, ack)) {
    Attempt& a = pending_[*key];
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
  pending_.erase(it);
  return true;
}

}  // namespace sg
