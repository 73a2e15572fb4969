// Sample messages for the proto tests (and the fuzz seeds' shape).
#pragma once

#include "proto/messages.h"

namespace sg::proto::test {

inline Prefix pfx(const char* text) { return *parsePrefix(text); }

inline Event sampleEvent() {
  Event e;
  e.kind = EventKind::kBlockAdded;
  e.source = pfx("192.0.2.7");
  e.dst_port = 3000;
  e.count = 201;
  e.window_ms = 5000;
  e.level = 1;
  e.block_ms = 120000;
  e.first_attempt_ns = 10'000'000'000;
  e.detected_ns = 10'400'000'000;
  e.rate = 502;  // 201 over 400 ms
  return e;
}

inline PolicyParams samplePolicy() {
  return PolicyParams{"payments", 50, 2000, 600000, EnforcerKind::kNftables};
}

inline Snapshot sampleSnapshot() {
  Snapshot s;
  s.version = 7;
  s.blocks = {{pfx("198.51.100.0/24"), std::nullopt}, {pfx("2001:db8::/64"), 60000}};
  s.isolation = Isolation{true, {pfx("10.0.0.1")}};
  s.policy = samplePolicy();
  return s;
}

inline PortFloodReport samplePortFlood() {
  PortFloodReport p;
  p.kind = PortFloodKind::kDetected;
  p.dst = pfx("192.0.2.10");
  p.dst_port = 443;
  p.reason = "rate";
  p.rate = 22000;
  p.peak_rate = 22000;
  p.normal_rate = 40;
  p.distinct_sources = 21000;
  p.completion_permille = 12;
  p.top_prefixes = {{pfx("198.51.100.0/24"), 310}, {pfx("2001:db8:7::/48"), 120}};
  p.response = "syncookies+prefix_block";
  p.attempts = 44000;
  p.first_ns = 10'000'000'000;
  p.at_ns = 11'000'000'000;
  return p;
}

}  // namespace sg::proto::test
