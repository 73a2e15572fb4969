#include "core/handshake_match.h"

namespace sg {

namespace {

std::string tupleKey(const sg_pkt& p) {
  std::string k(reinterpret_cast<const char*>(p.src.b), 16);
  k.append(reinterpret_cast<const char*>(p.dst.b), 16);
  k.append(reinterpret_cast<const char*>(&p.src_port), 2);
  k.append(reinterpret_cast<const char*>(&p.dst_port), 2);
  return k;
}

}  // namespace

bool HandshakeMatch::onPacket(const sg_pkt& pkt) {
  if (sg_pkt_is_attempt(&pkt)) {
    if (pending_.size() < kMaxPending) pending_.insert(tupleKey(pkt));
    return false;
  }
  if (pkt.kind != SG_PKT_TCP ||
      (pkt.tcp_flags & (SG_TCP_SYN | SG_TCP_ACK | SG_TCP_RST)) != SG_TCP_ACK) {
    return false;
  }
  return pending_.erase(tupleKey(pkt)) != 0;
}

}  // namespace sg
