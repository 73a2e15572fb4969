#include "proto/ping_codec.h"

namespace sg::proto {

Result<Ping> parsePing(FieldReader& r) {
  SG_READ(nonce, r.u64("nonce"));
  SG_READ(time, r.u64("time_ns"));
  SG_TRY(r.done());
  return Ping{*nonce, *time};
}

Result<Pong> parsePong(FieldReader& r) {
  SG_READ(nonce, r.u64("nonce"));
  SG_READ(time, r.u64("time_ns"));
  SG_READ(peer_time, r.u64("peer_time_ns"));
  SG_TRY(r.done());
  return Pong{*nonce, *time, *peer_time};
}

nlohmann::json toJson(const Ping& p) { return {{"nonce", p.nonce}, {"time_ns", p.time_ns}}; }

nlohmann::json toJson(const Pong& p) {
  return {{"nonce", p.nonce}, {"time_ns", p.time_ns}, {"peer_time_ns", p.peer_time_ns}};
}

}  // namespace sg::proto
