// What the transport refused or lost, counted once here; the console exports
// them as Prometheus metrics (syn_guard_net_<name>_total).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

namespace sg::net {

#define SG_NET_COUNTERS(X)                                                    \
  X(kConnectionsAccepted, "connections_accepted")                             \
  X(kConnectionsRefused, "connections_refused")  /* over max_connections */   \
  X(kTlsHandshakeFailed, "tls_handshake_failed") /* incl. bad client certs */ \
  X(kTimeouts, "timeouts")                       /* silent clients cut off */ \
  X(kRequests, "requests")                                                    \
  X(kBadRequests, "bad_requests") /* unparsable HTTP */                       \
  X(kHeaderTooLarge, "header_too_large")                                      \
  X(kBodyTooLarge, "body_too_large")                                          \
  X(kRateLimited, "rate_limited")                                             \
  X(kHandlerErrors, "handler_errors") /* handler threw: 500 */                \
  X(kWsUpgrades, "ws_upgrades")                                               \
  X(kWsRefused, "ws_refused") /* upgrade not authorised */                    \
  X(kWsMessagesIn, "ws_messages_in")                                          \
  X(kWsMessagesOut, "ws_messages_out")                                        \
  X(kWsFrameTooLarge, "ws_frame_too_large")                                   \
  X(kWsBinaryRefused, "ws_binary_refused")  /* text frames only */            \
  X(kWsSendQueueFull, "ws_send_queue_full") /* slow peer dropped */           \
  X(kWsClosed, "ws_closed")

enum class NetCounter : unsigned {
#define SG_NET_ENUM(name, text) name,
  SG_NET_COUNTERS(SG_NET_ENUM)
#undef SG_NET_ENUM
      kCount
};

inline constexpr std::array<std::string_view, static_cast<size_t>(NetCounter::kCount)>
    kNetCounterNames = {
#define SG_NET_NAME(name, text) text,
        SG_NET_COUNTERS(SG_NET_NAME)
#undef SG_NET_NAME
};

class NetCounters {
 public:
  void add(NetCounter c, uint64_t n = 1) {
    values_[static_cast<size_t>(c)].fetch_add(n, std::memory_order_relaxed);
  }
  uint64_t get(NetCounter c) const {
    return values_[static_cast<size_t>(c)].load(std::memory_order_relaxed);
  }

 private:
  std::array<std::atomic<uint64_t>, static_cast<size_t>(NetCounter::kCount)> values_{};
};

// Prometheus text format: "<prefix><name>_total <value>" with a TYPE line each.
void appendPrometheus(std::string& out, const NetCounters& counters,
                      std::string_view prefix = "syn_guard_net_");

}  // namespace sg::net
